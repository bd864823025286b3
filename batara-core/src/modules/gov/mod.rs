//! Governance: proposals that change parameters, upgrade the chain or spend the community pool,
//! decided by a vote of bonded stake. Anchor: Cosmos SDK x/gov v1 (its defaults, below); what
//! differs is said here.
//!
//! Owns:
//! * Transactions `propose`, `deposit`, `vote`, `cancel_proposal`, and the `gov/…` keys:
//!   `gov/p/<id>` the proposal, `gov/st/<status><id>` an index by status, `gov/dep/<id><depositor>`
//!   deposits, `gov/vote/<id><voter>` votes, `gov/dq/<end><id>` and `gov/vq/<end><id>` the
//!   deposit and voting queues by end time.
//! * Deposits are held by the escrow account [`escrow_address`] (no key can sign for it). A
//!   proposal needs `min_deposit` (`expedited_min_deposit` if expedited) within
//!   `max_deposit_period_ms`; its first deposit must be at least `min_initial_deposit_ratio_ppm`
//!   of that (the anti-spam rule the Cosmos Hub added), and every later one at least
//!   `min_deposit_ratio_ppm`. Deposits are refunded when the proposal passes, is rejected, fails
//!   or misses its deposit (unless `burn_proposal_deposit_prevote`), and burned when vetoed
//!   (`burn_vote_veto`) or, with `burn_vote_quorum`, when quorum is missed. Cancelling (the
//!   proposer, before the vote ends) burns `proposal_cancel_ratio_ppm` of every deposit and
//!   refunds the rest.
//! * Votes: yes, no, abstain, veto, or a weighted split of them (weights in ppm summing to
//!   1,000,000), changeable until the vote ends. An account with nothing bonded to the set and
//!   no validator in it may not vote (its vote would count nothing and cost every tally).
//! * The tally ([`tally`]) at the end of the voting period, with stake as it is then: a
//!   validator votes with all its stake, except the part of delegators who voted themselves.
//!   Quorum (of bonded stake, reached when equal), veto (of all votes, strictly over), threshold
//!   (yes over non-abstaining votes, strictly over). Expedited proposals vote for
//!   `expedited_voting_period_ms` against `expedited_threshold_ppm`; one that does not pass
//!   becomes a regular proposal whose vote ends `voting_period_ms` after it began (its votes
//!   stay).
//! * Statuses: `deposit_period`, `voting_period`, `passed`, `rejected`, `failed` (passed but its
//!   execution failed: the error is kept in `result`, nothing of it applied), `canceled`. Every
//!   change emits a `proposal_status` event (in the block's events when an end of period makes
//!   it). Finished proposals, their deposits and votes stay in state, so queries can show them
//!   (x/gov deletes them).
//! * Execution, when a proposal passes: a parameter change merges each change's JSON object
//!   into the parameters in force and hands the result to their owner ([`Governed`]: `chain`,
//!   `staking`, `vm`, `gov`), all or nothing; an upgrade schedules the runtime's plan (every
//!   node stops at its height, see `runtime::params`); a spend pays from the community pool
//!   ([`Stake`]). Two fields stay fixed at genesis because something built at start depends on
//!   them: `staking.min_self_stake` (the power index) and `vm.max_recursion_depth` (the wasmi
//!   engine's stack); changing either is a software upgrade.
//!
//! Periods are in block time (ms), as in x/gov; an end is acted on by the first block whose time
//! reaches it. Dev chains can skip to it (`dev_skipTo`).
//!
//! Defaults (x/gov v1 with a coin of 10¹⁸ units for x/gov's 10⁶): `min_deposit` 10 coins,
//! `expedited_min_deposit` 50, deposit period 2 days, voting period 2 days, expedited 1 day,
//! quorum 33.4 %, threshold 50 %, veto 33.4 %, expedited threshold 66.7 %, `min_deposit_ratio`
//! 1 %, cancel ratio 50 %, burn on veto. `min_initial_deposit_ratio` is 25 % (the Cosmos Hub's
//! value; x/gov's default of 0 leaves the spam rule off).
//!
//! Must never: name another module (stake and the pool come through [`Stake`], parameters
//! through [`Governed`]); let a proposal's execution half-apply; count a unit of stake twice.
//!
//! Keeps: the escrow's balance covers every deposit not yet refunded or burned.

pub mod tally;

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::crypto;
use crate::modules::math::{mul_div_up, ppm_of, PPM};
use crate::modules::store::{address_at, credit, debit, enc, get, key, u64_at as id_at};
use crate::runtime::params::{current_params, schedule_upgrade, set_checked};
use crate::runtime::params::{ObjectRead, UpgradePlan};
use crate::runtime::{prefix_end, BlockInfo, Governed, Module, Stake, TxContext, TxFailure};
use crate::state::StateError;
use crate::storage::decode;
use crate::types::{
    dec_u128, dec_u64, Address, Amount, ProposalContent, SignedTransaction, TxKind, WeightedVote,
};

use tally::{decide, percent, Ballot, Outcome, Tally, Thresholds};

/// Name of the governance parameters in proposals and `prm/`.
pub const PARAMS_NAME: &str = "gov";

/// One coin: 10¹⁸ units.
const COIN: Amount = 1_000_000_000_000_000_000;
const DAY_MS: u64 = 86_400_000;
/// Longest title, in bytes.
pub const MAX_TITLE: usize = 256;
/// Longest summary, in bytes.
pub const MAX_SUMMARY: usize = 10_000;
/// Most parameter sets one proposal changes.
pub const MAX_CHANGES: usize = 16;

/// Governance parameters (`params.gov` in `genesis.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct GovParams {
    /// Deposit a proposal needs to go to a vote.
    #[serde(with = "dec_u128")]
    pub min_deposit: Amount,
    /// Deposit an expedited proposal needs.
    #[serde(with = "dec_u128")]
    pub expedited_min_deposit: Amount,
    /// Least first deposit, as a share of the minimum deposit (ppm).
    pub min_initial_deposit_ratio_ppm: u32,
    /// Least later deposit, as a share of the minimum deposit (ppm).
    pub min_deposit_ratio_ppm: u32,
    /// Time to reach the minimum deposit (ms).
    #[serde(with = "dec_u64")]
    pub max_deposit_period_ms: u64,
    /// Length of a vote (ms).
    #[serde(with = "dec_u64")]
    pub voting_period_ms: u64,
    /// Length of an expedited vote (ms).
    #[serde(with = "dec_u64")]
    pub expedited_voting_period_ms: u64,
    /// Least share of bonded stake that must vote (ppm).
    pub quorum_ppm: u32,
    /// Share of non-abstaining votes yes must pass (ppm).
    pub threshold_ppm: u32,
    /// The same for expedited proposals (ppm).
    pub expedited_threshold_ppm: u32,
    /// Share of all votes veto must pass to veto (ppm).
    pub veto_threshold_ppm: u32,
    /// Burn the deposits of a vetoed proposal.
    pub burn_vote_veto: bool,
    /// Burn the deposits of a proposal that missed quorum.
    pub burn_vote_quorum: bool,
    /// Burn the deposits of a proposal that missed its minimum deposit.
    pub burn_proposal_deposit_prevote: bool,
    /// Share of deposits burned when the proposer cancels (ppm).
    pub proposal_cancel_ratio_ppm: u32,
}

impl Default for GovParams {
    fn default() -> Self {
        Self {
            min_deposit: 10 * COIN,
            expedited_min_deposit: 50 * COIN,
            min_initial_deposit_ratio_ppm: 250_000,
            min_deposit_ratio_ppm: 10_000,
            max_deposit_period_ms: 2 * DAY_MS,
            voting_period_ms: 2 * DAY_MS,
            expedited_voting_period_ms: DAY_MS,
            quorum_ppm: 334_000,
            threshold_ppm: 500_000,
            expedited_threshold_ppm: 667_000,
            veto_threshold_ppm: 334_000,
            burn_vote_veto: true,
            burn_vote_quorum: false,
            burn_proposal_deposit_prevote: false,
            proposal_cancel_ratio_ppm: 500_000,
        }
    }
}

impl GovParams {
    /// Checks the parameters; the error names the rule.
    pub fn validate(&self) -> Result<(), String> {
        let ratios = [
            (
                "min_initial_deposit_ratio_ppm",
                self.min_initial_deposit_ratio_ppm,
            ),
            ("min_deposit_ratio_ppm", self.min_deposit_ratio_ppm),
            ("quorum_ppm", self.quorum_ppm),
            ("threshold_ppm", self.threshold_ppm),
            ("expedited_threshold_ppm", self.expedited_threshold_ppm),
            ("veto_threshold_ppm", self.veto_threshold_ppm),
            ("proposal_cancel_ratio_ppm", self.proposal_cancel_ratio_ppm),
        ];
        if let Some((name, _)) = ratios.iter().find(|(_, v)| u128::from(*v) > PPM) {
            return Err(format!("gov.{name} must be at most 1000000"));
        }
        if self.quorum_ppm == 0 || self.threshold_ppm == 0 || self.veto_threshold_ppm == 0 {
            return Err(
                "gov.quorum_ppm, threshold_ppm and veto_threshold_ppm must be positive".into(),
            );
        }
        if self.min_deposit == 0 {
            return Err("gov.min_deposit must be positive".into());
        }
        if self.expedited_min_deposit < self.min_deposit {
            return Err("gov.expedited_min_deposit must be at least min_deposit".into());
        }
        if self.expedited_threshold_ppm < self.threshold_ppm {
            return Err("gov.expedited_threshold_ppm must be at least threshold_ppm".into());
        }
        if self.max_deposit_period_ms == 0 || self.voting_period_ms == 0 {
            return Err("gov periods must be positive".into());
        }
        if self.expedited_voting_period_ms == 0
            || self.expedited_voting_period_ms >= self.voting_period_ms
        {
            return Err(
                "gov.expedited_voting_period_ms must be positive and below voting_period_ms".into(),
            );
        }
        Ok(())
    }

    fn min_deposit_for(&self, expedited: bool) -> Amount {
        if expedited {
            self.expedited_min_deposit
        } else {
            self.min_deposit
        }
    }
}

/// Where a proposal is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Collecting its minimum deposit.
    DepositPeriod,
    /// Being voted on.
    VotingPeriod,
    /// Passed and executed.
    Passed,
    /// Rejected (no quorum, vetoed, below threshold, all abstained, or deposit missed).
    Rejected,
    /// Passed, but its execution failed (nothing of it applied).
    Failed,
    /// Withdrawn by its proposer.
    Canceled,
}

impl ProposalStatus {
    /// Every status, in index order.
    pub const ALL: [ProposalStatus; 6] = [
        Self::DepositPeriod,
        Self::VotingPeriod,
        Self::Passed,
        Self::Rejected,
        Self::Failed,
        Self::Canceled,
    ];

    /// Its JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::DepositPeriod => "deposit_period",
            Self::VotingPeriod => "voting_period",
            Self::Passed => "passed",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    fn open(self) -> bool {
        matches!(self, Self::DepositPeriod | Self::VotingPeriod)
    }
}

/// A proposal (`gov/p/<id>`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id (from 1).
    #[serde(with = "dec_u64")]
    pub id: u64,
    /// Who submitted it.
    pub proposer: Address,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: String,
    /// What it does if it passes.
    pub content: ProposalContent,
    /// Expedited (still, or no longer after a failed expedited vote).
    pub expedited: bool,
    /// Where it is.
    pub status: ProposalStatus,
    /// Height it was submitted at.
    #[serde(with = "dec_u64")]
    pub submit_height: u64,
    /// Block time it was submitted at (ms).
    #[serde(with = "dec_u64")]
    pub submit_ms: u64,
    /// End of its deposit period (ms).
    #[serde(with = "dec_u64")]
    pub deposit_end_ms: u64,
    /// Start of its vote (ms; 0 before).
    #[serde(with = "dec_u64")]
    pub voting_start_ms: u64,
    /// End of its vote (ms; 0 before).
    #[serde(with = "dec_u64")]
    pub voting_end_ms: u64,
    /// Deposits so far.
    #[serde(with = "dec_u128")]
    pub total_deposit: Amount,
    /// The final tally (once voted).
    pub tally: Option<Tally>,
    /// Why it ended as it did (empty while open); for `failed`, the execution's error.
    pub result: String,
    /// Whether its deposits were burned (else refunded) when it ended.
    pub deposits_burned: bool,
    /// Height it ended at (0 while open).
    #[serde(with = "dec_u64")]
    pub end_height: u64,
}

/// A deposit on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositView {
    /// Who deposited.
    pub depositor: Address,
    /// How much, in total.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
}

/// A vote on a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteView {
    /// Who voted.
    pub voter: Address,
    /// Its options and weights.
    pub options: Vec<WeightedVote>,
    /// Its stake bonded to the set now, per delegation (what the tally would count for it as a
    /// delegator).
    #[serde(with = "dec_u128")]
    pub power: Amount,
}

/// The escrow account of deposits: an address no key hashes to.
pub fn escrow_address() -> Address {
    let h = crypto::sha256(b"batara/gov/escrow");
    Address(h.0[..20].try_into().expect("20 bytes"))
}

const NEXT_KEY: &[u8] = b"gov/next";
const PROPOSAL_PREFIX: &[u8] = b"gov/p/";
const STATUS_PREFIX: &[u8] = b"gov/st/";
const DEPOSIT_PREFIX: &[u8] = b"gov/dep/";
const VOTE_PREFIX: &[u8] = b"gov/vote/";
const DEPOSIT_QUEUE: &[u8] = b"gov/dq/";
const VOTING_QUEUE: &[u8] = b"gov/vq/";

fn proposal_key(id: u64) -> Vec<u8> {
    key(PROPOSAL_PREFIX, &[&id.to_be_bytes()])
}

fn status_key(s: ProposalStatus, id: u64) -> Vec<u8> {
    key(STATUS_PREFIX, &[&[s as u8], &id.to_be_bytes()])
}

fn queue_key(queue: &[u8], end_ms: u64, id: u64) -> Vec<u8> {
    key(queue, &[&end_ms.to_be_bytes(), &id.to_be_bytes()])
}

fn rule(msg: impl Into<String>) -> TxFailure {
    TxFailure::Rule(msg.into())
}

/// Moves `amount` from `from`'s balance to `to`'s.
fn move_funds(
    ctx: &mut TxContext<'_, '_>,
    from: &Address,
    to: &Address,
    amount: Amount,
) -> Result<(), TxFailure> {
    debit(ctx, from, amount)?;
    Ok(credit(ctx, to, amount)?)
}

/// Merges the fields of `patch` into `target` (objects field by field, anything else replaced).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Checks a vote's options: at least one, each once, positive weights summing to 1,000,000.
pub fn check_options(options: &[WeightedVote]) -> Result<(), String> {
    if options.is_empty() {
        return Err("a vote needs at least one option".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut sum: u64 = 0;
    for o in options {
        if !seen.insert(o.option) {
            return Err(format!("option {} appears twice", o.option.name()));
        }
        if o.weight_ppm == 0 {
            return Err(format!("option {} has weight 0", o.option.name()));
        }
        sum += u64::from(o.weight_ppm);
    }
    if u128::from(sum) != PPM {
        return Err(format!("weights sum to {sum} ppm, not 1000000"));
    }
    Ok(())
}

/// The governance module.
pub struct GovModule {
    genesis_params: GovParams,
    stake: Arc<dyn Stake>,
    governed: Vec<Arc<dyn Governed>>,
}

impl GovModule {
    /// Governance over `governed` parameter sets (besides its own), with stake from `stake`.
    pub fn new(params: GovParams, stake: Arc<dyn Stake>, governed: Vec<Arc<dyn Governed>>) -> Self {
        Self {
            genesis_params: params,
            stake,
            governed,
        }
    }

    /// The parameters in force in `src`.
    pub fn params(&self, src: &(impl ObjectRead + ?Sized)) -> Result<GovParams, StateError> {
        current_params(src, PARAMS_NAME, &self.genesis_params)
    }

    /// Every parameter set proposals may change, with its values in force.
    pub fn governed_params(
        &self,
        ctx: &TxContext<'_, '_>,
    ) -> Result<Vec<(&'static str, Value)>, StateError> {
        let mut out = vec![];
        for g in &self.governed {
            out.push((g.params_name(), g.params_json(ctx)?));
        }
        out.push((PARAMS_NAME, self.params_json(ctx)?));
        Ok(out)
    }

    /// Names of the parameter sets proposals may change.
    pub fn params_names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.governed.iter().map(|g| g.params_name()).collect();
        names.push(PARAMS_NAME);
        names
    }

    /// Proposal `id`.
    pub fn proposal(
        &self,
        ctx: &TxContext<'_, '_>,
        id: u64,
    ) -> Result<Option<Proposal>, StateError> {
        get(ctx, "proposal", &proposal_key(id))
    }

    /// Up to `limit` proposals with ids above `after`, of `status` if given, in id order.
    pub fn proposals(
        &self,
        ctx: &TxContext<'_, '_>,
        status: Option<ProposalStatus>,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Proposal>, StateError> {
        let from_id = after.saturating_add(1);
        let ids: Vec<u64> = match status {
            Some(s) => {
                let prefix = key(STATUS_PREFIX, &[&[s as u8]]);
                let from = key(&prefix, &[&from_id.to_be_bytes()]);
                ctx.objects_in(&from, &prefix_end(&prefix), limit)?
                    .iter()
                    .map(|(k, _)| id_at(k, prefix.len()))
                    .collect::<Result<_, _>>()?
            }
            None => {
                let from = proposal_key(from_id);
                ctx.objects_in(&from, &prefix_end(PROPOSAL_PREFIX), limit)?
                    .iter()
                    .map(|(k, _)| id_at(k, PROPOSAL_PREFIX.len()))
                    .collect::<Result<_, _>>()?
            }
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.proposal(ctx, id)?);
        }
        Ok(out)
    }

    /// The deposits on proposal `id` (one per depositor, bounded by how many deposited).
    pub fn deposits(
        &self,
        ctx: &TxContext<'_, '_>,
        id: u64,
    ) -> Result<Vec<DepositView>, StateError> {
        let prefix = key(DEPOSIT_PREFIX, &[&id.to_be_bytes()]);
        ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                Ok(DepositView {
                    depositor: address_at(&k, prefix.len())?,
                    amount: decode("deposit", &v)?,
                })
            })
            .collect()
    }

    /// Up to `limit` votes on proposal `id` by voters after `after`, in voter order.
    pub fn votes(
        &self,
        ctx: &TxContext<'_, '_>,
        id: u64,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<Vec<VoteView>, StateError> {
        let prefix = key(VOTE_PREFIX, &[&id.to_be_bytes()]);
        let from = match after {
            Some(a) => key(&prefix, &[&a.0, &[0]]),
            None => prefix.clone(),
        };
        let bonded = self.stake.bonded_validators(ctx)?;
        let mut out = vec![];
        for (k, v) in ctx.objects_in(&from, &prefix_end(&prefix), limit)? {
            let voter = address_at(&k, prefix.len())?;
            let power = self
                .stake
                .delegations_of(ctx, &voter)?
                .iter()
                .filter(|(va, _)| bonded.iter().any(|b| b.address == *va))
                .fold(0, |s: Amount, (_, t)| s.saturating_add(*t));
            out.push(VoteView {
                voter,
                options: decode("vote", &v)?,
                power,
            });
        }
        Ok(out)
    }

    /// The tally of proposal `id`: final once voted, else what it would be now.
    pub fn tally_of(&self, ctx: &TxContext<'_, '_>, id: u64) -> Result<Option<Tally>, StateError> {
        let Some(p) = self.proposal(ctx, id)? else {
            return Ok(None);
        };
        match (p.tally, p.status) {
            (Some(t), _) => Ok(Some(t)),
            (None, ProposalStatus::VotingPeriod) => Ok(Some(self.count(ctx, id)?)),
            (None, _) => Ok(None),
        }
    }

    /// Counts the votes on `id` against the set as it is now.
    fn count(&self, ctx: &TxContext<'_, '_>, id: u64) -> Result<Tally, StateError> {
        let validators = self.stake.bonded_validators(ctx)?;
        let prefix = key(VOTE_PREFIX, &[&id.to_be_bytes()]);
        let rows = ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)?;
        let mut ballots = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let voter = address_at(&k, prefix.len())?;
            ballots.push(Ballot {
                delegations: self.stake.delegations_of(ctx, &voter)?,
                options: decode("vote", &v)?,
                voter,
            });
        }
        Ok(tally::tally(&validators, &ballots))
    }

    fn governed(&self, name: &str) -> Result<Option<&dyn Governed>, TxFailure> {
        if name == PARAMS_NAME {
            return Ok(Some(self));
        }
        Ok(self
            .governed
            .iter()
            .find(|g| g.params_name() == name)
            .map(|g| g.as_ref()))
    }

    /// Applies every change of a parameter proposal (the caller rolls back on error).
    fn apply_changes(
        &self,
        ctx: &mut TxContext<'_, '_>,
        changes: &[crate::types::ParamChange],
    ) -> Result<(), TxFailure> {
        for c in changes {
            let Some(g) = self.governed(&c.params)? else {
                return Err(rule(format!(
                    "no parameters named {:?} (known: {})",
                    c.params,
                    self.params_names().join(", ")
                )));
            };
            let patch: Value = serde_json::from_str(&c.values)
                .map_err(|e| rule(format!("{} values: {e}", c.params)))?;
            let mut value = g.params_json(ctx)?;
            merge(&mut value, &patch);
            g.set_params(ctx, value)?;
        }
        Ok(())
    }

    /// Carries out what a passed proposal asks.
    fn execute(&self, ctx: &mut TxContext<'_, '_>, p: &Proposal) -> Result<(), TxFailure> {
        match &p.content {
            ProposalContent::Text => Ok(()),
            ProposalContent::Params { changes } => self.apply_changes(ctx, changes),
            ProposalContent::Upgrade { name, height, info } => {
                if *height <= ctx.height() {
                    return Err(rule(format!(
                        "upgrade height {height} is not after the block that passed it ({})",
                        ctx.height()
                    )));
                }
                schedule_upgrade(
                    ctx,
                    Some(&UpgradePlan {
                        name: name.clone(),
                        height: *height,
                        info: info.clone(),
                    }),
                );
                Ok(())
            }
            ProposalContent::Spend { recipient, amount } => {
                self.stake.spend_community_pool(ctx, recipient, *amount)
            }
        }
    }

    /// Writes `p` with a new status, keeping the status index and emitting the event.
    fn set_status(
        &self,
        ctx: &mut TxContext<'_, '_>,
        p: &mut Proposal,
        old: Option<ProposalStatus>,
        status: ProposalStatus,
    ) {
        if let Some(o) = old {
            ctx.delete_object(status_key(o, p.id));
        }
        p.status = status;
        if !status.open() {
            p.end_height = ctx.height();
        }
        ctx.set_object(status_key(status, p.id), vec![]);
        ctx.set_object(proposal_key(p.id), enc(p));
        ctx.emit(
            "proposal_status",
            &[
                ("proposal", &p.id),
                ("status", &status.name()),
                ("result", &p.result),
            ],
        );
    }

    fn start_vote(&self, ctx: &mut TxContext<'_, '_>, p: &mut Proposal, gp: &GovParams) {
        ctx.delete_object(queue_key(DEPOSIT_QUEUE, p.deposit_end_ms, p.id));
        p.voting_start_ms = ctx.time();
        let period = if p.expedited {
            gp.expedited_voting_period_ms
        } else {
            gp.voting_period_ms
        };
        p.voting_end_ms = ctx.time().saturating_add(period);
        ctx.set_object(queue_key(VOTING_QUEUE, p.voting_end_ms, p.id), vec![]);
        self.set_status(
            ctx,
            p,
            Some(ProposalStatus::DepositPeriod),
            ProposalStatus::VotingPeriod,
        );
    }

    /// Refunds (or burns, or burns `burn_ppm` of) every deposit on `id`.
    fn settle_deposits(
        &self,
        ctx: &mut TxContext<'_, '_>,
        id: u64,
        burn_ppm: u32,
    ) -> Result<(), TxFailure> {
        let escrow = escrow_address();
        let mut burned = 0;
        for d in self.deposits(ctx, id)? {
            let burn = ppm_of(d.amount, burn_ppm);
            burned += burn;
            move_funds(ctx, &escrow, &d.depositor, d.amount - burn)?;
        }
        if burned > 0 {
            debit(ctx, &escrow, burned)?;
            self.stake.record_burn(ctx, burned)?;
        }
        Ok(())
    }

    fn submit(
        &self,
        ctx: &mut TxContext<'_, '_>,
        proposer: Address,
        tx: &TxKind,
    ) -> Result<(), TxFailure> {
        let TxKind::Propose {
            title,
            summary,
            content,
            deposit,
            expedited,
        } = tx
        else {
            return Err(rule("not a proposal"));
        };
        let gp = self.params(ctx)?;
        let min = gp.min_deposit_for(*expedited);
        let least =
            mul_div_up(min, u128::from(gp.min_initial_deposit_ratio_ppm), PPM).unwrap_or(min);
        if *deposit < least {
            return Err(rule(format!(
                "initial deposit {deposit} is below {least} ({} of the minimum deposit {min})",
                percent(u128::from(gp.min_initial_deposit_ratio_ppm), PPM)
            )));
        }
        match content {
            ProposalContent::Params { changes } => {
                // Checked now against the parameters in force (and again when it passes).
                let sp = ctx.savepoint();
                let checked = self.apply_changes(ctx, changes);
                ctx.rollback(sp);
                checked?;
            }
            ProposalContent::Upgrade { height, .. } if *height <= ctx.height() => {
                return Err(rule(format!(
                    "upgrade height {height} is not in the future (height {})",
                    ctx.height()
                )));
            }
            _ => {}
        }
        move_funds(ctx, &proposer, &escrow_address(), *deposit)?;
        let id: u64 = get(ctx, "next proposal id", NEXT_KEY)?.unwrap_or(1);
        ctx.set_object(NEXT_KEY.to_vec(), enc(&(id + 1)));
        ctx.set_object(
            key(DEPOSIT_PREFIX, &[&id.to_be_bytes(), &proposer.0]),
            enc(deposit),
        );
        let mut p = Proposal {
            id,
            proposer,
            title: title.clone(),
            summary: summary.clone(),
            content: content.clone(),
            expedited: *expedited,
            status: ProposalStatus::DepositPeriod,
            submit_height: ctx.height(),
            submit_ms: ctx.time(),
            deposit_end_ms: ctx.time().saturating_add(gp.max_deposit_period_ms),
            voting_start_ms: 0,
            voting_end_ms: 0,
            total_deposit: *deposit,
            tally: None,
            result: String::new(),
            deposits_burned: false,
            end_height: 0,
        };
        ctx.set_object(queue_key(DEPOSIT_QUEUE, p.deposit_end_ms, id), vec![]);
        self.set_status(ctx, &mut p, None, ProposalStatus::DepositPeriod);
        if p.total_deposit >= min {
            self.start_vote(ctx, &mut p, &gp);
        }
        Ok(())
    }

    fn open_proposal(&self, ctx: &TxContext<'_, '_>, id: u64) -> Result<Proposal, TxFailure> {
        let p = self
            .proposal(ctx, id)?
            .ok_or_else(|| rule(format!("no proposal {id}")))?;
        if !p.status.open() {
            return Err(rule(format!("proposal {id} is {}", p.status.name())));
        }
        Ok(p)
    }

    fn deposit(
        &self,
        ctx: &mut TxContext<'_, '_>,
        depositor: Address,
        id: u64,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        let mut p = self.open_proposal(ctx, id)?;
        let gp = self.params(ctx)?;
        let min = gp.min_deposit_for(p.expedited);
        let least = mul_div_up(min, u128::from(gp.min_deposit_ratio_ppm), PPM).unwrap_or(min);
        if amount < least || amount == 0 {
            return Err(rule(format!(
                "deposit {amount} is below {least} ({} of the minimum deposit)",
                percent(u128::from(gp.min_deposit_ratio_ppm), PPM)
            )));
        }
        move_funds(ctx, &depositor, &escrow_address(), amount)?;
        let k = key(DEPOSIT_PREFIX, &[&id.to_be_bytes(), &depositor.0]);
        let before: Amount = get(ctx, "deposit", &k)?.unwrap_or(0);
        ctx.set_object(k, enc(&before.saturating_add(amount)));
        p.total_deposit = p.total_deposit.saturating_add(amount);
        ctx.set_object(proposal_key(id), enc(&p));
        ctx.emit(
            "proposal_deposit",
            &[
                ("proposal", &id),
                ("depositor", &depositor),
                ("amount", &amount),
            ],
        );
        if p.status == ProposalStatus::DepositPeriod && p.total_deposit >= min {
            self.start_vote(ctx, &mut p, &gp);
        }
        Ok(())
    }

    fn vote(
        &self,
        ctx: &mut TxContext<'_, '_>,
        voter: Address,
        id: u64,
        options: &[WeightedVote],
    ) -> Result<(), TxFailure> {
        let p = self.open_proposal(ctx, id)?;
        if p.status != ProposalStatus::VotingPeriod {
            return Err(rule(format!(
                "proposal {id} is not in its voting period yet"
            )));
        }
        check_options(options).map_err(rule)?;
        let bonded = self.stake.bonded_validators(ctx)?;
        let operates = bonded.iter().any(|v| v.operator == voter);
        let delegates = self
            .stake
            .delegations_of(ctx, &voter)?
            .iter()
            .any(|(va, t)| *t > 0 && bonded.iter().any(|b| b.address == *va));
        if !operates && !delegates {
            return Err(rule(
                "the voter has no stake bonded to the validator set (delegate first)",
            ));
        }
        ctx.set_object(
            key(VOTE_PREFIX, &[&id.to_be_bytes(), &voter.0]),
            enc(&options.to_vec()),
        );
        let how = options
            .iter()
            .map(|o| format!("{}={}", o.option.name(), o.weight_ppm))
            .collect::<Vec<_>>()
            .join(",");
        ctx.emit(
            "vote",
            &[("proposal", &id), ("voter", &voter), ("options", &how)],
        );
        Ok(())
    }

    fn cancel(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        id: u64,
    ) -> Result<(), TxFailure> {
        let mut p = self.open_proposal(ctx, id)?;
        if p.proposer != signer {
            return Err(rule(format!(
                "only the proposer {} may cancel proposal {id}",
                p.proposer
            )));
        }
        let gp = self.params(ctx)?;
        ctx.delete_object(match p.status {
            ProposalStatus::DepositPeriod => queue_key(DEPOSIT_QUEUE, p.deposit_end_ms, id),
            _ => queue_key(VOTING_QUEUE, p.voting_end_ms, id),
        });
        self.settle_deposits(ctx, id, gp.proposal_cancel_ratio_ppm)?;
        p.deposits_burned = gp.proposal_cancel_ratio_ppm > 0;
        p.result = format!(
            "canceled by the proposer; {} of the deposits burned",
            percent(u128::from(gp.proposal_cancel_ratio_ppm), PPM)
        );
        let old = p.status;
        self.set_status(ctx, &mut p, Some(old), ProposalStatus::Canceled);
        Ok(())
    }

    /// Proposals whose deposit period ended without the minimum deposit.
    fn end_deposits(&self, ctx: &mut TxContext<'_, '_>, gp: &GovParams) -> Result<(), TxFailure> {
        let upto = key(
            DEPOSIT_QUEUE,
            &[&ctx.time().saturating_add(1).to_be_bytes()],
        );
        for (k, _) in ctx.objects_in(DEPOSIT_QUEUE, &upto, usize::MAX)? {
            ctx.delete_object(k.clone());
            let id = id_at(&k, DEPOSIT_QUEUE.len() + 8)?;
            let Some(mut p) = self.proposal(ctx, id)? else {
                continue;
            };
            let burn = gp.burn_proposal_deposit_prevote;
            self.settle_deposits(ctx, id, if burn { PPM as u32 } else { 0 })?;
            p.deposits_burned = burn;
            p.result = format!(
                "deposit period ended with {} of the minimum deposit {}",
                p.total_deposit,
                gp.min_deposit_for(p.expedited)
            );
            self.set_status(
                ctx,
                &mut p,
                Some(ProposalStatus::DepositPeriod),
                ProposalStatus::Rejected,
            );
        }
        Ok(())
    }

    /// Proposals whose vote ended: tally, decide, execute, settle deposits.
    fn end_votes(&self, ctx: &mut TxContext<'_, '_>, gp: &GovParams) -> Result<(), TxFailure> {
        let upto = key(VOTING_QUEUE, &[&ctx.time().saturating_add(1).to_be_bytes()]);
        for (k, _) in ctx.objects_in(VOTING_QUEUE, &upto, usize::MAX)? {
            ctx.delete_object(k.clone());
            let id = id_at(&k, VOTING_QUEUE.len() + 8)?;
            let Some(mut p) = self.proposal(ctx, id)? else {
                continue;
            };
            let t = self.count(ctx, id)?;
            let threshold_ppm = if p.expedited {
                gp.expedited_threshold_ppm
            } else {
                gp.threshold_ppm
            };
            let th = Thresholds {
                quorum_ppm: gp.quorum_ppm,
                threshold_ppm,
                veto_ppm: gp.veto_threshold_ppm,
            };
            let outcome = decide(&t, th);
            if p.expedited && outcome != Outcome::Passed {
                // A failed expedited vote becomes a regular one, its votes kept.
                p.expedited = false;
                p.voting_end_ms = p.voting_start_ms.saturating_add(gp.voting_period_ms);
                ctx.set_object(queue_key(VOTING_QUEUE, p.voting_end_ms, id), vec![]);
                ctx.set_object(proposal_key(id), enc(&p));
                ctx.emit(
                    "proposal_expedited_failed",
                    &[("proposal", &id), ("voting_end_ms", &p.voting_end_ms)],
                );
                continue;
            }
            let voted = percent(t.voted(), t.bonded);
            let non_abstain = t.voted() - t.abstain;
            let (status, burn, result) = match outcome {
                Outcome::Passed => (
                    ProposalStatus::Passed,
                    false,
                    format!(
                        "passed: {} of bonded stake voted, yes {} of non-abstaining votes",
                        voted,
                        percent(t.yes, non_abstain)
                    ),
                ),
                Outcome::NoQuorum => (
                    ProposalStatus::Rejected,
                    gp.burn_vote_quorum,
                    format!(
                        "no quorum: {voted} of bonded stake voted, quorum {}",
                        percent(u128::from(gp.quorum_ppm), PPM)
                    ),
                ),
                Outcome::AllAbstain => (
                    ProposalStatus::Rejected,
                    false,
                    "rejected: every vote abstained".into(),
                ),
                Outcome::Vetoed => (
                    ProposalStatus::Rejected,
                    gp.burn_vote_veto,
                    format!(
                        "vetoed: veto {} of the votes, threshold {}",
                        percent(t.veto, t.voted()),
                        percent(u128::from(gp.veto_threshold_ppm), PPM)
                    ),
                ),
                Outcome::BelowThreshold => (
                    ProposalStatus::Rejected,
                    false,
                    format!(
                        "rejected: yes {} of non-abstaining votes, threshold {}",
                        percent(t.yes, non_abstain),
                        percent(u128::from(threshold_ppm), PPM)
                    ),
                ),
            };
            let (status, result) = if status == ProposalStatus::Passed {
                let sp = ctx.savepoint();
                match self.execute(ctx, &p) {
                    Ok(()) => (status, result),
                    Err(TxFailure::Rule(e)) => {
                        ctx.rollback(sp);
                        (
                            ProposalStatus::Failed,
                            format!("passed, but execution failed: {e}"),
                        )
                    }
                    Err(e) => return Err(e),
                }
            } else {
                (status, result)
            };
            self.settle_deposits(ctx, id, if burn { PPM as u32 } else { 0 })?;
            p.deposits_burned = burn;
            p.tally = Some(t);
            p.result = result;
            self.set_status(ctx, &mut p, Some(ProposalStatus::VotingPeriod), status);
        }
        Ok(())
    }
}

impl Governed for GovModule {
    fn params_name(&self) -> &'static str {
        PARAMS_NAME
    }

    fn params_json(&self, ctx: &TxContext<'_, '_>) -> Result<Value, StateError> {
        Ok(serde_json::to_value(self.params(ctx)?).expect("parameters serialise"))
    }

    fn set_params(&self, ctx: &mut TxContext<'_, '_>, value: Value) -> Result<(), TxFailure> {
        set_checked(ctx, PARAMS_NAME, value, GovParams::validate)
    }
}

impl Module for GovModule {
    fn name(&self) -> &'static str {
        "gov"
    }

    fn handles(&self, kind: &TxKind) -> bool {
        matches!(
            kind,
            TxKind::Propose { .. }
                | TxKind::Deposit { .. }
                | TxKind::Vote { .. }
                | TxKind::CancelProposal { .. }
        )
    }

    fn spend(&self, kind: &TxKind) -> Amount {
        match kind {
            TxKind::Propose { deposit, .. } => *deposit,
            TxKind::Deposit { amount, .. } => *amount,
            _ => 0,
        }
    }

    fn check(&self, tx: &SignedTransaction) -> Result<(), String> {
        match &tx.body.kind {
            TxKind::Propose {
                title,
                summary,
                content,
                ..
            } => {
                if title.trim().is_empty() || title.len() > MAX_TITLE {
                    return Err(format!("a title needs 1 to {MAX_TITLE} bytes"));
                }
                if summary.len() > MAX_SUMMARY {
                    return Err(format!("a summary has at most {MAX_SUMMARY} bytes"));
                }
                match content {
                    ProposalContent::Text => Ok(()),
                    ProposalContent::Params { changes } => {
                        if changes.is_empty() || changes.len() > MAX_CHANGES {
                            return Err(format!(
                                "a parameter change needs 1 to {MAX_CHANGES} changes"
                            ));
                        }
                        for c in changes {
                            let v: Value = serde_json::from_str(&c.values)
                                .map_err(|e| format!("{} values: {e}", c.params))?;
                            if !v.is_object() {
                                return Err(format!("{} values must be a JSON object", c.params));
                            }
                        }
                        Ok(())
                    }
                    ProposalContent::Upgrade { name, height, .. } => {
                        if name.trim().is_empty() || name.len() > 140 {
                            return Err("an upgrade needs a name of 1 to 140 bytes".into());
                        }
                        if *height == 0 {
                            return Err("an upgrade needs a height".into());
                        }
                        Ok(())
                    }
                    ProposalContent::Spend { amount, .. } => {
                        if *amount == 0 {
                            return Err("a spend needs a positive amount".into());
                        }
                        Ok(())
                    }
                }
            }
            TxKind::Vote { options, .. } => check_options(options),
            _ => Ok(()),
        }
    }

    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure> {
        let signer = tx.sender();
        match &tx.body.kind {
            k @ TxKind::Propose { .. } => self.submit(ctx, signer, k),
            TxKind::Deposit { proposal, amount } => self.deposit(ctx, signer, *proposal, *amount),
            TxKind::Vote { proposal, options } => self.vote(ctx, signer, *proposal, options),
            TxKind::CancelProposal { proposal } => self.cancel(ctx, signer, *proposal),
            _ => Err(rule("not a governance transaction")),
        }
    }

    fn end_block(
        &self,
        ctx: &mut TxContext<'_, '_>,
        _info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        let gp = self.params(ctx)?;
        let ended = self
            .end_deposits(ctx, &gp)
            .and_then(|()| self.end_votes(ctx, &gp));
        match ended {
            Ok(()) => Ok(()),
            Err(TxFailure::State(e)) => Err(e),
            // Settling moves only escrowed funds: a rule failing here means the escrow is short.
            Err(TxFailure::Rule(e)) => Err(StateError::Tree(format!("governance: {e}"))),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
