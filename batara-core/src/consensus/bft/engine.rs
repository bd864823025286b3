//! [`BftEngine`]: the host of [`BftState`] inside a node — a [`ConsensusEngine`] for networks of
//! many validators (and for nodes that follow them without voting).
//!
//! Owns: one thread that feeds the state machine (network messages, timers, blocks committed by
//! sync) and carries out its outputs: builds blocks from the mempool, executes proposed blocks
//! (the state machine's `valid(v)`), signs through the double-sign guard, gossips proposals (with
//! their block), votes and evidence, and commits decided blocks through [`BlockSink`].
//!
//! Choices:
//! * The proposer schedule of a height is replayed from the validator sets stored for every height
//!   since genesis (`BftValidatorSet::new` at height 1, `next` after), so a node that synced or
//!   restarted has exactly the schedule of the others: O(height) once at start, then stepped
//!   forward from the cached height.
//! * A proposal is executed only if it comes from its round's proposer, for at most the next round,
//!   with a body matching its header and a time at most [`MAX_CLOCK_DRIFT_MS`] ahead of this node's
//!   clock (a proposer cannot push block time out of reach); each block is executed once.
//! * A decided block is committed at once; the next height starts after `commit_ms`, during which
//!   transactions collect (CometBFT's `timeout_commit`: the block interval when the network is
//!   healthy) and late precommits for the decided block join its commit
//!   ([`Chain::add_head_signature`](crate::runtime::Chain::add_head_signature)), so the next
//!   block's `last_commit` credits every validator that signed in time — downtime is counted from
//!   it, and a commit of exactly the first 2/3 would count a quarter of a healthy network as
//!   missing every block.
//! * Messages are checked before gossip relays them ([`BftEngine::check`]): a malformed message, a
//!   vote or proposal not signed by the key of a validator of that height, or a proposal whose block
//!   does not hash to the proposal's hash is rejected (the sender is banned); messages for heights
//!   whose validator set is not known yet are ignored (gossip brings them again).
//! * Gossip delivers a message once, so a node that was down when it was sent never gets it; and a
//!   network short of 2/3 waits without sending more. So the engine re-sends its own latest
//!   proposal and votes of the current height every [`REBROADCAST`] until the height is decided:
//!   a validator coming back hears everyone's current round within a second and joins it.
//! * Evidence of double signing (detected here or gossiped) waits in a small pool, is gossiped, and
//!   goes into the blocks this node proposes until a block carrying it is committed; executing that
//!   block slashes and tombstones the offender on every node (staking). The pool keeps one piece
//!   per offender and is pruned at every height of what no block can use any more; gossiped
//!   evidence no block could use (too old, already punished, offender tombstoned) is ignored, not
//!   relayed — so evidence spam cannot crowd out a real offence (issue 10, finding 4).
//!
//! * A validator keeps a consensus WAL ([`super::wal`]): a new lock or valid value is written
//!   (with its block) before the outputs that come with it are carried out, a block it builds
//!   before its proposal is signed, and each own message after the guard signed it and before it
//!   is sent. A restart at a height the WAL holds resumes it ([`Input::ResumeHeight`]): same lock
//!   and valid value, same round and step, own messages fed back and re-sent, the block it had
//!   built proposed again. If the WAL cannot be written, the engine signs nothing more at that
//!   height (issue 10, part 3).
//!
//! Must never: sign without the guard, send an own message before the WAL holds it, commit other
//! than through [`BlockSink`], or block the
//! network thread (checks are signature verifications; execution happens on this engine's thread).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use borsh::{BorshDeserialize, BorshSerialize};
use parking_lot::Mutex;

use super::wal::{Begin, Wal, WalEntry, WalError};
use super::{
    BftFootprint, BftParams, BftState, BftTimeouts, BftValidatorSet, Input, Output, TimeoutKind,
};
use crate::consensus::{BlockSink, Clock, ConsensusEngine, MessageVerdict};
use crate::runtime::Executed;
use crate::types::{
    Block, CommitSig, DuplicateVoteEvidence, Hash, Proposal, ValidatorInfo, Vote, VoteKind,
};
use crate::validator::guard::SignGuard;
use crate::validator::Signer;

/// How far ahead of this node's clock a proposed block's time may be.
pub const MAX_CLOCK_DRIFT_MS: u64 = 10_000;

/// Most pieces of evidence waiting for a block.
pub const MAX_PENDING_EVIDENCE: usize = 100;

/// The highest round a proposal or vote may carry. Rounds grow by one per timeout, and each
/// round's timeouts grow by their deltas, so an honest network reaches round 10,000 only after
/// months without a decision; a far round costs every receiver work (the proposer schedule is
/// stepped once per round), so such messages are rejected before anything else is done.
pub const MAX_ROUND: u32 = 10_000;

/// Most proposals buffered for the next height per proposer (its rounds 0 and 1: faster nodes
/// start the next height before this one decides).
pub const NEXT_HEIGHT_PER_PROPOSER: usize = 2;

/// Most bytes of blocks buffered for the next height, in block sizes (`max_block_bytes`).
pub const NEXT_HEIGHT_BLOCKS: u64 = 4;

/// How often a node re-sends its latest messages of an undecided height.
pub const REBROADCAST: Duration = Duration::from_secs(1);

/// A consensus message on the wire (borsh).
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub enum ConsensusMsg {
    /// A proposal and its block.
    Proposal {
        /// The signed proposal.
        proposal: Proposal,
        /// The block it proposes.
        block: Box<Block>,
    },
    /// A prevote or precommit.
    Vote(Vote),
    /// Two conflicting votes of one validator.
    Evidence(DuplicateVoteEvidence),
}

enum Event {
    Net(Box<ConsensusMsg>),
    /// Asks for the engine's footprint (answered on the engine thread, between messages).
    Footprint(mpsc::Sender<BftFootprint>),
    Stop,
}

/// Where the engine sends its messages (the p2p service gossips them).
pub type Outbox = tokio::sync::mpsc::UnboundedSender<Vec<u8>>;

/// What [`BftEngine::start`] needs besides the sink.
pub struct BftSetup {
    /// This node's validator signer, if it validates.
    pub signer: Option<Arc<dyn Signer>>,
    /// The double-sign guard file (needed with a signer).
    pub guard_path: PathBuf,
    /// The consensus WAL (needed with a signer).
    pub wal_path: PathBuf,
    /// Timeouts.
    pub timeouts: BftTimeouts,
    /// Block time source.
    pub clock: Box<dyn Clock>,
    /// Gossip of consensus messages.
    pub outbox: Outbox,
}

/// Why the engine cannot start.
#[derive(Debug, thiserror::Error)]
pub enum BftStartError {
    /// The double-sign guard file.
    #[error(transparent)]
    Guard(#[from] crate::validator::guard::GuardError),
    /// The consensus WAL.
    #[error(transparent)]
    Wal(#[from] WalError),
}

/// The BFT consensus engine.
pub struct BftEngine {
    events: mpsc::Sender<Event>,
    thread: Mutex<Option<JoinHandle<()>>>,
    sink: Arc<BlockSink>,
    validator: bool,
}

impl BftEngine {
    /// Starts the engine thread. Fails if the guard file or the WAL cannot be opened.
    pub fn start(sink: Arc<BlockSink>, setup: BftSetup) -> Result<Self, BftStartError> {
        let chain_id = sink.chain().spec().chain_id.clone();
        let guard = match &setup.signer {
            Some(s) => Some(SignGuard::open(
                &setup.guard_path,
                chain_id.clone(),
                s.clone(),
            )?),
            None => None,
        };
        let wal = match &setup.signer {
            Some(_) => Some(Wal::open(&setup.wal_path)?),
            None => None,
        };
        let (tx, rx) = mpsc::channel();
        let validator = setup.signer.is_some();
        let host = Host {
            state: BftState::new(BftParams {
                chain_id,
                address: setup.signer.as_ref().map(|s| s.address()),
                timeouts: setup.timeouts.clone(),
            }),
            sink: sink.clone(),
            guard,
            wal,
            logged: (None, None),
            wal_failed: false,
            built: None,
            timeouts: setup.timeouts,
            clock: setup.clock,
            outbox: setup.outbox,
            timers: BinaryHeap::new(),
            executed: HashMap::new(),
            blocks: HashMap::new(),
            verdicts: HashMap::new(),
            next_height: Vec::new(),
            proposed: HashMap::new(),
            next_set: None,
            sets: None,
            start_at: None,
            own: Vec::new(),
            evidence: Vec::new(),
            sent_at: Instant::now(),
            height: 0,
        };
        let thread = std::thread::Builder::new()
            .name("batara-bft".into())
            .spawn(move || host.run(rx))
            .expect("spawn the BFT engine thread");
        Ok(Self {
            events: tx,
            thread: Mutex::new(Some(thread)),
            sink,
            validator,
        })
    }

    /// The validator set of block `height`, if this node knows it yet.
    fn set_of(&self, height: u64) -> Option<Vec<ValidatorInfo>> {
        let chain = self.sink.chain();
        let head = chain.head().header.height;
        if height == 0 || height > head + 1 {
            return None;
        }
        chain.set_for(height).ok().flatten()
    }

    /// A vote for the head's height: useful only as a precommit for the head block in its
    /// commit's round by a validator missing from that commit, which then joins it on the engine
    /// thread ([`Host::late_precommit`]) and is relayed, so every node can credit it. Bound: one
    /// signature verification per validator and height — everything else is ignored before any
    /// verification.
    fn late_precommit(&self, v: &Vote) -> MessageVerdict {
        let chain = self.sink.chain();
        let head = chain.head();
        let Some(commit) = head.commit else {
            return MessageVerdict::Ignore;
        };
        if v.kind != VoteKind::Precommit
            || v.round != commit.round
            || v.block_hash != Some(head.hash)
            || commit.signatures.iter().any(|s| s.validator == v.validator)
        {
            return MessageVerdict::Ignore;
        }
        match self.set_of(v.height) {
            Some(set) => Self::check_signer(&chain.spec().chain_id, &set, v),
            None => MessageVerdict::Ignore,
        }
    }

    /// A vote of a validator of `set`, signed with its key: Accept, else Reject.
    fn check_signer(chain_id: &str, set: &[ValidatorInfo], v: &Vote) -> MessageVerdict {
        match set.iter().find(|x| x.address == v.validator) {
            None => MessageVerdict::Reject(format!("vote by non-validator {}", v.validator)),
            Some(x) if v.verify(chain_id, &x.pubkey).is_err() => {
                MessageVerdict::Reject(format!("bad vote signature from {}", v.validator))
            }
            Some(_) => MessageVerdict::Accept,
        }
    }

    /// Checks a message from the network before it is relayed (see the module docs).
    pub fn check(&self, msg: &ConsensusMsg) -> MessageVerdict {
        let chain_id = &self.sink.chain().spec().chain_id;
        let head = self.sink.chain().head().header.height;
        let key_of = |height: u64, who| {
            self.set_of(height)
                .and_then(|set| set.into_iter().find(|v| v.address == who).map(|v| v.pubkey))
        };
        match msg {
            ConsensusMsg::Vote(v) => {
                if v.height == head {
                    return self.late_precommit(v);
                }
                if v.height < head {
                    return MessageVerdict::Ignore;
                }
                if v.round > MAX_ROUND {
                    return MessageVerdict::Reject(format!(
                        "vote for round {} (at most {MAX_ROUND})",
                        v.round
                    ));
                }
                let Some(set) = self.set_of(v.height) else {
                    return MessageVerdict::Ignore;
                };
                Self::check_signer(chain_id, &set, v)
            }
            ConsensusMsg::Proposal { proposal, block } => {
                if proposal.height <= head {
                    return MessageVerdict::Ignore;
                }
                if proposal.round > MAX_ROUND
                    || proposal.pol_round.is_some_and(|p| p >= proposal.round)
                {
                    return MessageVerdict::Reject(format!(
                        "proposal for round {} with pol_round {:?} (a round at most {MAX_ROUND}, \
                         a pol_round below it)",
                        proposal.round, proposal.pol_round
                    ));
                }
                if block.hash() != proposal.block_hash || block.header.height != proposal.height {
                    return MessageVerdict::Reject("proposal does not match its block".into());
                }
                if let Err(e) = block.check_body() {
                    return MessageVerdict::Reject(format!("proposed block: {e}"));
                }
                match key_of(proposal.height, proposal.proposer) {
                    None if self.set_of(proposal.height).is_none() => MessageVerdict::Ignore,
                    None => MessageVerdict::Reject(format!(
                        "proposal by non-validator {}",
                        proposal.proposer
                    )),
                    Some(k) if proposal.verify(chain_id, &k).is_err() => {
                        MessageVerdict::Reject("bad proposal signature".into())
                    }
                    Some(_) => MessageVerdict::Accept,
                }
            }
            // The chain's own check verifies the pair against its height's set: usable evidence
            // costs one verification. Only evidence it refuses is verified again here, to tell a
            // forgery (the sender is banned) from a signed pair no block could use (too old,
            // punished already, the offender jailed for good: neither kept nor relayed, and the
            // sender not blamed — an honest peer may relay it before it saw the punishment).
            ConsensusMsg::Evidence(e) => match self.set_of(e.vote_a.height) {
                None => MessageVerdict::Ignore,
                Some(set) => match self.sink.chain().evidence_problem(head + 1, e) {
                    None => MessageVerdict::Accept,
                    Some(_) => match e.verify(chain_id, &set) {
                        Err(err) => MessageVerdict::Reject(format!("bad evidence: {err}")),
                        Ok(()) => MessageVerdict::Ignore,
                    },
                },
            },
        }
    }
}

impl ConsensusEngine for BftEngine {
    fn name(&self) -> &'static str {
        "bft"
    }

    fn notify_txs(&self) {}

    fn is_validator(&self) -> bool {
        self.validator
    }

    fn stop(&self) {
        let _ = self.events.send(Event::Stop);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    fn footprint(&self) -> Option<BftFootprint> {
        let (tx, rx) = mpsc::channel();
        self.events.send(Event::Footprint(tx)).ok()?;
        rx.recv_timeout(Duration::from_secs(5)).ok()
    }

    fn network_message(&self, data: &[u8]) -> MessageVerdict {
        let msg: ConsensusMsg = match borsh::from_slice(data) {
            Ok(m) => m,
            Err(e) => return MessageVerdict::Reject(format!("undecodable consensus message: {e}")),
        };
        let verdict = self.check(&msg);
        if verdict == MessageVerdict::Accept {
            let _ = self.events.send(Event::Net(Box::new(msg)));
        }
        verdict
    }
}

/// A block hash and its round (a lock or a valid value), if set.
type ValueRound = Option<(Hash, u32)>;

/// The engine thread's state.
struct Host {
    state: BftState,
    sink: Arc<BlockSink>,
    guard: Option<SignGuard>,
    /// The consensus WAL (validators only).
    wal: Option<Wal>,
    /// The lock and valid value last written to the WAL.
    logged: (ValueRound, ValueRound),
    /// The WAL could not be written at this height, or is for a higher one: nothing more is
    /// signed until the next height.
    wal_failed: bool,
    /// The block this node built at this height before a restart (from the WAL): proposed again
    /// rather than a new one, which the guard would refuse if the proposal was already signed.
    built: Option<Hash>,
    timeouts: BftTimeouts,
    clock: Box<dyn Clock>,
    outbox: Outbox,
    timers: BinaryHeap<Reverse<(Instant, u8, u64, u32)>>,
    /// Executed blocks of the current height by hash (valid proposals and our own builds).
    executed: HashMap<Hash, Executed>,
    /// Blocks seen at the current height by hash (to gossip our own proposal's block).
    blocks: HashMap<Hash, Block>,
    /// Verdicts on proposed blocks of the current height (each executed once).
    verdicts: HashMap<Hash, bool>,
    /// Proposals for the next height, replayed when it starts (their blocks need the head), and
    /// their blocks' size. Bounded (issue 10, finding 3): rounds 0 and 1 only,
    /// [`NEXT_HEIGHT_PER_PROPOSER`] per proposer, [`NEXT_HEIGHT_BLOCKS`] blocks' worth of bytes.
    next_height: Vec<(Proposal, Block, u64)>,
    /// Distinct blocks proposed per round of the current height, each executed once: at most
    /// `MAX_PROPOSALS_PER_ROUND` (the state machine keeps no more), so a proposer sending many
    /// blocks for its round costs each node that many executions at most (issue 10, finding 3).
    proposed: HashMap<u32, usize>,
    /// The validator set of the next height, once this one is committed (checks proposals
    /// buffered for it).
    next_set: Option<(u64, BftValidatorSet)>,
    /// The validator set (with its proposer schedule) of `height`.
    sets: Option<BftValidatorSet>,
    /// When to start `height` (after a decision's commit wait).
    start_at: Option<Instant>,
    /// Evidence to put in the next block this node proposes.
    evidence: Vec<DuplicateVoteEvidence>,
    /// This node's latest messages of the current height (re-sent until it is decided).
    own: Vec<ConsensusMsg>,
    /// When they were last sent.
    sent_at: Instant,
    /// The height being decided.
    height: u64,
}

/// A block's encoded size (what it costs to hold).
fn encoded_size(b: &Block) -> u64 {
    borsh::object_length(b).map_or(u64::MAX, |n| n as u64)
}

fn kind_code(k: TimeoutKind) -> u8 {
    match k {
        TimeoutKind::Propose => 0,
        TimeoutKind::Prevote => 1,
        TimeoutKind::Precommit => 2,
    }
}

fn kind_of(c: u8) -> TimeoutKind {
    match c {
        0 => TimeoutKind::Propose,
        1 => TimeoutKind::Prevote,
        _ => TimeoutKind::Precommit,
    }
}

impl Host {
    fn run(mut self, rx: mpsc::Receiver<Event>) {
        self.start_at = Some(Instant::now());
        loop {
            self.on_time();
            let wait = self
                .next_deadline()
                .map_or(Duration::from_millis(200), |d| {
                    d.saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(200))
                });
            match rx.recv_timeout(wait) {
                Ok(Event::Net(m)) => self.on_message(*m),
                Ok(Event::Footprint(reply)) => {
                    let _ = reply.send(self.footprint());
                }
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        tracing::info!(target: "batara::bft", "engine stopped");
    }

    fn footprint(&self) -> BftFootprint {
        BftFootprint {
            blocks: self.blocks.len(),
            block_bytes: self.blocks.values().map(encoded_size).sum(),
            executed: self.executed.len(),
            next_height_proposals: self.next_height.len(),
            next_height_bytes: self.next_height.iter().map(|(_, _, n)| n).sum(),
            evidence: self.evidence.len(),
            ..self.state.footprint()
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let t = self.timers.peek().map(|Reverse((t, ..))| *t);
        match (t, self.start_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires due timers, starts a due height, and notices blocks committed by sync.
    fn on_time(&mut self) {
        let head = self.sink.chain().head().header.height;
        if self.height != 0 && head >= self.height && self.start_at.is_none() {
            // Block sync committed the height we were deciding: move on.
            self.start_at = Some(Instant::now());
        }
        if self.start_at.is_some_and(|t| t <= Instant::now()) {
            self.start_at = None;
            self.start_height(head + 1);
        }
        if self.start_at.is_none() && self.sent_at.elapsed() >= REBROADCAST {
            self.sent_at = Instant::now();
            for m in &self.own {
                self.send(m);
            }
        }
        while let Some(Reverse((t, k, h, r))) = self.timers.peek().copied() {
            if t > Instant::now() {
                break;
            }
            self.timers.pop();
            self.feed(Input::Timeout {
                kind: kind_of(k),
                height: h,
                round: r,
            });
        }
    }

    fn set_for(&self, height: u64) -> Option<Vec<ValidatorInfo>> {
        self.sink.chain().set_for(height).ok().flatten()
    }

    /// The validator set of `height` with its schedule, replayed from the previous one (or from
    /// genesis on the first call).
    fn schedule_for(&mut self, height: u64) -> Option<BftValidatorSet> {
        let start = match &self.sets {
            Some(s) if self.height < height => {
                // Step forward from the cached height (one step normally; more after a sync).
                let mut s = s.clone();
                for h in self.height + 1..height {
                    s = s.next(self.set_for(h)?).ok()?;
                }
                s
            }
            _ => {
                let mut s = BftValidatorSet::new(self.set_for(1)?).ok()?;
                for h in 2..height {
                    s = s.next(self.set_for(h)?).ok()?;
                }
                if height == 1 {
                    return Some(s);
                }
                s
            }
        };
        start.next(self.set_for(height)?).ok()
    }

    fn start_height(&mut self, height: u64) {
        // The schedule computed for buffering this height's early proposals, if any.
        let known = match self.next_set.take() {
            Some((h, set)) if h == height => Some(set),
            _ => None,
        };
        let Some(set) = known.or_else(|| self.schedule_for(height)) else {
            tracing::error!(target: "batara::bft", height, "no validator set for the height");
            self.start_at = Some(Instant::now() + Duration::from_secs(1));
            return;
        };
        self.sets = Some(set.clone());
        self.height = height;
        self.timers.clear();
        self.executed.clear();
        self.blocks.clear();
        self.verdicts.clear();
        self.proposed.clear();
        self.own.clear();
        self.logged = (None, None);
        self.wal_failed = false;
        self.built = None;
        let recovered = match self.wal.as_mut().map(|w| w.begin(height)) {
            Some(Err(e)) => {
                tracing::error!(target: "batara::bft", height, %e, "cannot write the consensus WAL: not signing at this height");
                self.wal_failed = true;
                None
            }
            Some(Ok(Begin::Below { wal_height })) => {
                tracing::warn!(target: "batara::bft", height, wal_height, "below the consensus WAL's height (this node decided it before): not signing until then");
                self.wal_failed = true;
                None
            }
            Some(Ok(Begin::Resume(r))) => Some(r),
            Some(Ok(Begin::Fresh)) | None => None,
        };
        // Evidence in a committed block is punished; drop it and anything else no block can use
        // any more (too old, its offender jailed for good by other evidence).
        let chain = self.sink.chain();
        self.evidence
            .retain(|e| chain.evidence_problem(height, e).is_none());
        match recovered {
            Some(rec) => {
                tracing::info!(target: "batara::bft", height, round = rec.resume.round, locked = ?rec.resume.locked, own = rec.own.len(), "resuming the height from the consensus WAL");
                let me = self.state.params().address;
                for b in rec.blocks {
                    if Some(b.header.proposer) == me {
                        self.built = Some(b.hash());
                    }
                    self.blocks.insert(b.hash(), b);
                }
                self.logged = (rec.resume.locked, rec.resume.valid);
                self.feed(Input::ResumeHeight {
                    height,
                    validators: set,
                    resume: rec.resume,
                });
                // Own messages count again (as every vote, only through this path) and are re-sent.
                for m in rec.own {
                    self.own.push(m.clone());
                    if self.own.len() > 3 {
                        self.own.remove(0);
                    }
                    match m {
                        ConsensusMsg::Proposal { proposal, block } => {
                            self.on_proposal(proposal, *block)
                        }
                        ConsensusMsg::Vote(v) => self.feed(Input::Vote(v)),
                        ConsensusMsg::Evidence(_) => {}
                    }
                }
                for m in &self.own {
                    self.send(m);
                }
            }
            None => {
                tracing::debug!(target: "batara::bft", height, "starting height");
                self.feed(Input::StartHeight {
                    height,
                    validators: set,
                });
            }
        }
        for (p, b, _) in std::mem::take(&mut self.next_height) {
            if p.height == height {
                self.on_proposal(p, b);
            }
        }
    }

    fn on_message(&mut self, m: ConsensusMsg) {
        match m {
            ConsensusMsg::Proposal { proposal, block } => {
                if proposal.height == self.height + 1 {
                    self.buffer_next_height(proposal, *block);
                } else if proposal.height == self.height {
                    self.on_proposal(proposal, *block);
                }
            }
            // For a height this node decided (and so committed, at once): a precommit, checked
            // against its set, perhaps while this node was committing it, that may join the
            // head's commit.
            ConsensusMsg::Vote(v)
                if v.height < self.height
                    || (v.height == self.height && self.state.is_decided()) =>
            {
                self.late_precommit(v)
            }
            ConsensusMsg::Vote(v) => self.feed(Input::Vote(v)),
            ConsensusMsg::Evidence(e) => self.add_evidence(e),
        }
    }

    /// Adds a verified precommit for the head block to the head's commit, if it belongs there
    /// (its round, a validator not in it yet): the next block this node builds carries it.
    fn late_precommit(&mut self, v: Vote) {
        let (VoteKind::Precommit, Some(block)) = (v.kind, v.block_hash) else {
            return;
        };
        let sig = CommitSig {
            validator: v.validator,
            signature: v.signature,
        };
        if self
            .sink
            .chain()
            .add_head_signature(v.height, v.round, &block, sig)
        {
            tracing::debug!(target: "batara::bft", height = v.height, validator = %v.validator, "late precommit joined the commit");
        }
    }

    /// Keeps a proposal for the next height within the bounds of `next_height`.
    fn buffer_next_height(&mut self, proposal: Proposal, block: Block) {
        if proposal.round > 1 {
            return;
        }
        // Once this height is committed the next one's schedule is known: only its proposers
        // of rounds 0 and 1 are buffered (before, any validator's, within the bounds below).
        let next = self.height + 1;
        if self.sink.chain().head().header.height >= self.height {
            if self.next_set.as_ref().is_none_or(|(h, _)| *h != next) {
                self.next_set = self.schedule_for(next).map(|s| (next, s));
            }
            if let Some((_, set)) = &self.next_set {
                if set.schedule().proposer_at_round(proposal.round) != proposal.proposer {
                    return;
                }
            }
        }
        let size = encoded_size(&block);
        let chain = self.sink.chain();
        // The genesis limit if the rules cannot be read: this is only a buffer bound.
        let max_block_bytes = chain
            .rules()
            .map_or(chain.spec().rules.max_block_bytes, |r| r.max_block_bytes);
        let budget = max_block_bytes.saturating_mul(NEXT_HEIGHT_BLOCKS);
        let used: u64 = self.next_height.iter().map(|(_, _, n)| n).sum();
        let by_proposer = self
            .next_height
            .iter()
            .filter(|(p, _, _)| p.proposer == proposal.proposer)
            .count();
        let duplicate = self
            .next_height
            .iter()
            .any(|(p, _, _)| p.round == proposal.round && p.proposer == proposal.proposer);
        if !duplicate
            && by_proposer < NEXT_HEIGHT_PER_PROPOSER
            && used.saturating_add(size) <= budget
        {
            self.next_height.push((proposal, block, size));
        }
    }

    /// Keeps evidence for the next proposed block: one piece per offender (one is enough to
    /// punish it; a validator signing conflicting votes at many heights must not fill the pool
    /// and crowd out the evidence against another), at most [`MAX_PENDING_EVIDENCE`].
    fn add_evidence(&mut self, e: DuplicateVoteEvidence) {
        let offender = e.validator();
        if self.evidence.len() < MAX_PENDING_EVIDENCE
            && !self.evidence.iter().any(|x| x.validator() == offender)
        {
            tracing::warn!(target: "batara::bft", validator = %e.validator(), height = e.vote_a.height, "evidence of double signing");
            self.evidence.push(e);
        }
    }

    fn on_proposal(&mut self, proposal: Proposal, block: Block) {
        if proposal.height != self.sink.chain().head().header.height + 1 {
            // Decided (or synced) meanwhile.
            return;
        }
        // Only the round's proposer, and no further ahead than the next round (its re-sends come
        // again when this node gets there): executing a block costs, so nothing else is executed.
        // The round first: stepping the schedule to a far round would cost that many steps.
        if proposal.round > self.state.round() + 1 {
            return;
        }
        let expected = self
            .sets
            .as_ref()
            .map(|s| s.schedule().proposer_at_round(proposal.round));
        if expected != Some(proposal.proposer) {
            return;
        }
        let hash = proposal.block_hash;
        let known = self.executed.contains_key(&hash) || self.verdicts.contains_key(&hash);
        let count = self.proposed.entry(proposal.round).or_default();
        if !known {
            if *count >= super::MAX_PROPOSALS_PER_ROUND {
                return;
            }
            *count += 1;
        }
        // The block matches its proposal and its body is well formed: `check` saw to it before
        // the message came here (and the WAL's checksums for this node's own proposal).
        let valid = if self.executed.contains_key(&hash) {
            true
        } else if let Some(v) = self.verdicts.get(&hash) {
            *v
        } else if block.header.time > self.clock.now_ms().saturating_add(MAX_CLOCK_DRIFT_MS) {
            tracing::warn!(target: "batara::bft", height = proposal.height, time = block.header.time, "proposed block is from the future");
            false
        } else {
            let pool = self.sink.mempool();
            match self
                .sink
                .chain()
                .execute_block_trusting(&block, |h| pool.contains(h))
            {
                Ok(ex) => {
                    self.executed.insert(hash, ex);
                    true
                }
                Err(e) => {
                    tracing::warn!(target: "batara::bft", height = proposal.height, %e, "invalid proposed block");
                    false
                }
            }
        };
        self.verdicts.insert(hash, valid);
        self.blocks.entry(hash).or_insert(block);
        self.feed(Input::Proposal {
            proposal,
            block_valid: valid,
        });
    }

    /// Runs an input and every output it leads to (own messages are fed back).
    fn feed(&mut self, input: Input) {
        let mut queue = std::collections::VecDeque::from([input]);
        while let Some(i) = queue.pop_front() {
            let outs = self.state.handle(i);
            // A new lock goes to disk before the precommit that comes with it is signed.
            self.log_values();
            for out in outs {
                if let Some(next) = self.carry_out(out) {
                    queue.push_back(next);
                }
            }
        }
    }

    /// Writes a change of the lock or valid value to the WAL.
    fn log_values(&mut self) {
        let Some(wal) = self.wal.as_mut() else { return };
        let now = (self.state.locked(), self.state.valid_value());
        if now == self.logged || self.wal_failed {
            return;
        }
        let mut write = || -> Result<(), WalError> {
            if let (Some((block_hash, round)), true) = (now.0, now.0 != self.logged.0) {
                wal.append_value(
                    WalEntry::Locked { block_hash, round },
                    self.blocks.get(&block_hash),
                )?;
            }
            if let (Some((block_hash, round)), true) = (now.1, now.1 != self.logged.1) {
                wal.append_value(
                    WalEntry::Valid { block_hash, round },
                    self.blocks.get(&block_hash),
                )?;
            }
            Ok(())
        };
        match write() {
            Ok(()) => self.logged = now,
            Err(e) => {
                tracing::error!(target: "batara::bft", height = self.height, %e, "cannot write the consensus WAL: not signing at this height");
                self.wal_failed = true;
            }
        }
    }

    /// Logs a message this node signed; false when it must not be sent.
    fn log_own(&mut self, m: &ConsensusMsg) -> bool {
        let Some(wal) = self.wal.as_mut() else {
            return true;
        };
        match wal.append(&WalEntry::Own(Box::new(m.clone()))) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(target: "batara::bft", height = self.height, %e, "cannot write the consensus WAL: not signing at this height");
                self.wal_failed = true;
                false
            }
        }
    }

    fn send(&self, m: &ConsensusMsg) {
        let _ = self.outbox.send(borsh::to_vec(m).expect("borsh into Vec"));
    }

    /// Sends one of this node's own messages and keeps it for re-sending (the latest three: a
    /// proposal, a prevote and a precommit).
    fn send_own(&mut self, m: ConsensusMsg) {
        self.send(&m);
        self.own.push(m);
        if self.own.len() > 3 {
            self.own.remove(0);
        }
    }

    fn carry_out(&mut self, out: Output) -> Option<Input> {
        match out {
            Output::BuildBlock { height, round } => {
                if self.wal_failed {
                    return None;
                }
                if let Some(block_hash) = self.built.take() {
                    return Some(Input::BlockBuilt {
                        height,
                        round,
                        block_hash,
                    });
                }
                let chain = self.sink.chain();
                let rules = match chain.rules() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(target: "batara::bft", height, %e, "cannot read the chain's rules");
                        return None;
                    }
                };
                let candidates = self
                    .sink
                    .mempool()
                    .select(rules.max_block_txs as usize, rules.max_block_bytes);
                let me = self.state.params().address?;
                match chain.build_block_with_evidence(
                    &candidates,
                    me,
                    self.clock.now_ms(),
                    self.evidence.clone(),
                ) {
                    Ok((ex, _)) if ex.block.header.height != height => {
                        // The head moved (block sync) while building: not this height's block.
                        None
                    }
                    Ok((ex, left_out)) => {
                        self.sink.mempool().remove(&left_out);
                        let hash = ex.block.hash();
                        // On disk before its proposal is signed (see `built`).
                        if let Some(wal) = self.wal.as_mut() {
                            if let Err(e) = wal.append(&WalEntry::Block(Box::new(ex.block.clone())))
                            {
                                tracing::error!(target: "batara::bft", height, %e, "cannot write the consensus WAL: not signing at this height");
                                self.wal_failed = true;
                                return None;
                            }
                        }
                        self.blocks.insert(hash, ex.block.clone());
                        self.executed.insert(hash, ex);
                        Some(Input::BlockBuilt {
                            height,
                            round,
                            block_hash: hash,
                        })
                    }
                    Err(e) => {
                        tracing::error!(target: "batara::bft", height, %e, "cannot build a block");
                        None
                    }
                }
            }
            Output::SignAndBroadcastProposal {
                height,
                round,
                pol_round,
                block_hash,
            } => {
                if self.wal_failed {
                    return None;
                }
                let block = self.blocks.get(&block_hash)?.clone();
                let proposal = match self
                    .guard
                    .as_mut()?
                    .sign_proposal(height, round, pol_round, block_hash)
                {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(target: "batara::bft", %e, "guard refused a proposal");
                        return None;
                    }
                };
                let m = ConsensusMsg::Proposal {
                    proposal: proposal.clone(),
                    block: Box::new(block),
                };
                if !self.log_own(&m) {
                    return None;
                }
                self.send_own(m);
                Some(Input::Proposal {
                    proposal,
                    block_valid: true,
                })
            }
            Output::SignAndBroadcastVote {
                kind,
                height,
                round,
                block_hash,
            } => {
                if self.wal_failed {
                    return None;
                }
                let vote = match self
                    .guard
                    .as_mut()?
                    .sign_vote(kind, height, round, block_hash)
                {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::error!(target: "batara::bft", %e, "guard refused a vote");
                        return None;
                    }
                };
                let m = ConsensusMsg::Vote(vote.clone());
                if !self.log_own(&m) {
                    return None;
                }
                self.send_own(m);
                Some(Input::Vote(vote))
            }
            Output::ScheduleTimeout {
                kind,
                height,
                round,
                duration,
            } => {
                self.timers.push(Reverse((
                    Instant::now() + duration,
                    kind_code(kind),
                    height,
                    round,
                )));
                None
            }
            Output::Decide {
                height,
                round,
                block_hash,
                commit,
            } => {
                let head = self.sink.chain().head().header.height;
                if head < height {
                    let ex = match self.executed.remove(&block_hash) {
                        Some(ex) => Some(ex),
                        None => self
                            .blocks
                            .get(&block_hash)
                            .and_then(|b| self.sink.chain().execute_block(b).ok()),
                    };
                    match ex {
                        Some(ex) => match self.sink.commit(ex, commit) {
                            Ok(cb) => {
                                tracing::info!(target: "batara::bft", height, round, txs = cb.block.txs.len(), hash = %block_hash, "committed")
                            }
                            // Block sync committed this height first: nothing lost.
                            Err(e) if self.sink.chain().head().header.height >= height => {
                                tracing::debug!(target: "batara::bft", height, %e, "decided block already committed by sync")
                            }
                            Err(e) => {
                                tracing::error!(target: "batara::bft", height, %e, "cannot commit the decided block")
                            }
                        },
                        None => {
                            tracing::warn!(target: "batara::bft", height, "decided a block this node does not have; block sync will fetch it")
                        }
                    }
                }
                self.timers.clear();
                self.start_at = Some(Instant::now() + self.timeouts.commit());
                None
            }
            Output::Evidence(e) => {
                self.send(&ConsensusMsg::Evidence(e.clone()));
                self.add_evidence(e);
                None
            }
        }
    }
}
