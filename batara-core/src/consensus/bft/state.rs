//! The Tendermint state machine of one node (Algorithm 1 of arXiv 1807.04938), sans I/O.
//!
//! Owns: the variables of Algorithm 1 for the current height (`round`, `step`, `lockedValue`,
//! `lockedRound`, `validValue`, `validRound`), the message log of that height (proposals and
//! signature-checked votes, by round), and the "for the first time" flags of its rules.
//!
//! Must never: count a vote whose signature it has not checked, count one validator twice toward
//! the same tally (a block's, or the total of a round and kind), or act on a message from outside
//! the validator set. Line numbers
//! in comments refer to Algorithm 1; see the module docs of `consensus::bft` for the host contract.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::proposer::{BftValidatorSet, ProposerSchedule};
use crate::types::{
    Address, Commit, CommitSig, DuplicateVoteEvidence, Hash, Proposal, PublicKey, Vote, VoteKind,
};

/// Most distinct proposals kept per round (the first one and conflicting ones of an
/// equivocating proposer).
pub const MAX_PROPOSALS_PER_ROUND: usize = 4;

/// Most distinct rounds above the current round in which one validator's messages are kept.
pub const FUTURE_ROUNDS_PER_VALIDATOR: usize = 4;

/// Proposals for rounds further ahead than this are dropped (finding their proposer costs one
/// schedule step per round).
pub const MAX_PROPOSAL_ROUNDS_AHEAD: u32 = 1_000;

/// Most distinct votes kept per validator, round and kind (one, plus conflicting ones of an
/// equivocator). A further conflicting vote is kept only for a block that already has more than
/// 1/3 of the power in that round and kind (so some correct validator voted for it).
pub const MAX_VOTES_PER_SLOT: usize = 3;

/// Most messages per validator kept for the next height until it starts. Only messages signed
/// by a validator of the current height (checked with its current key) are kept.
pub const MAX_BUFFERED_PER_VALIDATOR: usize = 32;

/// What a node's consensus holds in memory, by what a peer can make it keep
/// ([`crate::consensus::ConsensusEngine::footprint`]). Each count has a bound that does not grow
/// with what peers send (issue 10): the Byzantine tests check them while under attack, and the
/// metrics can export them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BftFootprint {
    /// The height being decided.
    pub height: u64,
    /// Its current round.
    pub round: u32,
    /// Rounds of the height with messages kept: at most `round + 1` plus
    /// [`FUTURE_ROUNDS_PER_VALIDATOR`] per validator.
    pub rounds: usize,
    /// Votes kept over those rounds: at most 2 kinds × [`MAX_VOTES_PER_SLOT`] per validator and
    /// round.
    pub votes: usize,
    /// Proposals kept: at most [`MAX_PROPOSALS_PER_ROUND`] per round.
    pub proposals: usize,
    /// Messages kept for the next height: at most [`MAX_BUFFERED_PER_VALIDATOR`] per validator.
    pub next_height_messages: usize,
    /// Blocks of the height held (proposed or built): at most [`MAX_PROPOSALS_PER_ROUND`] per
    /// round up to `round + 1`, and this node's own.
    pub blocks: usize,
    /// Their encoded size.
    pub block_bytes: u64,
    /// Of them, executed (with their state changes).
    pub executed: usize,
    /// Proposals with blocks kept for the next height: at most `NEXT_HEIGHT_PER_PROPOSER` per
    /// proposer.
    pub next_height_proposals: usize,
    /// Their blocks' encoded size: at most `NEXT_HEIGHT_BLOCKS` × `max_block_bytes`.
    pub next_height_bytes: u64,
    /// Evidence waiting for a block: at most `MAX_PENDING_EVIDENCE`, one per offender.
    pub evidence: usize,
}

/// Timeouts of a round, growing linearly with the round: `base + round × delta`. Defaults are
/// CometBFT's. In the node's TOML config, every field is optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BftTimeouts {
    /// Wait for the proposal of round 0, in ms.
    pub propose_ms: u64,
    /// Added to the propose timeout per round, in ms.
    pub propose_delta_ms: u64,
    /// Wait after more than 2/3 of prevotes of any kind, in ms.
    pub prevote_ms: u64,
    /// Added to the prevote timeout per round, in ms.
    pub prevote_delta_ms: u64,
    /// Wait after more than 2/3 of precommits of any kind, in ms.
    pub precommit_ms: u64,
    /// Added to the precommit timeout per round, in ms.
    pub precommit_delta_ms: u64,
    /// Wait after a decision before starting the next height (host side), in ms.
    pub commit_ms: u64,
}

impl Default for BftTimeouts {
    fn default() -> Self {
        Self {
            propose_ms: 3_000,
            propose_delta_ms: 500,
            prevote_ms: 1_000,
            prevote_delta_ms: 500,
            precommit_ms: 1_000,
            precommit_delta_ms: 500,
            commit_ms: 1_000,
        }
    }
}

impl BftTimeouts {
    /// The timeout of `kind` in `round`.
    pub fn duration(&self, kind: TimeoutKind, round: u32) -> Duration {
        let (base, delta) = match kind {
            TimeoutKind::Propose => (self.propose_ms, self.propose_delta_ms),
            TimeoutKind::Prevote => (self.prevote_ms, self.prevote_delta_ms),
            TimeoutKind::Precommit => (self.precommit_ms, self.precommit_delta_ms),
        };
        Duration::from_millis(base.saturating_add(delta.saturating_mul(u64::from(round))))
    }

    /// How long the host waits after a decision before starting the next height.
    pub fn commit(&self) -> Duration {
        Duration::from_millis(self.commit_ms)
    }
}

/// The three timeouts of Algorithm 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeoutKind {
    /// No usable proposal in time: prevote nil (line 57).
    Propose,
    /// More than 2/3 prevotes but none for one block in time: precommit nil (line 61).
    Prevote,
    /// More than 2/3 precommits but no decision in time: next round (line 65).
    Precommit,
}

/// The step within a round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Waiting for the proposal.
    #[default]
    Propose,
    /// Prevoted.
    Prevote,
    /// Precommitted.
    Precommit,
}

/// Fixed parameters of a node's state machine.
#[derive(Clone, Debug)]
pub struct BftParams {
    /// The chain id every signature covers.
    pub chain_id: String,
    /// This node's validator address; `None` for a node that follows consensus without voting.
    pub address: Option<Address>,
    /// Timeouts.
    pub timeouts: BftTimeouts,
}

/// Everything that reaches the state machine.
#[derive(Clone, Debug)]
pub enum Input {
    /// Start consensus on `height` (above any height started before) with these validators.
    StartHeight {
        /// The height.
        height: u64,
        /// Its validators and proposer schedule.
        validators: BftValidatorSet,
    },
    /// Start `height` again after a restart, where this node had got to before it (what its
    /// consensus WAL recovered): with its lock and valid value, in the round and step of the last
    /// message it signed. The host then feeds that height's own signed messages back in.
    ResumeHeight {
        /// The height.
        height: u64,
        /// Its validators and proposer schedule.
        validators: BftValidatorSet,
        /// Where this node was.
        resume: Resume,
    },
    /// The block asked for by [`Output::BuildBlock`] is ready.
    BlockBuilt {
        /// Height asked for.
        height: u64,
        /// Round asked for.
        round: u32,
        /// Hash of the built block.
        block_hash: Hash,
    },
    /// A proposal (from a peer, or this node's own one fed back) and the host's verdict on the
    /// block that came with it.
    Proposal {
        /// The signed proposal.
        proposal: Proposal,
        /// True when the block is valid (Algorithm 1's `valid(v)`).
        block_valid: bool,
    },
    /// A vote (from a peer, or this node's own one fed back).
    Vote(Vote),
    /// A timeout asked for by [`Output::ScheduleTimeout`] expired.
    Timeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// Its height.
        height: u64,
        /// Its round.
        round: u32,
    },
}

/// Where a node was in a height when it stopped: enough to keep Algorithm 1's promises across a
/// restart (a validator that precommitted a block stays locked on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resume {
    /// `(lockedValue, lockedRound)`.
    pub locked: Option<(Hash, u32)>,
    /// `(validValue, validRound)`.
    pub valid: Option<(Hash, u32)>,
    /// The round of the last message this node signed at the height.
    pub round: u32,
    /// The step that message put it in ([`Step::Propose`] after its own proposal).
    pub step: Step,
    /// It had signed its proposal of `round` (so it must not build another).
    pub proposed: bool,
}

/// What the host must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// This node proposes and has no valid value: build a block, answer [`Input::BlockBuilt`].
    BuildBlock {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
    },
    /// Sign (through the guard) and broadcast a proposal, then feed it back.
    SignAndBroadcastProposal {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// The round of the prevotes that made the block valid, for a re-proposal.
        pol_round: Option<u32>,
        /// The proposed block.
        block_hash: Hash,
    },
    /// Sign (through the guard) and broadcast a vote, then feed it back.
    SignAndBroadcastVote {
        /// Prevote or precommit.
        kind: VoteKind,
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// The block, or `None` for nil.
        block_hash: Option<Hash>,
    },
    /// Deliver [`Input::Timeout`] after `duration`.
    ScheduleTimeout {
        /// Which timeout.
        kind: TimeoutKind,
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// How long to wait.
        duration: Duration,
    },
    /// The height is decided: commit this block with this commit.
    Decide {
        /// Height.
        height: u64,
        /// Round of the deciding precommits.
        round: u32,
        /// The decided block.
        block_hash: Hash,
        /// Precommits of more than 2/3 of the power for it, in validator-set order.
        commit: Commit,
    },
    /// A validator signed two different votes for one height, round and kind.
    Evidence(DuplicateVoteEvidence),
}

/// The votes of one kind in one round. A validator's power counts at most once in the total
/// (rules "2f+1 of any kind", lines 34 and 47) and at most once per block (the paper counts
/// messages from distinct senders for each value), so an equivocator is never counted twice for
/// the same thing.
#[derive(Default, Debug)]
struct VoteSet {
    /// Each validator's votes, first received first; more than one only for an equivocator.
    votes: BTreeMap<Address, Vec<Vote>>,
    power_by_block: BTreeMap<Option<Hash>, u64>,
    power: u64,
}

impl VoteSet {
    fn power_for(&self, block: &Option<Hash>) -> u64 {
        self.power_by_block.get(block).copied().unwrap_or(0)
    }
}

/// The message log of one round and the "for the first time" flags of its rules.
#[derive(Default, Debug)]
struct RoundLog {
    /// Accepted proposals with the host's verdict, in arrival order.
    proposals: Vec<(Proposal, bool)>,
    prevotes: VoteSet,
    precommits: VoteSet,
    /// Validators with any accepted message in this round, and their power (line 55).
    senders: BTreeSet<Address>,
    sender_power: u64,
    prevote_timeout_scheduled: bool,
    precommit_timeout_scheduled: bool,
    /// Line 36 fired in this round.
    locked_or_updated_valid: bool,
}

impl RoundLog {
    fn votes(&self, kind: VoteKind) -> &VoteSet {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
    fn votes_mut(&mut self, kind: VoteKind) -> &mut VoteSet {
        match kind {
            VoteKind::Prevote => &mut self.prevotes,
            VoteKind::Precommit => &mut self.precommits,
        }
    }
}

/// Consensus on one height.
#[derive(Debug)]
struct HeightState {
    height: u64,
    set: BftValidatorSet,
    total: u64,
    round: u32,
    step: Step,
    locked: Option<(Hash, u32)>,
    valid: Option<(Hash, u32)>,
    decided: bool,
    rounds: BTreeMap<u32, RoundLog>,
    /// Verdicts on the blocks of accepted proposals.
    blocks: BTreeMap<Hash, bool>,
    /// Rounds in which each validator has accepted messages.
    message_rounds: BTreeMap<Address, BTreeSet<u32>>,
    /// Proposer of rounds `0..proposers.len()`; `cursor` is the schedule at the last of them.
    proposers: Vec<Address>,
    cursor: ProposerSchedule,
    /// The round for which [`Output::BuildBlock`] was emitted and no block came yet.
    awaiting_block: Option<u32>,
}

/// More than 2/3 of `total`.
fn two_thirds(power: u64, total: u64) -> bool {
    u128::from(power) * 3 > u128::from(total) * 2
}

/// More than 1/3 of `total`.
fn one_third(power: u64, total: u64) -> bool {
    u128::from(power) * 3 > u128::from(total)
}

impl HeightState {
    fn power_of(&self, a: &Address) -> u64 {
        self.set.get(a).map_or(0, |v| v.power)
    }

    fn proposer(&mut self, round: u32) -> Address {
        while self.proposers.len() <= round as usize {
            self.cursor.increment(1);
            self.proposers.push(self.cursor.proposer());
        }
        self.proposers[round as usize]
    }

    /// Whether a message of `validator` for `round` may be stored (bounds future rounds).
    fn admits_round(&self, validator: &Address, round: u32) -> bool {
        if round <= self.round {
            return true;
        }
        match self.message_rounds.get(validator) {
            None => true,
            Some(rs) => {
                rs.contains(&round)
                    || rs.range(self.round.saturating_add(1)..).count()
                        < FUTURE_ROUNDS_PER_VALIDATOR
            }
        }
    }

    fn note_sender(&mut self, validator: Address, round: u32) {
        let power = self.power_of(&validator);
        let log = self.rounds.entry(round).or_default();
        if log.senders.insert(validator) {
            log.sender_power += power;
        }
        self.message_rounds
            .entry(validator)
            .or_default()
            .insert(round);
    }

    fn log(&self, round: u32) -> Option<&RoundLog> {
        self.rounds.get(&round)
    }

    fn prevote_power(&self, round: u32, block: &Option<Hash>) -> u64 {
        self.log(round).map_or(0, |l| l.prevotes.power_for(block))
    }
}

/// One node's Tendermint state machine. See the module docs of `consensus::bft`.
#[derive(Debug)]
pub struct BftState {
    params: BftParams,
    h: Option<HeightState>,
    /// Proposals and votes for the height after the current one, and how many per signer.
    next_height: Vec<Input>,
    buffered_by: BTreeMap<Address, usize>,
}

impl BftState {
    /// A state machine that waits for [`Input::StartHeight`].
    pub fn new(params: BftParams) -> Self {
        Self {
            params,
            h: None,
            next_height: Vec::new(),
            buffered_by: BTreeMap::new(),
        }
    }

    /// The current height, once one has started.
    pub fn height(&self) -> Option<u64> {
        self.h.as_ref().map(|h| h.height)
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.h.as_ref().map_or(0, |h| h.round)
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.h.as_ref().map_or(Step::Propose, |h| h.step)
    }

    /// `(lockedValue, lockedRound)`, when locked.
    pub fn locked(&self) -> Option<(Hash, u32)> {
        self.h.as_ref().and_then(|h| h.locked)
    }

    /// `(validValue, validRound)`, when set.
    pub fn valid_value(&self) -> Option<(Hash, u32)> {
        self.h.as_ref().and_then(|h| h.valid)
    }

    /// True when the current height is decided (and the next has not started).
    pub fn is_decided(&self) -> bool {
        self.h.as_ref().is_some_and(|h| h.decided)
    }

    /// The parameters.
    pub fn params(&self) -> &BftParams {
        &self.params
    }

    /// What this state machine holds, counted by the things a peer can make it keep (the
    /// engine's own parts of the footprint are zero here).
    pub fn footprint(&self) -> BftFootprint {
        let mut f = BftFootprint {
            next_height_messages: self.next_height.len(),
            ..BftFootprint::default()
        };
        if let Some(h) = &self.h {
            f.height = h.height;
            f.round = h.round;
            f.rounds = h.rounds.len();
            for r in h.rounds.values() {
                f.proposals += r.proposals.len();
                f.votes += [&r.prevotes, &r.precommits]
                    .iter()
                    .map(|s| s.votes.values().map(Vec::len).sum::<usize>())
                    .sum::<usize>();
            }
        }
        f
    }

    /// Feeds one input; returns what the host must do, in order.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.handle_into(input, &mut out);
        out
    }

    fn handle_into(&mut self, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::StartHeight { height, validators } => {
                self.start_height(height, validators, None, out);
                return;
            }
            Input::ResumeHeight {
                height,
                validators,
                resume,
            } => {
                self.start_height(height, validators, Some(resume), out);
                return;
            }
            Input::BlockBuilt {
                height,
                round,
                block_hash,
            } => self.on_block_built(height, round, block_hash, out),
            Input::Proposal {
                proposal,
                block_valid,
            } => self.on_proposal(proposal, block_valid),
            Input::Vote(vote) => self.on_vote(vote, out),
            Input::Timeout {
                kind,
                height,
                round,
            } => self.on_timeout(kind, height, round, out),
        }
        self.run_rules(out);
    }

    fn start_height(
        &mut self,
        height: u64,
        set: BftValidatorSet,
        resume: Option<Resume>,
        out: &mut Vec<Output>,
    ) {
        if self.h.as_ref().is_some_and(|h| height <= h.height) {
            tracing::warn!(target: "batara::consensus::bft", height, current = self.height(), "StartHeight for a height already started; ignored");
            return;
        }
        let cursor = set.schedule().clone();
        let total = set.total_power();
        self.h = Some(HeightState {
            height,
            total,
            round: 0,
            step: Step::Propose,
            locked: resume.and_then(|r| r.locked),
            valid: resume.and_then(|r| r.valid),
            decided: false,
            rounds: BTreeMap::new(),
            blocks: BTreeMap::new(),
            message_rounds: BTreeMap::new(),
            proposers: vec![cursor.proposer()],
            cursor,
            awaiting_block: None,
            set,
        });
        match resume {
            Some(r) if r.step != Step::Propose || r.proposed => {
                // Already past the start of that round: no second proposal, no new timeouts for
                // steps already taken (the rules schedule the prevote and precommit ones).
                if let Some(h) = self.h.as_mut() {
                    h.round = r.round;
                    h.step = r.step;
                }
                if r.step == Step::Propose {
                    self.schedule(TimeoutKind::Propose, out);
                }
            }
            Some(r) => self.start_round(r.round, out),
            None => self.start_round(0, out),
        }
        self.run_rules(out);
        // Replay what arrived early for this height; drop what is for another.
        self.buffered_by.clear();
        for input in std::mem::take(&mut self.next_height) {
            let h = match &input {
                Input::Proposal { proposal, .. } => proposal.height,
                Input::Vote(v) => v.height,
                _ => continue,
            };
            if h == height {
                self.handle_into(input, out);
            }
        }
    }

    /// True when the message is for the current, undecided height. A message for the next
    /// height is buffered when its signer is a validator now and `verify` accepts its
    /// signature under the current key (sets rarely change between heights; a new validator's
    /// early messages are dropped and re-gossiped).
    fn for_current_height(
        &mut self,
        height: u64,
        signer: Address,
        verify: impl FnOnce(&str, &PublicKey) -> bool,
        input: impl FnOnce() -> Input,
    ) -> bool {
        let Some(h) = self.h.as_ref() else {
            return false;
        };
        if height == h.height.saturating_add(1) {
            let count = self.buffered_by.get(&signer).copied().unwrap_or(0);
            if count < MAX_BUFFERED_PER_VALIDATOR
                && h.set
                    .get(&signer)
                    .is_some_and(|v| verify(&self.params.chain_id, &v.pubkey))
            {
                self.buffered_by.insert(signer, count + 1);
                self.next_height.push(input());
            }
            return false;
        }
        height == h.height && !h.decided
    }

    fn on_vote(&mut self, vote: Vote, out: &mut Vec<Output>) {
        let current = self.for_current_height(
            vote.height,
            vote.validator,
            |chain, pk| vote.verify(chain, pk).is_ok(),
            || Input::Vote(vote.clone()),
        );
        if !current {
            return;
        }
        let chain_id = &self.params.chain_id;
        let Some(h) = self.h.as_mut() else { return };
        let Some(pubkey) = h.set.get(&vote.validator).map(|v| v.pubkey) else {
            return;
        };
        if !h.admits_round(&vote.validator, vote.round) {
            return;
        }
        let total = h.total;
        let (validator, round, kind) = (vote.validator, vote.round, vote.kind);
        let empty = Vec::new();
        let set = h.log(round).map(|l| l.votes(kind));
        let mine = set.and_then(|s| s.votes.get(&validator)).unwrap_or(&empty);
        // The same content again (even with another valid signature) is not news.
        if mine.iter().any(|v| v.block_hash == vote.block_hash) {
            return;
        }
        if mine.len() >= MAX_VOTES_PER_SLOT
            && !set.is_some_and(|s| one_third(s.power_for(&vote.block_hash), total))
        {
            return;
        }
        let first = mine.first().cloned();
        if vote.verify(chain_id, &pubkey).is_err() {
            return;
        }
        let power = h.power_of(&validator);
        let set = h.rounds.entry(round).or_default().votes_mut(kind);
        *set.power_by_block.entry(vote.block_hash).or_insert(0) += power;
        let mine = set.votes.entry(validator).or_default();
        mine.push(vote.clone());
        let conflicts = mine.len();
        if conflicts == 1 {
            set.power += power;
        }
        h.note_sender(validator, round);
        if let (Some(first), 2) = (first, conflicts) {
            tracing::warn!(target: "batara::consensus::bft", validator = %validator, height = vote.height, round, ?kind, "duplicate vote");
            out.push(Output::Evidence(DuplicateVoteEvidence::new(first, vote)));
        }
    }

    fn on_proposal(&mut self, p: Proposal, block_valid: bool) {
        let input = || Input::Proposal {
            proposal: p.clone(),
            block_valid,
        };
        let current = self.for_current_height(
            p.height,
            p.proposer,
            |chain, pk| p.verify(chain, pk).is_ok(),
            input,
        );
        if !current {
            return;
        }
        let chain_id = &self.params.chain_id;
        let Some(h) = self.h.as_mut() else { return };
        if p.round > h.round.saturating_add(MAX_PROPOSAL_ROUNDS_AHEAD)
            || p.pol_round.is_some_and(|vr| vr >= p.round)
            || h.proposer(p.round) != p.proposer
            || !h.admits_round(&p.proposer, p.round)
        {
            return;
        }
        if let Some(log) = h.log(p.round) {
            if log.proposals.iter().any(|(q, _)| *q == p)
                || log.proposals.len() >= MAX_PROPOSALS_PER_ROUND
            {
                return;
            }
        }
        let Some(pubkey) = h.set.get(&p.proposer).map(|v| v.pubkey) else {
            return;
        };
        if p.verify(chain_id, &pubkey).is_err() {
            return;
        }
        h.blocks.entry(p.block_hash).or_insert(block_valid);
        let (proposer, round) = (p.proposer, p.round);
        h.rounds
            .entry(round)
            .or_default()
            .proposals
            .push((p, block_valid));
        h.note_sender(proposer, round);
    }

    fn on_block_built(&mut self, height: u64, round: u32, block_hash: Hash, out: &mut Vec<Output>) {
        let Some(h) = self.h.as_mut() else { return };
        if h.height != height
            || h.round != round
            || h.decided
            || h.step != Step::Propose
            || h.awaiting_block != Some(round)
        {
            return;
        }
        h.awaiting_block = None;
        out.push(Output::SignAndBroadcastProposal {
            height,
            round,
            pol_round: None,
            block_hash,
        });
    }

    /// Lines 57–65.
    fn on_timeout(&mut self, kind: TimeoutKind, height: u64, round: u32, out: &mut Vec<Output>) {
        let Some(h) = self.h.as_ref() else { return };
        if h.height != height || h.round != round || h.decided {
            return;
        }
        match (kind, h.step) {
            (TimeoutKind::Propose, Step::Propose) => {
                self.vote(VoteKind::Prevote, None, out);
                self.set_step(Step::Prevote);
            }
            (TimeoutKind::Prevote, Step::Prevote) => {
                self.vote(VoteKind::Precommit, None, out);
                self.set_step(Step::Precommit);
            }
            (TimeoutKind::Precommit, _) => self.start_round(round.saturating_add(1), out),
            _ => {}
        }
    }

    fn set_step(&mut self, step: Step) {
        if let Some(h) = self.h.as_mut() {
            h.step = step;
        }
    }

    /// Asks the host to sign and broadcast a vote of this node for the current height and round
    /// (nothing when this node is not a validator of the height).
    fn vote(&self, kind: VoteKind, block_hash: Option<Hash>, out: &mut Vec<Output>) {
        let Some(h) = self.h.as_ref() else { return };
        if self.params.address.is_some_and(|a| h.set.get(&a).is_some()) {
            out.push(Output::SignAndBroadcastVote {
                kind,
                height: h.height,
                round: h.round,
                block_hash,
            });
        }
    }

    fn schedule(&self, kind: TimeoutKind, out: &mut Vec<Output>) {
        let Some(h) = self.h.as_ref() else { return };
        out.push(Output::ScheduleTimeout {
            kind,
            height: h.height,
            round: h.round,
            duration: self.params.timeouts.duration(kind, h.round),
        });
    }

    /// StartRound (lines 11–21).
    fn start_round(&mut self, round: u32, out: &mut Vec<Output>) {
        let me = self.params.address;
        let Some(h) = self.h.as_mut() else { return };
        h.round = round;
        h.step = Step::Propose;
        h.awaiting_block = None;
        if me.is_some_and(|a| h.proposer(round) == a) {
            match h.valid {
                Some((block_hash, valid_round)) => out.push(Output::SignAndBroadcastProposal {
                    height: h.height,
                    round,
                    pol_round: Some(valid_round),
                    block_hash,
                }),
                None => {
                    h.awaiting_block = Some(round);
                    out.push(Output::BuildBlock {
                        height: h.height,
                        round,
                    });
                }
            }
        }
        self.schedule(TimeoutKind::Propose, out);
    }

    /// Applies the upon-rules until none fires.
    fn run_rules(&mut self, out: &mut Vec<Output>) {
        while self.apply_one_rule(out) {}
    }

    /// Fires one applicable rule; false when none applies.
    fn apply_one_rule(&mut self, out: &mut Vec<Output>) -> bool {
        let Some(h) = self.h.as_ref() else {
            return false;
        };
        if h.decided {
            return false;
        }
        let (round, total) = (h.round, h.total);

        // Line 49: a proposal of any round carrying v, valid(v), and 2f+1 precommits for id(v)
        // in some round r.
        let decision = h.rounds.iter().find_map(|(r, log)| {
            log.precommits
                .power_by_block
                .iter()
                .find(|(b, p)| {
                    two_thirds(**p, total)
                        && b.is_some_and(|b| h.blocks.get(&b).copied() == Some(true))
                })
                .and_then(|(b, _)| b.map(|b| (*r, b)))
        });
        if let Some((r, block_hash)) = decision {
            self.decide(r, block_hash, out);
            return false;
        }

        // Line 55: f+1 of the power sent messages for a higher round: go to the highest such.
        let skip = h
            .rounds
            .range(round.saturating_add(1)..)
            .rev()
            .find(|(_, log)| one_third(log.sender_power, total))
            .map(|(r, _)| *r);
        if let Some(r) = skip {
            self.start_round(r, out);
            return true;
        }

        let log = h.log(round);
        let proposals = log.map_or(&[][..], |l| &l.proposals[..]);

        if h.step == Step::Propose {
            // Line 22: a fresh proposal. Line 28: a re-proposal with 2f+1 prevotes for it in
            // its pol_round (vr < round is checked on arrival).
            let prevote = proposals.iter().find_map(|(p, valid)| match p.pol_round {
                None => {
                    let ok = *valid && h.locked.is_none_or(|(l, _)| l == p.block_hash);
                    Some(ok.then_some(p.block_hash))
                }
                Some(vr) if two_thirds(h.prevote_power(vr, &Some(p.block_hash)), total) => {
                    let ok = *valid && h.locked.is_none_or(|(l, lr)| lr <= vr || l == p.block_hash);
                    Some(ok.then_some(p.block_hash))
                }
                Some(_) => None,
            });
            if let Some(block) = prevote {
                self.vote(VoteKind::Prevote, block, out);
                self.set_step(Step::Prevote);
                return true;
            }
        }

        if h.step >= Step::Prevote && !log.is_some_and(|l| l.locked_or_updated_valid) {
            // Line 36: the proposal of this round, valid, with 2f+1 prevotes for it.
            let locked = proposals.iter().find(|(p, valid)| {
                *valid && two_thirds(h.prevote_power(round, &Some(p.block_hash)), total)
            });
            if let Some((p, _)) = locked {
                let block_hash = p.block_hash;
                let step = h.step;
                if step == Step::Prevote {
                    self.vote(VoteKind::Precommit, Some(block_hash), out);
                }
                let Some(h) = self.h.as_mut() else {
                    return false;
                };
                if step == Step::Prevote {
                    h.locked = Some((block_hash, round));
                    h.step = Step::Precommit;
                }
                h.valid = Some((block_hash, round));
                h.rounds.entry(round).or_default().locked_or_updated_valid = true;
                return true;
            }
        }

        if h.step == Step::Prevote {
            // Line 44: 2f+1 prevotes for nil.
            if two_thirds(h.prevote_power(round, &None), total) {
                self.vote(VoteKind::Precommit, None, out);
                self.set_step(Step::Precommit);
                return true;
            }
            // Line 34: 2f+1 prevotes of any kind, for the first time.
            if let Some(l) = log {
                if !l.prevote_timeout_scheduled && two_thirds(l.prevotes.power, total) {
                    self.schedule(TimeoutKind::Prevote, out);
                    if let Some(l) = self.h.as_mut().and_then(|h| h.rounds.get_mut(&round)) {
                        l.prevote_timeout_scheduled = true;
                    }
                    return true;
                }
            }
        }

        // Line 47: 2f+1 precommits of any kind, for the first time.
        if let Some(l) = log {
            if !l.precommit_timeout_scheduled && two_thirds(l.precommits.power, total) {
                self.schedule(TimeoutKind::Precommit, out);
                if let Some(l) = self.h.as_mut().and_then(|h| h.rounds.get_mut(&round)) {
                    l.precommit_timeout_scheduled = true;
                }
                return true;
            }
        }
        false
    }

    fn decide(&mut self, round: u32, block_hash: Hash, out: &mut Vec<Output>) {
        let Some(h) = self.h.as_mut() else { return };
        h.decided = true;
        let precommits = h.log(round).map(|l| &l.precommits.votes);
        let signatures = h
            .set
            .validators()
            .iter()
            .filter_map(|v| precommits.and_then(|p| p.get(&v.address)))
            .filter_map(|votes| votes.iter().find(|v| v.block_hash == Some(block_hash)))
            .map(|v| CommitSig {
                validator: v.validator,
                signature: v.signature,
            })
            .collect();
        tracing::debug!(target: "batara::consensus::bft", height = h.height, round, %block_hash, "decided");
        out.push(Output::Decide {
            height: h.height,
            round,
            block_hash,
            commit: Commit {
                height: h.height,
                round,
                block_hash,
                signatures,
            },
        });
    }
}
