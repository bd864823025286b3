//! Transaction batches gossiped by peers, waiting for their signatures to be verified.
//!
//! Owns: the bounds on that work (issue 10, finding 2). A batch is relayed only after it was
//! verified, so every batch costs its receiver a batch signature verification before anything
//! else happens; this queue makes that cost bounded and fair:
//! * at most [`MAX_TX_JOBS`] verifications run at once (the blocking pool is shared with block
//!   imports and the node's own work);
//! * each peer has its own queue of at most [`MAX_TX_QUEUED_PER_PEER`] batches and
//!   [`MAX_TX_QUEUED_BYTES_PER_PEER`] bytes, and all peers together at most
//!   [`MAX_TX_QUEUED_BYTES`]; a batch over a bound is dropped unrelayed (gossip's other paths, and
//!   the sender's re-gossip, bring honest transactions again);
//! * queues are served round-robin, one batch per peer per turn, and a peer has at most one
//!   batch being verified: a peer that floods only delays its own batches, and its batches get
//!   their verdicts in the order they came.
//!
//! Must never: hold a batch of a peer after [`TxQueue::forget`] (a banned or gone peer), or run
//! more than [`MAX_TX_JOBS`] jobs.

use std::collections::{HashMap, HashSet, VecDeque};

use libp2p::gossipsub::MessageId;
use libp2p::PeerId;

/// Most batch verifications running at once.
pub const MAX_TX_JOBS: usize = 2;
/// Most batches waiting per peer.
pub const MAX_TX_QUEUED_PER_PEER: usize = 16;
/// Most bytes of batches waiting per peer.
pub const MAX_TX_QUEUED_BYTES_PER_PEER: usize = 8 << 20;
/// Most bytes of batches waiting in all.
pub const MAX_TX_QUEUED_BYTES: usize = 64 << 20;

/// A batch to verify: who sent it, its gossip id, its transactions.
pub struct TxJob {
    /// The peer it came from (the one blamed if it is invalid).
    pub peer: PeerId,
    /// Its gossip message id (for the validation report).
    pub id: MessageId,
    /// Its transactions' canonical bytes.
    pub txs: Vec<Vec<u8>>,
}

#[derive(Default)]
struct PeerQueue {
    batches: VecDeque<(TxJob, usize)>,
    bytes: usize,
}

/// The waiting batches and the count of running jobs.
#[derive(Default)]
pub struct TxQueue {
    peers: HashMap<PeerId, PeerQueue>,
    /// Peers with waiting batches, in serving order.
    turn: VecDeque<PeerId>,
    bytes: usize,
    /// Peers with a batch being verified.
    running: HashSet<PeerId>,
}

impl TxQueue {
    /// Queues `job` of `size` bytes; false (and the job dropped) when a bound is reached.
    pub fn push(&mut self, job: TxJob, size: usize) -> bool {
        let q = self.peers.entry(job.peer).or_default();
        if q.batches.len() >= MAX_TX_QUEUED_PER_PEER
            || q.bytes + size > MAX_TX_QUEUED_BYTES_PER_PEER
            || self.bytes + size > MAX_TX_QUEUED_BYTES
        {
            if q.batches.is_empty() {
                self.peers.remove(&job.peer);
            }
            return false;
        }
        if q.batches.is_empty() {
            self.turn.push_back(job.peer);
        }
        q.bytes += size;
        self.bytes += size;
        q.batches.push_back((job, size));
        true
    }

    /// The next batch to verify, if a job slot is free, of a peer with none running; counts it
    /// as running until [`TxQueue::done`].
    pub fn next(&mut self) -> Option<TxJob> {
        if self.running.len() >= MAX_TX_JOBS {
            return None;
        }
        // Peers whose batch is being verified wait for their next turn.
        let peer = (0..self.turn.len()).find_map(|_| {
            let p = self.turn.pop_front()?;
            if self.running.contains(&p) {
                self.turn.push_back(p);
                None
            } else {
                Some(p)
            }
        })?;
        let q = self
            .peers
            .get_mut(&peer)
            .expect("a peer in turn has a queue");
        let (job, size) = q.batches.pop_front().expect("a peer in turn has a batch");
        q.bytes -= size;
        self.bytes -= size;
        if q.batches.is_empty() {
            self.peers.remove(&peer);
        } else {
            self.turn.push_back(peer);
        }
        self.running.insert(peer);
        Some(job)
    }

    /// `peer`'s running job finished.
    pub fn done(&mut self, peer: &PeerId) {
        self.running.remove(peer);
    }

    /// Drops `peer`'s waiting batches and returns their ids.
    pub fn forget(&mut self, peer: &PeerId) -> Vec<MessageId> {
        let Some(q) = self.peers.remove(peer) else {
            return Vec::new();
        };
        self.bytes -= q.bytes;
        self.turn.retain(|p| p != peer);
        q.batches.into_iter().map(|(j, _)| j.id).collect()
    }

    /// Batches waiting.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.peers.values().map(|q| q.batches.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(peer: PeerId, n: u8) -> TxJob {
        TxJob {
            peer,
            id: MessageId::new(&[n]),
            txs: vec![vec![n]],
        }
    }

    #[test]
    fn bounded_per_peer_fair_between_peers_and_never_over_the_job_limit() {
        let mut q = TxQueue::default();
        let (flooder, honest) = (PeerId::random(), PeerId::random());
        // A flooder fills its own queue and no more.
        let mut refused = 0;
        for i in 0..100u8 {
            if !q.push(job(flooder, i), 1_000) {
                refused += 1;
            }
        }
        assert_eq!(q.waiting(), MAX_TX_QUEUED_PER_PEER);
        assert_eq!(refused, 100 - MAX_TX_QUEUED_PER_PEER);
        // An honest peer still gets in, and is served at the flooder's next turn.
        assert!(q.push(job(honest, 200), 1_000));
        let first = q.next().unwrap();
        let second = q.next().unwrap();
        assert_eq!((first.peer, second.peer), (flooder, honest));
        // No more than MAX_TX_JOBS at once, and one per peer: the flooder's next batch waits for
        // its running one even with a slot free.
        assert!(q.next().is_none());
        q.done(&honest);
        assert!(q.next().is_none(), "one running batch per peer");
        q.done(&flooder);
        assert_eq!(q.next().unwrap().peer, flooder);
        // Bytes bound per peer.
        let big = PeerId::random();
        assert!(q.push(job(big, 1), MAX_TX_QUEUED_BYTES_PER_PEER));
        assert!(!q.push(job(big, 2), 1));
        // Forgetting a peer drops its batches and its turn.
        let dropped = q.forget(&flooder);
        assert_eq!(dropped.len(), MAX_TX_QUEUED_PER_PEER - 2);
        q.done(&flooder);
        assert_eq!(q.next().unwrap().peer, big);
        assert!(q.next().is_none(), "nothing else waits");
        assert_eq!(q.bytes, 0);
    }

    #[test]
    fn the_total_bound_holds_across_peers() {
        let mut q = TxQueue::default();
        let per = MAX_TX_QUEUED_BYTES_PER_PEER;
        let peers = MAX_TX_QUEUED_BYTES / per;
        for _ in 0..peers {
            assert!(q.push(job(PeerId::random(), 0), per));
        }
        assert!(!q.push(job(PeerId::random(), 0), 1));
        assert_eq!(q.peers.len(), peers, "a refused peer leaves no empty queue");
    }
}
