//! Block sync's view of its peers (issue 10, findings 5 and 6): what each claims to have, what
//! its claims turned out to be worth, and how much of this node's serving it may use.
//!
//! Owns: the choice of the peer to ask, and the bookkeeping that makes a liar get nowhere.
//! * A peer's `Status` height is a claim, never a fact: it only makes the peer a candidate. A
//!   claim is believed when blocks with valid commits back it (the import checks each one).
//! * A request that times out ([`SYNC_TIMEOUT`]), an empty answer from a peer that claimed more,
//!   or blocks that do not start at the height asked for are a strike: the claim is dropped back
//!   to this node's head and the peer goes to the back of the line (fewest strikes are asked
//!   first, then the highest claim); [`MAX_STRIKES`] strikes in a row ban it. Blocks delivered
//!   and imported clear its strikes. Undecodable or invalid blocks ban at once (elsewhere).
//! * Serving: each peer has a byte budget ([`SERVE_BYTES_PER_SEC`], bursts to
//!   [`SERVE_BURST_BYTES`], every request charged at least [`SERVE_MIN_CHARGE`]) and at most
//!   [`MAX_SERVE_JOBS`] requests are read from the store at once, off the event loop; a request
//!   over either bound is answered `Busy` (the asker tries another peer, no blame).
//!
//! Must never: let one peer's claim stop the node from asking the others, or serve a peer past
//! its budget.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// How long a sync request may take before it counts as withheld.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(10);
/// Strikes in a row that ban a peer.
pub const MAX_STRIKES: u32 = 3;
/// How long a peer that answered `Busy` is not asked.
pub const BUSY_BACKOFF: Duration = Duration::from_secs(1);
/// Bytes of blocks served to one peer per second, on average.
pub const SERVE_BYTES_PER_SEC: f64 = 16.0 * 1024.0 * 1024.0;
/// The most a peer can draw at once.
pub const SERVE_BURST_BYTES: f64 = 32.0 * 1024.0 * 1024.0;
/// The least a block request is charged (reading the store costs even when little is sent).
pub const SERVE_MIN_CHARGE: f64 = 64.0 * 1024.0;
/// Block requests served at once.
pub const MAX_SERVE_JOBS: usize = 2;

#[derive(Debug)]
struct Peer {
    claim: u64,
    strikes: u32,
    busy_until: Option<Instant>,
    /// Serving budget in bytes and when it was last topped up.
    budget: f64,
    topped: Instant,
}

/// The peers of block sync.
#[derive(Debug, Default)]
pub struct SyncPeers {
    peers: HashMap<PeerId, Peer>,
    /// Block requests being served.
    serving: usize,
}

impl SyncPeers {
    fn entry(&mut self, peer: PeerId, now: Instant) -> &mut Peer {
        self.peers.entry(peer).or_insert(Peer {
            claim: 0,
            strikes: 0,
            busy_until: None,
            budget: SERVE_BURST_BYTES,
            topped: now,
        })
    }

    /// `peer` says its head is `height` (or proved it has `height` by gossiping it).
    pub fn claim(&mut self, peer: PeerId, height: u64, now: Instant) {
        self.entry(peer, now).claim = height;
    }

    /// Raises `peer`'s claim to at least `height` (a block it sent that checked out).
    pub fn saw(&mut self, peer: PeerId, height: u64, now: Instant) {
        let p = self.entry(peer, now);
        p.claim = p.claim.max(height);
    }

    /// Forgets `peer` (disconnected or banned).
    pub fn remove(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// The peer to ask for the blocks after `head`: claims above it, not busy, fewest strikes
    /// first, then the highest claim. With its claim.
    pub fn pick(
        &self,
        head: u64,
        connected: impl Fn(&PeerId) -> bool,
        now: Instant,
    ) -> Option<(PeerId, u64)> {
        self.peers
            .iter()
            .filter(|(id, p)| {
                p.claim > head && connected(id) && p.busy_until.is_none_or(|t| t <= now)
            })
            .min_by_key(|(id, p)| (p.strikes, std::cmp::Reverse(p.claim), **id))
            .map(|(id, p)| (*id, p.claim))
    }

    /// `peer` did not back its claim: its claim drops to `head`. True when that makes
    /// [`MAX_STRIKES`] in a row (ban it).
    pub fn strike(&mut self, peer: PeerId, head: u64, now: Instant) -> bool {
        let p = self.entry(peer, now);
        p.claim = p.claim.min(head);
        p.strikes += 1;
        p.strikes >= MAX_STRIKES
    }

    /// `peer` delivered blocks that were imported.
    pub fn delivered(&mut self, peer: PeerId, now: Instant) {
        self.entry(peer, now).strikes = 0;
    }

    /// `peer` answered `Busy`.
    pub fn busy(&mut self, peer: PeerId, now: Instant) {
        self.entry(peer, now).busy_until = Some(now + BUSY_BACKOFF);
    }

    /// Whether a block request of `peer` may be served now; if so it is counted as running
    /// until [`SyncPeers::served`].
    pub fn start_serving(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.serving >= MAX_SERVE_JOBS {
            return false;
        }
        let p = self.entry(peer, now);
        let elapsed = now.saturating_duration_since(p.topped).as_secs_f64();
        p.budget = (p.budget + elapsed * SERVE_BYTES_PER_SEC).min(SERVE_BURST_BYTES);
        p.topped = now;
        if p.budget < SERVE_MIN_CHARGE {
            return false;
        }
        self.serving += 1;
        true
    }

    /// A block request of `peer` was answered with `bytes`.
    pub fn served(&mut self, peer: PeerId, bytes: usize, now: Instant) {
        self.serving = self.serving.saturating_sub(1);
        let p = self.entry(peer, now);
        p.budget -= (bytes as f64).max(SERVE_MIN_CHARGE);
    }

    /// The highest claim of a connected peer (the sync target shown to users).
    pub fn best_claim(&self, connected: impl Fn(&PeerId) -> bool) -> u64 {
        self.peers
            .iter()
            .filter(|(id, _)| connected(id))
            .map(|(_, p)| p.claim)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_liar_is_asked_again_only_after_the_honest_and_banned_at_three_strikes() {
        let now = Instant::now();
        let mut s = SyncPeers::default();
        let (liar, honest) = (PeerId::random(), PeerId::random());
        s.claim(liar, u64::MAX, now);
        s.claim(honest, 50, now);
        let all = |_: &PeerId| true;
        assert_eq!(
            s.pick(10, all, now),
            Some((liar, u64::MAX)),
            "the highest claim first"
        );
        assert!(!s.strike(liar, 10, now));
        assert_eq!(s.pick(10, all, now), Some((honest, 50)), "then the others");
        // Its next claim makes it a candidate again, behind peers without strikes.
        s.claim(liar, u64::MAX, now);
        assert_eq!(s.pick(10, all, now).unwrap().0, honest);
        s.strike(honest, 10, now);
        s.strike(honest, 10, now);
        s.claim(honest, 50, now);
        assert_eq!(
            s.pick(10, all, now).unwrap().0,
            liar,
            "fewest strikes first"
        );
        assert!(!s.strike(liar, 10, now));
        s.claim(liar, u64::MAX, now);
        assert!(s.strike(liar, 10, now), "three in a row ban");
        // Delivering clears strikes; busy peers wait their backoff; gone peers are not asked.
        s.delivered(honest, now);
        s.busy(honest, now);
        s.claim(liar, 0, now);
        assert_eq!(s.pick(10, all, now), None);
        assert_eq!(s.pick(10, all, now + BUSY_BACKOFF).unwrap().0, honest);
        assert_eq!(s.pick(10, |p| *p != honest, now + BUSY_BACKOFF), None);
    }

    #[test]
    fn serving_is_bounded_per_peer_and_in_all() {
        let t0 = Instant::now();
        let mut s = SyncPeers::default();
        let greedy = PeerId::random();
        // The burst, then nothing until the budget refills.
        let mut served = 0.0;
        while s.start_serving(greedy, t0) {
            s.served(greedy, 8 << 20, t0);
            served += f64::from(8u32 << 20);
        }
        assert!(served <= SERVE_BURST_BYTES + f64::from(8u32 << 20));
        assert!(!s.start_serving(greedy, t0));
        assert!(s.start_serving(greedy, t0 + Duration::from_secs(1)));
        s.served(greedy, 0, t0 + Duration::from_secs(1));
        // At most MAX_SERVE_JOBS at once, whoever asks.
        let others: Vec<_> = (0..MAX_SERVE_JOBS + 1).map(|_| PeerId::random()).collect();
        let started = others.iter().filter(|p| s.start_serving(**p, t0)).count();
        assert_eq!(started, MAX_SERVE_JOBS);
    }
}
