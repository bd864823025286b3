//! The multi-validator BFT consensus logic: Tendermint ("The latest gossip on BFT consensus",
//! Buchman, Kwon, Milosevic 2018, arXiv 1807.04938, Algorithm 1) as a pure state machine, and
//! CometBFT's proposer selection.
//!
//! Owns: [`BftState`] (one node's view of the consensus of one height at a time: rounds, steps,
//! lock and valid value, the votes and proposals it has seen, equivocation detection),
//! [`ProposerSchedule`] and [`BftValidatorSet`] (who proposes which round), and [`BftTimeouts`].
//!
//! Must never: do I/O, read a clock, spawn a thread, touch a key, or decide a block without
//! precommits of more than 2/3 of the voting power for it. Everything that reaches the outside goes
//! out as an [`Output`] for the host to carry out; everything from the outside (peers, the
//! application, timers) comes in as an [`Input`]. Given the same inputs in the same order, every
//! instance produces the same outputs (no hash-map iteration, no randomness), which is what makes
//! the network tests deterministic.
//!
//! # The host contract
//! The host (the future `BftEngine`, or the tests' in-process network) runs one [`BftState`] per
//! node and:
//! 1. starts each height with [`Input::StartHeight`] (the validator set of the height, built with
//!    [`BftValidatorSet::new`] at the first height and [`BftValidatorSet::next`] after that);
//! 2. carries out outputs, in order:
//!    * [`Output::BuildBlock`]: builds a block for the height and answers [`Input::BlockBuilt`];
//!    * [`Output::SignAndBroadcastProposal`] / [`Output::SignAndBroadcastVote`]: signs through the
//!      double-sign guard ([`crate::validator::guard::SignGuard`]), broadcasts the message (a
//!      proposal with its block), **and feeds the signed message back** to the same state machine
//!      as [`Input::Proposal`] (with `block_valid: true`) or [`Input::Vote`]. The machine counts its
//!      own votes only through that path, as every other vote; if the guard refuses, nothing is
//!      broadcast or fed back;
//!    * [`Output::ScheduleTimeout`]: after `duration`, delivers [`Input::Timeout`] with the same
//!      kind, height and round (stale timeouts are ignored, so they need not be cancelled);
//!    * [`Output::Decide`]: commits the block with the given [`crate::types::Commit`] (it verifies
//!      with `Chain::verify_commit`), waits [`BftTimeouts::commit`] to collect more transactions,
//!      then starts the next height;
//!    * [`Output::Evidence`]: gossips the evidence and puts it in a later block;
//! 3. delivers every proposal (with its verdict: did the block that came with it execute
//!    correctly on top of the current head?) and every vote it receives from peers, and gossips
//!    what it accepts, so that a message one correct node received reaches all of them — the
//!    paper's gossip assumption, on which termination rests.
//!
//! # Choices the paper leaves open
//! * Validity (`valid(v)`) comes with each proposal as `block_valid`, from the host; the machine
//!   works on block hashes only. The block of a proposal is remembered by hash, and the decision
//!   rule (line 49) uses any accepted proposal carrying the block, from any round: the proposal's
//!   only role there is to deliver `v`, and a block is identified by its hash.
//! * A proposal that conflicts with the first one of its round (an equivocating proposer) is kept
//!   too, up to [`MAX_PROPOSALS_PER_ROUND`], so a node that saw the wrong one first can still
//!   lock on and decide the block the others prevoted (lines 36 and 49).
//! * Messages for the next height are buffered (when signed by a current validator, up to
//!   [`MAX_BUFFERED_PER_VALIDATOR`] each) and replayed when that height starts: fast nodes move on before slow ones decide, and their round-0
//!   proposal would otherwise be lost. Messages for any other height are dropped.
//! * Votes are counted as the paper counts messages: per block, from distinct validators. A
//!   validator that signs two different votes for one round and kind (reported once as
//!   [`Output::Evidence`]) counts once toward each of the blocks it voted for, and once toward the
//!   "any kind" totals (lines 34, 47) — never twice toward the same tally. Counting only its first
//!   vote would be simpler but not live: a node that saw the equivocator's other vote first can
//!   never see the polka the others locked on, so its lock and theirs never reconcile (the
//!   network tests found exactly this livelock). Safety is the paper's quorum intersection: two
//!   conflicting 2f+1 quorums would need more than 1/3 of the power to equivocate.
//! * Memory is bounded against Byzantine validators: at most [`MAX_VOTES_PER_SLOT`] votes per
//!   validator, round and kind (a further conflicting one only for a block that already has more
//!   than 1/3 of the power there, i.e. that some correct validator voted for), at most
//!   [`FUTURE_ROUNDS_PER_VALIDATOR`] distinct rounds above the current one per validator, and no
//!   proposals more than [`MAX_PROPOSAL_ROUNDS_AHEAD`] rounds ahead. Gossip re-delivers what
//!   was dropped once the node gets there. (CometBFT's `VoteSetMaj23` claims, which let a peer
//!   point at the one conflicting vote that matters, belong to the p2p wiring.)
//! * The proposer of a round also schedules the propose timeout (as CometBFT does); the paper
//!   schedules it only at the other nodes. It only matters when the host fails to build a block.

mod engine;
mod proposer;
mod state;
#[cfg(test)]
mod tests;
pub mod wal;

pub use engine::{
    BftEngine, BftSetup, BftStartError, ConsensusMsg, Outbox, MAX_PENDING_EVIDENCE, MAX_ROUND,
    NEXT_HEIGHT_BLOCKS, NEXT_HEIGHT_PER_PROPOSER,
};
pub use proposer::{
    BftValidatorSet, ProposerSchedule, ValidatorSetError, PRIORITY_WINDOW_SIZE_FACTOR,
};
pub use state::{
    BftFootprint, BftParams, BftState, BftTimeouts, Input, Output, Resume, Step, TimeoutKind,
    FUTURE_ROUNDS_PER_VALIDATOR, MAX_BUFFERED_PER_VALIDATOR, MAX_PROPOSALS_PER_ROUND,
    MAX_PROPOSAL_ROUNDS_AHEAD, MAX_VOTES_PER_SLOT,
};
