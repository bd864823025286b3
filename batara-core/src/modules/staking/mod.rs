//! Staking: validators, delegation of stake to them, the validator set, unbonding and
//! redelegation, downtime jailing and slashing, and (in [`distribution`]) the rewards. A
//! [`Module`] like the bank: its state lives in the state tree (provable) under `stk/…` keys; its
//! genesis fragment is `validators` and `params.staking` ([`GenesisValidator`],
//! [`StakingParams`]). It is also the chain's [`ValidatorSets`]: the runtime and consensus learn
//! every validator set (and which evidence is usable) through that trait, never by naming this
//! module. Anchor: Cosmos SDK x/staking and x/distribution; what differs is said below.
//!
//! Owns:
//! * Transactions `stake` (register a validator — its consensus key and a self-delegation of at
//!   least `min_self_stake` — or add to the self-delegation of one you operate), `unstake` (take
//!   some of it back: the rest must stay at least `min_self_stake`, or be nothing), `unjail`,
//!   `delegate`, `undelegate`, `redelegate`, `withdraw_rewards`, `edit_commission`. The
//!   consensus key (whose address names the validator in headers, votes and commits) is separate
//!   from the operator account that signs staking transactions.
//! * Shares: a validator holds `stake` tokens for `shares` shares; delegating `a` tokens mints
//!   `a × shares / stake` shares (1:1 for the first), undelegating burns the shares worth the
//!   amount (rounded up, so the validator's remaining delegators never lose by it). A slash lowers
//!   `stake` and leaves the shares, so every delegator of the validator loses in proportion.
//! * Unbonding: `undelegate` (and `unstake`) leave voting power at the next epoch and pay the
//!   funds after `unbonding_blocks`. Entries are kept per (due height, delegator, validator) with
//!   their creation height, mirrored by delegator and by validator.
//! * Redelegation: moves shares' worth from one validator to another at once. One hop at a time
//!   (Cosmos's transitive rule): stake that arrived at a validator by redelegation cannot move on
//!   until that entry matures (`unbonding_blocks` after it). At most `max_entries` entries per
//!   delegation (unbonding) or per (delegator, source, destination) (redelegation).
//! * Commission: each validator has a rate, a maximum rate and a maximum change per day (ppm). A
//!   registered validator starts at 0 %, at most 100 %, moving at most 1 % a day; while nobody
//!   but its operator delegates to it, `edit_commission` sets all three freely. Once others do,
//!   the maximum rate and maximum change may only go down, and the rate moves by at most the
//!   maximum change, once per 24 hours of block time (Cosmos fixes the two maxima at creation;
//!   letting them only fall keeps delegators just as safe and needs no extra transaction kind).
//! * The validator set: stored at `stk/set` after every block, and the set that validates the
//!   NEXT block. It is recomputed at epoch boundaries (after block `h` with
//!   `h % epoch_length == 0`) as the top `max_validators` eligible validators by stake (ties:
//!   lower address), voting power = stake / `stake_per_power`; and right away when a validator
//!   is jailed, so a jailed validator leaves the set at the next block. A recomputation that would
//!   leave the set empty keeps the old one (the chain must not halt). Eligible: not jailed, and
//!   the operator's own delegation worth at least `min_self_stake`.
//! * Rewards ([`distribution`]): each block's fees and `block_reward` (minted) lose
//!   `community_tax_ppm` to the community pool; of the rest, the proposer's validator gets
//!   `proposer_reward_percent` and the remainder of the division, and the rest goes to the
//!   block's validators by voting power. Of a validator's part, its commission is paid to the
//!   operator's balance at once and the rest accrues to its delegators by shares, paid by
//!   `withdraw_rewards` or whenever the delegation changes.
//! * Downtime: a validator of the set that is missing from the `last_commit` a block carries misses
//!   that height; more than `downtime_max_missed` misses in the last `downtime_window` heights jails
//!   it (for `downtime_jail_blocks`) and slashes `downtime_slash_ppm` (infraction height: the
//!   missed height).
//! * Double signing: each piece of evidence a block carries (verified by the chain) slashes
//!   `double_sign_slash_ppm` and jails for good (tombstone); the evidence's hash is recorded
//!   (`stk/ev/…`) so it is punished once (infraction height: the votes' height).
//! * A slash of fraction `f` burns `f` of the validator's stake now, `f` of the initial amount of
//!   each of its unbonding entries created at or after the infraction height (at most what is
//!   left), and `f` of each redelegation from it created at or after that height, taken from the
//!   destination delegation. (Cosmos takes the validator's part from its power at the infraction
//!   height; taking it from the stake now also slashes stake that joined after the infraction,
//!   which errs against the newcomer, never in favour of the offender.)
//!
//! Parameters: those in force are `prm/staking` once a governance proposal changed them (the
//! genesis `params.staking` until then; [`StakingModule::params`]). Every parameter may change
//! but `min_self_stake`, fixed at genesis because the power index holds exactly the validators
//! whose own delegation reaches it. A change applies from the next block: to entries created
//! after it (an unbonding's due height is fixed when it starts) and at the next epoch for the set.
//!
//! Must never: change the set other than at an epoch boundary or a jailing, mint anything but the
//! block reward, or let supply change otherwise: Σ balances + Σ stake + Σ unbonding + community
//! pool + outstanding rewards = genesis + minted − burned (`stk/supply` counts both).
//!
//! Keeps: every read a block or a query makes is bounded by what it is about, never by how many
//! validators, delegators or unbondings the chain ever had (issue 10, finding 8; issue 12). A
//! block's cost grows with its validators, never with their delegators. Indexes are written beside
//! the records they mirror, in the same context, so they cannot drift:
//! `stk/pow/<!stake><address>` holds exactly the eligible validators in set order — the
//! recomputation reads the first `max_validators` of it —; `stk/bond/<delegator>` lists the
//! validators an account delegates to (at most [`MAX_DELEGATIONS`]); `stk/delv/<validator>
//! <delegator>` mirrors `stk/del/<delegator><validator>` for a validator's delegators;
//! `stk/unbd/…` and `stk/unbv/…` mirror `stk/unb/<due>…`; `stk/redq/…` and `stk/redto/…`
//! mirror `stk/red/<src>…`. Every validator write goes through `save_validator`, which moves its
//! index entry.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::runtime::{
    prefix_end, BlockInfo, BondedValidator, Governed, Module, Stake, TxContext, TxFailure,
    ValidatorSets,
};
use crate::state::{StateError, StateManager};
use crate::storage::decode;
use crate::types::{
    dec_u128, dec_u64, Address, Amount, DuplicateVoteEvidence, PublicKey, SignedTransaction,
    TxKind, ValidatorInfo, MAX_TOTAL_VOTING_POWER,
};

mod distribution;

use crate::modules::math::{mul_div, mul_div_up, ppm_of};
use crate::modules::store::{address_at, credit, debit, enc, get, key, u64_at as height_at};
use crate::runtime::params::{current_params, set_checked, ObjectRead};
use distribution::{
    add_amount, count_supply, settle_rewards, OUTSTANDING_KEY, POOL_KEY, SUPPLY_KEY,
};
pub use distribution::{RewardIndex, Supply};

/// Staking parameters, fixed at genesis (`params.staking` in `genesis.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StakingParams {
    /// Blocks per epoch; the set changes after blocks whose height is a multiple of it.
    #[serde(with = "dec_u64")]
    pub epoch_length: u64,
    /// Most validators in the set.
    pub max_validators: u32,
    /// Least stake of a validator (registering needs it; below it a validator leaves the set).
    #[serde(with = "dec_u128")]
    pub min_self_stake: Amount,
    /// Stake per unit of voting power.
    #[serde(with = "dec_u128")]
    pub stake_per_power: Amount,
    /// Blocks between an unstake and the return of its funds.
    #[serde(with = "dec_u64")]
    pub unbonding_blocks: u64,
    /// Minted every block and paid to the validators (0: no inflation).
    #[serde(with = "dec_u128")]
    pub block_reward: Amount,
    /// Share of the block reward that goes to the proposer, in percent (the rest by power).
    pub proposer_reward_percent: u8,
    /// Heights over which downtime is counted.
    #[serde(with = "dec_u64")]
    pub downtime_window: u64,
    /// More misses than this within the window jails.
    #[serde(with = "dec_u64")]
    pub downtime_max_missed: u64,
    /// Blocks a downtime jailing lasts before `unjail` is accepted.
    #[serde(with = "dec_u64")]
    pub downtime_jail_blocks: u64,
    /// Stake slashed for downtime, in parts per million.
    pub downtime_slash_ppm: u32,
    /// Stake slashed for double signing, in parts per million (and jailed for good).
    pub double_sign_slash_ppm: u32,
    /// Share of every block's fees and reward that goes to the community pool (ppm).
    pub community_tax_ppm: u32,
    /// Most unbonding entries of one delegation, and most redelegation entries of one
    /// (delegator, source, destination), still maturing at once (Cosmos's `max_entries`).
    pub max_entries: u32,
}

/// One coin: 10¹⁸ units.
const COIN: Amount = 1_000_000_000_000_000_000;

impl Default for StakingParams {
    fn default() -> Self {
        Self {
            epoch_length: 100,
            max_validators: 100,
            min_self_stake: COIN,
            stake_per_power: COIN,
            unbonding_blocks: 1_000,
            block_reward: 0,
            proposer_reward_percent: 10,
            downtime_window: 100,
            downtime_max_missed: 50,
            downtime_jail_blocks: 100,
            downtime_slash_ppm: 100,
            double_sign_slash_ppm: 50_000,
            community_tax_ppm: 20_000,
            max_entries: 7,
        }
    }
}

impl StakingParams {
    /// Checks the parameters (genesis validation).
    pub fn validate(&self) -> Result<(), String> {
        if self.epoch_length == 0 {
            return Err("staking.epoch_length must be at least 1".into());
        }
        if self.max_validators == 0 {
            return Err("staking.max_validators must be at least 1".into());
        }
        if self.stake_per_power == 0 || self.min_self_stake < self.stake_per_power {
            return Err("staking.min_self_stake must be at least stake_per_power (> 0)".into());
        }
        if self.proposer_reward_percent > 100 {
            return Err("staking.proposer_reward_percent must be at most 100".into());
        }
        if self.downtime_window == 0 || self.downtime_max_missed >= self.downtime_window {
            return Err("staking.downtime_max_missed must be below downtime_window (> 0)".into());
        }
        if self.downtime_slash_ppm > 1_000_000 || self.double_sign_slash_ppm > 1_000_000 {
            return Err("staking slash fractions are at most 1000000 ppm".into());
        }
        if self.community_tax_ppm > 1_000_000 {
            return Err("staking.community_tax_ppm must be at most 1000000".into());
        }
        if self.max_entries == 0 {
            return Err("staking.max_entries must be at least 1".into());
        }
        if self.unbonding_blocks < self.epoch_length {
            // Otherwise funds could return while their stake still counts in the set.
            return Err("staking.unbonding_blocks must be at least epoch_length".into());
        }
        Ok(())
    }

    /// Voting power of `stake`, capped so a full set stays under the proposer schedule's total
    /// (CometBFT's `MaxTotalVotingPower`).
    fn power_of(&self, stake: Amount) -> u64 {
        let cap = MAX_TOTAL_VOTING_POWER as u64 / u64::from(self.max_validators.max(1));
        u64::try_from(stake / self.stake_per_power)
            .unwrap_or(u64::MAX)
            .min(cap)
    }
}

/// Most validators one account delegates to at once (the list `stk/bond/<delegator>` and a
/// withdrawal of all rewards stay bounded).
pub const MAX_DELEGATIONS: usize = 256;

/// 24 hours in milliseconds: the least time between two commission changes.
const DAY_MS: u64 = 86_400_000;

/// A validator's commission (ppm of its rewards).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Commission {
    /// The rate now.
    pub rate_ppm: u32,
    /// The highest rate it may have.
    pub max_rate_ppm: u32,
    /// The most the rate may move in 24 hours.
    pub max_change_ppm: u32,
    /// Block time of the last change (ms since the Unix epoch; 0: never changed).
    #[serde(with = "dec_u64")]
    pub updated_ms: u64,
}

impl Default for Commission {
    fn default() -> Self {
        Self {
            rate_ppm: 0,
            max_rate_ppm: 1_000_000,
            max_change_ppm: 10_000,
            updated_ms: 0,
        }
    }
}

/// A validator's record (`stk/val/<address>`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    /// The account that registered it, receives its commission and signs its staking txs.
    pub operator: Address,
    /// Consensus key.
    pub pubkey: PublicKey,
    /// Bonded stake, of every delegator.
    #[serde(with = "dec_u128")]
    pub stake: Amount,
    /// Delegator shares outstanding (`stake` is what they are worth).
    #[serde(with = "dec_u128")]
    pub shares: Amount,
    /// The operator's own shares.
    #[serde(with = "dec_u128")]
    pub self_shares: Amount,
    /// Number of delegations (the operator's own included).
    #[serde(with = "dec_u64")]
    pub delegators: u64,
    /// Its commission.
    pub commission: Commission,
    /// Rewards per share since genesis (see [`distribution`]).
    #[serde(skip)]
    pub reward_index: RewardIndex,
    /// Out of the set until unjailed.
    pub jailed: bool,
    /// `unjail` is refused before this height.
    #[serde(with = "dec_u64")]
    pub jailed_until: u64,
    /// Jailed for good (double signing).
    pub tombstoned: bool,
    /// Heights within the downtime window whose commit it did not sign.
    pub missed: Vec<u64>,
}

impl Validator {
    fn new(operator: Address, pubkey: PublicKey) -> Self {
        Self {
            operator,
            pubkey,
            stake: 0,
            shares: 0,
            self_shares: 0,
            delegators: 0,
            commission: Commission::default(),
            reward_index: RewardIndex::default(),
            jailed: false,
            jailed_until: 0,
            tombstoned: false,
            missed: vec![],
        }
    }

    /// What `shares` of this validator are worth, rounded down.
    pub fn tokens_of(&self, shares: Amount) -> Amount {
        if shares >= self.shares {
            return if shares == self.shares { self.stake } else { 0 };
        }
        mul_div(shares, self.stake, self.shares).unwrap_or(0)
    }

    /// What the operator's own delegation is worth.
    pub fn self_stake(&self) -> Amount {
        self.tokens_of(self.self_shares)
    }

    /// Whether someone other than the operator delegates to it.
    fn has_other_delegators(&self) -> bool {
        self.delegators > u64::from(self.self_shares > 0)
    }
}

/// A delegation (`stk/del/<delegator><validator>`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Delegation {
    /// Its shares of the validator.
    pub shares: Amount,
    /// The validator's reward index at its last withdrawal.
    pub reward_index: RewardIndex,
}

/// A delegation as queries show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationView {
    /// Who delegates.
    pub delegator: Address,
    /// To whom.
    pub validator: Address,
    /// Its shares.
    #[serde(with = "dec_u128")]
    pub shares: Amount,
    /// What they are worth.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
    /// Rewards earned and not yet withdrawn.
    #[serde(with = "dec_u128")]
    pub pending_rewards: Amount,
}

/// An unbonding entry (`stk/unb/<due><delegator><validator>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct UnbondingEntry {
    /// Height of the (last) undelegation that created it.
    created: u64,
    /// What was undelegated (slashes take their fraction of this).
    initial: Amount,
    /// What will be paid (less after slashes).
    balance: Amount,
}

/// Funds unbonding, as queries show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbonding {
    /// Who gets the funds.
    pub delegator: Address,
    /// The validator they left.
    pub validator: Address,
    /// When they are paid.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// How much.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
}

/// A redelegation entry (`stk/red/<src><delegator><dst><due>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct RedelegationEntry {
    /// Height of the (last) redelegation that created it.
    created: u64,
    /// Stake moved (slashes of the source take their fraction of this).
    initial: Amount,
}

const SET_KEY: &[u8] = b"stk/set";
/// Name of the staking parameters in proposals and `prm/`.
pub const PARAMS_NAME: &str = "staking";
const VAL_PREFIX: &[u8] = b"stk/val/";
const BOND_PREFIX: &[u8] = b"stk/bond/";
const DEL_PREFIX: &[u8] = b"stk/del/";
const DEL_BY_VAL_PREFIX: &[u8] = b"stk/delv/";
const UNB_PREFIX: &[u8] = b"stk/unb/";
/// The unbonding entries by delegator first (`stk/unbd/<delegator><due><validator>`).
const UNB_BY_DEL_PREFIX: &[u8] = b"stk/unbd/";
/// The unbonding entries by validator first (`stk/unbv/<validator><due><delegator>`): a slash
/// reads that validator's entries alone.
const UNB_BY_VAL_PREFIX: &[u8] = b"stk/unbv/";
const RED_PREFIX: &[u8] = b"stk/red/";
/// Redelegations by maturity (`stk/redq/<due><src><delegator><dst>`).
const RED_QUEUE_PREFIX: &[u8] = b"stk/redq/";
/// Redelegations by delegator and destination (`stk/redto/<delegator><dst><src><due>`): the
/// one-hop check reads a delegator's entries into one validator alone.
const RED_TO_PREFIX: &[u8] = b"stk/redto/";
/// The validators eligible for the set, by stake (`stk/pow/<!stake><address>` → consensus key):
/// highest stake first, ties by lower address, so a recomputation reads `max_validators`
/// entries however many validators were ever registered (Cosmos's `ValidatorsByPowerIndex`).
const POWER_PREFIX: &[u8] = b"stk/pow/";
const EVIDENCE_PREFIX: &[u8] = b"stk/ev/";

fn evidence_key(h: &crate::types::Hash) -> Vec<u8> {
    key(EVIDENCE_PREFIX, &[&h.0])
}

fn validator_key(a: &Address) -> Vec<u8> {
    key(VAL_PREFIX, &[&a.0])
}

fn bond_key(a: &Address) -> Vec<u8> {
    key(BOND_PREFIX, &[&a.0])
}

fn delegation_key(delegator: &Address, validator: &Address) -> Vec<u8> {
    key(DEL_PREFIX, &[&delegator.0, &validator.0])
}

fn delegation_by_val_key(validator: &Address, delegator: &Address) -> Vec<u8> {
    key(DEL_BY_VAL_PREFIX, &[&validator.0, &delegator.0])
}

/// Writes (or, with `None`, deletes) an unbonding entry and its two mirrors.
fn put_unbonding(
    ctx: &mut TxContext<'_, '_>,
    due: u64,
    delegator: &Address,
    validator: &Address,
    entry: Option<&UnbondingEntry>,
) {
    let d = due.to_be_bytes();
    let keys = [
        key(UNB_PREFIX, &[&d, &delegator.0, &validator.0]),
        key(UNB_BY_DEL_PREFIX, &[&delegator.0, &d, &validator.0]),
        key(UNB_BY_VAL_PREFIX, &[&validator.0, &d, &delegator.0]),
    ];
    for k in keys {
        match entry {
            Some(e) => ctx.set_object(k, enc(e)),
            None => ctx.delete_object(k),
        }
    }
}

/// Writes (or deletes) a redelegation entry and its two mirrors.
fn put_redelegation(
    ctx: &mut TxContext<'_, '_>,
    src: &Address,
    delegator: &Address,
    dst: &Address,
    due: u64,
    entry: Option<&RedelegationEntry>,
) {
    let d = due.to_be_bytes();
    let main = key(RED_PREFIX, &[&src.0, &delegator.0, &dst.0, &d]);
    let mirrors = [
        key(RED_QUEUE_PREFIX, &[&d, &src.0, &delegator.0, &dst.0]),
        key(RED_TO_PREFIX, &[&delegator.0, &dst.0, &src.0, &d]),
    ];
    match entry {
        Some(e) => {
            ctx.set_object(main, enc(e));
            for k in mirrors {
                ctx.set_object(k, vec![]);
            }
        }
        None => {
            ctx.delete_object(main);
            for k in mirrors {
                ctx.delete_object(k);
            }
        }
    }
}

/// Reads of staking state outside a block (RPC, the node, the chain's commit checks).
pub struct StakingReader<'a>(pub &'a StateManager);

impl StakingReader<'_> {
    fn read<T: BorshDeserialize>(
        &self,
        what: &'static str,
        k: &[u8],
        height: Option<u64>,
    ) -> Result<Option<T>, StateError> {
        let v = match height {
            None => self.0.object(k)?,
            Some(h) => self.0.object_at(k, h)?,
        };
        match v {
            Some(b) => Ok(Some(decode(what, &b)?)),
            None => Ok(None),
        }
    }

    /// The validator set that validates block `height` (the set stored after block `height - 1`);
    /// `None` for genesis, or when that state is not stored.
    pub fn set_for(&self, height: u64) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
        let Some(prev) = height.checked_sub(1) else {
            return Ok(None);
        };
        self.read("validator set", SET_KEY, Some(prev))
    }

    /// The set that validates the next block (latest state).
    pub fn next_set(&self) -> Result<Vec<ValidatorInfo>, StateError> {
        self.read("validator set", SET_KEY, None)?
            .ok_or_else(|| StateError::Tree("no validator set in state".into()))
    }

    /// A validator's record (latest state).
    pub fn validator(&self, address: &Address) -> Result<Option<Validator>, StateError> {
        self.read("validator", &validator_key(address), None)
    }

    /// What `account`'s delegations are worth, at the head or after block `height`. Reads that
    /// account's delegations only.
    pub fn bonded(&self, account: &Address, height: Option<u64>) -> Result<Amount, StateError> {
        let list: Vec<Address> = self
            .read("delegation list", &bond_key(account), height)?
            .unwrap_or_default();
        let mut total: Amount = 0;
        for v in list {
            let d: Option<Delegation> =
                self.read("delegation", &delegation_key(account, &v), height)?;
            let val: Option<Validator> = self.read("validator", &validator_key(&v), height)?;
            if let (Some(d), Some(val)) = (d, val) {
                total = total.saturating_add(val.tokens_of(d.shares));
            }
        }
        Ok(total)
    }

    fn view(
        &self,
        delegator: &Address,
        validator: &Address,
        val: &Validator,
    ) -> Result<Option<DelegationView>, StateError> {
        let d: Option<Delegation> =
            self.read("delegation", &delegation_key(delegator, validator), None)?;
        Ok(d.map(|d| DelegationView {
            delegator: *delegator,
            validator: *validator,
            shares: d.shares,
            amount: val.tokens_of(d.shares),
            pending_rewards: val.reward_index.rewards_since(d.reward_index, d.shares),
        }))
    }

    /// `delegator`'s delegations (latest state), with what they are worth and their pending
    /// rewards, in the order they were made.
    pub fn delegations(&self, delegator: &Address) -> Result<Vec<DelegationView>, StateError> {
        let list: Vec<Address> = self
            .read("delegation list", &bond_key(delegator), None)?
            .unwrap_or_default();
        let mut out = Vec::with_capacity(list.len());
        for v in list {
            if let Some(val) = self.validator(&v)? {
                out.extend(self.view(delegator, &v, &val)?);
            }
        }
        Ok(out)
    }

    /// Up to `limit` delegations to `validator` with delegator addresses greater than `after`,
    /// in address order, and whether more follow.
    pub fn delegators(
        &self,
        validator: &Address,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<(Vec<DelegationView>, bool), StateError> {
        let Some(val) = self.validator(validator)? else {
            return Ok((vec![], false));
        };
        let prefix = key(DEL_BY_VAL_PREFIX, &[&validator.0]);
        let from = match after {
            Some(a) => key(&prefix, &[&a.0, &[0]]),
            None => prefix.clone(),
        };
        let rows = self
            .0
            .objects_in(&from, &prefix_end(&prefix), limit.saturating_add(1))?;
        let more = rows.len() > limit;
        let mut out = Vec::with_capacity(rows.len().min(limit));
        for (k, _) in rows.into_iter().take(limit) {
            let d = address_at(&k, prefix.len())?;
            out.extend(self.view(&d, validator, &val)?);
        }
        Ok((out, more))
    }

    /// The community pool's balance.
    pub fn community_pool(&self) -> Result<Amount, StateError> {
        Ok(self.read("community pool", POOL_KEY, None)?.unwrap_or(0))
    }

    /// Rewards credited to delegators and not yet withdrawn (with the rounding left over).
    pub fn outstanding_rewards(&self) -> Result<Amount, StateError> {
        Ok(self
            .read("outstanding rewards", OUTSTANDING_KEY, None)?
            .unwrap_or(0))
    }

    /// Tokens minted and burned since genesis.
    pub fn supply(&self) -> Result<Supply, StateError> {
        Ok(self.read("supply", SUPPLY_KEY, None)?.unwrap_or_default())
    }

    /// Whether the evidence with this hash was already punished.
    pub fn evidence_seen(&self, hash: &crate::types::Hash) -> Result<bool, StateError> {
        Ok(self.0.object(&evidence_key(hash))?.is_some())
    }

    /// The height at which the earliest unbonding entry still pending pays out (latest state;
    /// reads one entry).
    pub fn next_unbonding_due(&self) -> Result<Option<u64>, StateError> {
        match self
            .0
            .objects_in(UNB_PREFIX, &prefix_end(UNB_PREFIX), 1)?
            .first()
        {
            Some((k, _)) => Ok(Some(height_at(k, UNB_PREFIX.len())?)),
            None => Ok(None),
        }
    }

    /// Funds of `delegator` still unbonding (latest state), earliest first. Reads that
    /// delegator's entries only.
    pub fn unbonding(&self, delegator: &Address) -> Result<Vec<Unbonding>, StateError> {
        let prefix = key(UNB_BY_DEL_PREFIX, &[&delegator.0]);
        let rows = self
            .0
            .objects_in(&prefix, &prefix_end(&prefix), usize::MAX)?;
        rows.into_iter()
            .map(|(k, v)| {
                let e: UnbondingEntry = decode("unbonding", &v)?;
                Ok(Unbonding {
                    delegator: *delegator,
                    validator: address_at(&k, prefix.len() + 8)?,
                    height: height_at(&k, prefix.len())?,
                    amount: e.balance,
                })
            })
            .collect()
    }

    /// Every amount still unbonding, summed (for supply checks: reads the whole queue).
    pub fn total_unbonding(&self) -> Result<Amount, StateError> {
        let rows = self
            .0
            .objects_in(UNB_PREFIX, &prefix_end(UNB_PREFIX), usize::MAX)?;
        rows.iter().try_fold(0u128, |acc, (_, v)| {
            let e: UnbondingEntry = decode("unbonding", v)?;
            Ok(acc.saturating_add(e.balance))
        })
    }
}

/// A validator at genesis (an entry of `validators` in `genesis.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// Consensus key.
    pub pubkey: PublicKey,
    /// Voting power.
    #[serde(with = "dec_u64")]
    pub power: u64,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// The validator set of the genesis validators, as the chain stores it.
pub fn genesis_set(validators: &[GenesisValidator]) -> Vec<ValidatorInfo> {
    validators
        .iter()
        .map(|v| ValidatorInfo {
            address: v.pubkey.address(),
            pubkey: v.pubkey,
            power: v.power,
        })
        .collect()
}

/// Checks staking's genesis fragment: valid parameters, at most `max_validators` validators,
/// each with a valid key and non-zero power, none twice (the genesis requires at least one).
pub fn validate_genesis(
    params: &StakingParams,
    validators: &[GenesisValidator],
) -> Result<(), String> {
    params.validate()?;
    if validators.len() > params.max_validators as usize {
        return Err(format!(
            "{} validators but staking.max_validators is {}",
            validators.len(),
            params.max_validators
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for v in validators {
        if !crypto::is_valid_public_key(&v.pubkey) {
            return Err(format!(
                "validator key {} is not a valid ed25519 key",
                v.pubkey
            ));
        }
        if v.power == 0 {
            return Err(format!("validator {} has zero power", v.pubkey));
        }
        if !seen.insert(v.pubkey) {
            return Err(format!("validator {} listed twice", v.pubkey));
        }
    }
    Ok(())
}

/// The staking module.
pub struct StakingModule {
    /// The genesis parameters (those in force are [`StakingModule::params`]).
    genesis_params: StakingParams,
    genesis: Vec<GenesisValidator>,
}

fn rule(msg: impl Into<String>) -> TxFailure {
    TxFailure::Rule(msg.into())
}

fn get_validator(ctx: &TxContext<'_, '_>, addr: &Address) -> Result<Validator, TxFailure> {
    get(ctx, "validator", &validator_key(addr))?.ok_or_else(|| rule(format!("no validator {addr}")))
}

/// Whether the min-self-stake rule applies to a removal of shares (a slash's removal is not
/// refused).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// A transaction: the operator's rest must be nothing or at least `min_self_stake`.
    Checked,
    /// A slash of a redelegation: always goes through.
    Forced,
}

impl StakingModule {
    /// The staking module of a chain with `params` whose genesis set is `genesis`.
    pub fn new(params: StakingParams, genesis: Vec<GenesisValidator>) -> Self {
        Self {
            genesis_params: params,
            genesis,
        }
    }

    /// The parameters in force in `src` (the genesis ones until governance changes them).
    pub fn params(&self, src: &(impl ObjectRead + ?Sized)) -> Result<StakingParams, StateError> {
        current_params(src, PARAMS_NAME, &self.genesis_params)
    }

    /// The power index key of `v` (address `addr`), if it is eligible for the set: not jailed,
    /// its operator's own delegation worth at least `min_self_stake`.
    fn power_key(&self, addr: &Address, v: &Validator) -> Option<Vec<u8>> {
        (!v.jailed && v.self_stake() >= self.genesis_params.min_self_stake)
            .then(|| key(POWER_PREFIX, &[&(!v.stake).to_be_bytes(), &addr.0]))
    }

    /// Writes validator `addr`'s record and keeps the power index in step with it; `old` is the
    /// power key of the record as it was ([`Self::power_key`] before the change).
    fn save_validator(
        &self,
        ctx: &mut TxContext<'_, '_>,
        addr: &Address,
        old: Option<Vec<u8>>,
        v: &Validator,
    ) {
        let new = self.power_key(addr, v);
        if old != new {
            if let Some(k) = old {
                ctx.delete_object(k);
            }
            if let Some(k) = new {
                ctx.set_object(k, enc(&v.pubkey));
            }
        }
        ctx.set_object(validator_key(addr), enc(v));
    }

    fn operated(
        ctx: &TxContext<'_, '_>,
        validator: &Address,
        signer: &Address,
    ) -> Result<Validator, TxFailure> {
        let v = get_validator(ctx, validator)?;
        if v.operator != *signer {
            return Err(rule(format!(
                "validator {validator} is operated by {}, not {signer}",
                v.operator
            )));
        }
        Ok(v)
    }

    /// Adds `amount` of stake to `delegator`'s delegation to `addr` (its tokens already taken
    /// from wherever they come) and returns the shares minted. Pays the delegation's pending
    /// rewards first.
    fn bond(
        &self,
        ctx: &mut TxContext<'_, '_>,
        delegator: &Address,
        addr: &Address,
        mut v: Validator,
        amount: Amount,
    ) -> Result<Amount, TxFailure> {
        if amount == 0 {
            return Err(rule("amount must be positive"));
        }
        if v.tombstoned {
            return Err(rule(format!(
                "validator {addr} was jailed for good (double signing)"
            )));
        }
        let shares = if v.shares == 0 {
            amount
        } else {
            if v.stake == 0 {
                return Err(rule(format!(
                    "validator {addr} has no stake left: its shares are worth nothing"
                )));
            }
            mul_div(amount, v.shares, v.stake).ok_or_else(|| rule("stake overflow"))?
        };
        if shares == 0 {
            return Err(rule(format!(
                "{amount} is worth less than one share of validator {addr}"
            )));
        }
        let dk = delegation_key(delegator, addr);
        let mut d = match get::<Delegation>(ctx, "delegation", &dk)? {
            Some(mut d) => {
                settle_rewards(ctx, delegator, addr, v.reward_index, &mut d)?;
                d
            }
            None => {
                let bk = bond_key(delegator);
                let mut list: Vec<Address> = get(ctx, "delegation list", &bk)?.unwrap_or_default();
                if list.len() >= MAX_DELEGATIONS {
                    return Err(rule(format!(
                        "{delegator} already delegates to {MAX_DELEGATIONS} validators, the most \
                         one account may"
                    )));
                }
                list.push(*addr);
                ctx.set_object(bk, enc(&list));
                ctx.set_object(delegation_by_val_key(addr, delegator), vec![]);
                v.delegators += 1;
                Delegation::default()
            }
        };
        let old = self.power_key(addr, &v);
        v.stake = v
            .stake
            .checked_add(amount)
            .ok_or_else(|| rule("stake overflow"))?;
        v.shares = v
            .shares
            .checked_add(shares)
            .ok_or_else(|| rule("share overflow"))?;
        if *delegator == v.operator {
            v.self_shares += shares;
        }
        d.shares += shares;
        d.reward_index = v.reward_index;
        ctx.set_object(dk, enc(&d));
        self.save_validator(ctx, addr, old, &v);
        Ok(shares)
    }

    /// Takes `amount` of stake out of `delegator`'s delegation to `addr` (the shares worth it,
    /// rounded up) and returns the tokens removed. Pays the delegation's pending rewards first.
    fn unbond(
        &self,
        ctx: &mut TxContext<'_, '_>,
        delegator: &Address,
        addr: &Address,
        amount: Amount,
        removal: Removal,
    ) -> Result<Amount, TxFailure> {
        if amount == 0 {
            return Err(rule("amount must be positive"));
        }
        let mut v = get_validator(ctx, addr)?;
        let dk = delegation_key(delegator, addr);
        let mut d: Delegation = get(ctx, "delegation", &dk)?
            .ok_or_else(|| rule(format!("{delegator} has no delegation to {addr}")))?;
        let have = v.tokens_of(d.shares);
        if amount > have {
            return Err(rule(format!(
                "cannot take {amount}: the delegation of {delegator} to {addr} is worth {have}"
            )));
        }
        let shares = if amount == have {
            d.shares
        } else {
            mul_div_up(amount, v.shares, v.stake)
                .ok_or_else(|| rule("share overflow"))?
                .min(d.shares)
        };
        // The last shares take whatever stake is left, so no dust stays without an owner.
        let tokens = if shares == v.shares { v.stake } else { amount };
        let old = self.power_key(addr, &v);
        v.stake -= tokens;
        v.shares -= shares;
        if *delegator == v.operator {
            v.self_shares -= shares;
            let rest = v.self_stake();
            let min = self.genesis_params.min_self_stake;
            if removal == Removal::Checked && rest > 0 && rest < min {
                return Err(rule(format!(
                    "taking {amount} would leave the operator's own stake at {rest}, below the \
                     minimum {min}; take all {have} instead"
                )));
            }
        }
        settle_rewards(ctx, delegator, addr, v.reward_index, &mut d)?;
        d.shares -= shares;
        if d.shares == 0 {
            ctx.delete_object(dk);
            ctx.delete_object(delegation_by_val_key(addr, delegator));
            let bk = bond_key(delegator);
            let mut list: Vec<Address> = get(ctx, "delegation list", &bk)?.unwrap_or_default();
            list.retain(|a| a != addr);
            if list.is_empty() {
                ctx.delete_object(bk);
            } else {
                ctx.set_object(bk, enc(&list));
            }
            v.delegators = v.delegators.saturating_sub(1);
        } else {
            ctx.set_object(dk, enc(&d));
        }
        self.save_validator(ctx, addr, old, &v);
        Ok(tokens)
    }

    /// Fails if `max_entries` entries under `prefix` already satisfy `matches` (given the rest
    /// of their key after the prefix).
    fn check_entries(
        &self,
        ctx: &TxContext<'_, '_>,
        prefix: &[u8],
        matches: impl Fn(&[u8]) -> bool,
        what: &str,
    ) -> Result<(), TxFailure> {
        let rows = ctx.objects_in(prefix, &prefix_end(prefix), usize::MAX)?;
        let n = rows
            .iter()
            .filter(|(k, _)| matches(&k[prefix.len()..]))
            .count();
        if n >= self.params(ctx)?.max_entries as usize {
            return Err(rule(format!(
                "{what} already has {n} entries maturing, the most allowed (staking.max_entries)"
            )));
        }
        Ok(())
    }

    /// Undelegates `amount` (an `unstake` or `undelegate`, the event's `kind`) into an
    /// unbonding entry due `unbonding_blocks` from now.
    fn start_unbonding(
        &self,
        ctx: &mut TxContext<'_, '_>,
        kind: &str,
        delegator: &Address,
        addr: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        let height = ctx.height();
        let due = height.saturating_add(self.params(ctx)?.unbonding_blocks.max(1));
        let d = due.to_be_bytes();
        let k = key(UNB_PREFIX, &[&d, &delegator.0, &addr.0]);
        let existing: Option<UnbondingEntry> = get(ctx, "unbonding", &k)?;
        if existing.is_none() {
            self.check_entries(
                ctx,
                &key(UNB_BY_DEL_PREFIX, &[&delegator.0]),
                |rest| rest.get(8..) == Some(&addr.0[..]),
                &format!("the delegation of {delegator} to {addr}"),
            )?;
        }
        let tokens = self.unbond(ctx, delegator, addr, amount, Removal::Checked)?;
        let e = existing.map_or(
            UnbondingEntry {
                created: height,
                initial: tokens,
                balance: tokens,
            },
            |e| UnbondingEntry {
                created: height,
                initial: e.initial + tokens,
                balance: e.balance + tokens,
            },
        );
        put_unbonding(ctx, due, delegator, addr, Some(&e));
        ctx.emit(
            kind,
            &[
                ("delegator", &delegator),
                ("validator", &addr),
                ("amount", &tokens),
                ("returns_at_height", &due),
            ],
        );
        Ok(())
    }

    fn stake(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        validator_key_: &PublicKey,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        if amount == 0 {
            return Err(rule("stake amount must be positive"));
        }
        let addr = validator_key_.address();
        let v = match get::<Validator>(ctx, "validator", &validator_key(&addr))? {
            Some(v) => {
                if v.operator != signer {
                    return Err(rule(format!(
                        "validator {addr} is operated by {}, not {signer}",
                        v.operator
                    )));
                }
                v
            }
            None => {
                if !crate::crypto::is_valid_public_key(validator_key_) {
                    return Err(rule(format!(
                        "validator key {validator_key_} is not a valid ed25519 key"
                    )));
                }
                if amount < self.genesis_params.min_self_stake {
                    return Err(rule(format!(
                        "registering a validator needs at least {} staked, got {amount}",
                        self.genesis_params.min_self_stake
                    )));
                }
                Validator::new(signer, *validator_key_)
            }
        };
        debit(ctx, &signer, amount)?;
        self.bond(ctx, &signer, &addr, v, amount)?;
        let stake = get_validator(ctx, &addr)?.stake;
        ctx.emit(
            "stake",
            &[
                ("validator", &addr),
                ("operator", &signer),
                ("amount", &amount),
                ("stake", &stake),
            ],
        );
        Ok(())
    }

    fn delegate(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        addr: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        let v = get_validator(ctx, addr)?;
        debit(ctx, &signer, amount)?;
        let shares = self.bond(ctx, &signer, addr, v, amount)?;
        ctx.emit(
            "delegate",
            &[
                ("delegator", &signer),
                ("validator", &addr),
                ("amount", &amount),
                ("shares", &shares),
            ],
        );
        Ok(())
    }

    fn redelegate(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        src: &Address,
        dst: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        if src == dst {
            return Err(rule("source and destination validators are the same"));
        }
        let dst_v = get_validator(ctx, dst)?;
        // One hop at a time: stake that arrived at `src` by redelegation waits for its entry.
        let into_src = key(RED_TO_PREFIX, &[&signer.0, &src.0]);
        if let Some((k, _)) = ctx
            .objects_in(&into_src, &prefix_end(&into_src), 1)?
            .first()
        {
            let due = height_at(k, into_src.len() + 20)?;
            return Err(rule(format!(
                "stake of {signer} was redelegated to {src} and cannot move on before height \
                 {due} (one hop at a time)"
            )));
        }
        let height = ctx.height();
        let due = height.saturating_add(self.params(ctx)?.unbonding_blocks.max(1));
        let k = key(RED_PREFIX, &[&src.0, &signer.0, &dst.0, &due.to_be_bytes()]);
        let existing: Option<RedelegationEntry> = get(ctx, "redelegation", &k)?;
        if existing.is_none() {
            self.check_entries(
                ctx,
                &key(RED_PREFIX, &[&src.0, &signer.0, &dst.0]),
                |_| true,
                &format!("the redelegation of {signer} from {src} to {dst}"),
            )?;
        }
        let tokens = self.unbond(ctx, &signer, src, amount, Removal::Checked)?;
        self.bond(ctx, &signer, dst, dst_v, tokens)?;
        let e = RedelegationEntry {
            created: height,
            initial: existing.map_or(0, |e| e.initial) + tokens,
        };
        put_redelegation(ctx, src, &signer, dst, due, Some(&e));
        ctx.emit(
            "redelegate",
            &[
                ("delegator", &signer),
                ("src_validator", &src),
                ("dst_validator", &dst),
                ("amount", &tokens),
                ("matures_at_height", &due),
            ],
        );
        Ok(())
    }

    fn withdraw(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        validator: Option<&Address>,
    ) -> Result<(), TxFailure> {
        let list: Vec<Address> = match validator {
            Some(v) => vec![*v],
            None => get(ctx, "delegation list", &bond_key(&signer))?.unwrap_or_default(),
        };
        if list.is_empty() {
            return Err(rule(format!("{signer} delegates to no validator")));
        }
        for addr in list {
            let v = get_validator(ctx, &addr)?;
            let dk = delegation_key(&signer, &addr);
            let mut d: Delegation = get(ctx, "delegation", &dk)?
                .ok_or_else(|| rule(format!("{signer} has no delegation to {addr}")))?;
            settle_rewards(ctx, &signer, &addr, v.reward_index, &mut d)?;
            ctx.set_object(dk, enc(&d));
        }
        Ok(())
    }

    fn edit_commission(
        &self,
        ctx: &mut TxContext<'_, '_>,
        signer: Address,
        addr: &Address,
        new: Commission,
    ) -> Result<(), TxFailure> {
        let mut v = Self::operated(ctx, addr, &signer)?;
        let old = v.commission;
        if new.max_rate_ppm > 1_000_000 {
            return Err(rule("max_rate_ppm must be at most 1000000 (100 %)"));
        }
        if new.rate_ppm > new.max_rate_ppm {
            return Err(rule(format!(
                "rate_ppm {} is above max_rate_ppm {}",
                new.rate_ppm, new.max_rate_ppm
            )));
        }
        if new.max_change_ppm > new.max_rate_ppm {
            return Err(rule(format!(
                "max_change_ppm {} is above max_rate_ppm {}",
                new.max_change_ppm, new.max_rate_ppm
            )));
        }
        let now = ctx.time();
        if v.has_other_delegators() {
            if new.max_rate_ppm > old.max_rate_ppm || new.max_change_ppm > old.max_change_ppm {
                return Err(rule(format!(
                    "validator {addr} has delegators: its max_rate_ppm ({}) and max_change_ppm \
                     ({}) may only go down",
                    old.max_rate_ppm, old.max_change_ppm
                )));
            }
            if new.rate_ppm.abs_diff(old.rate_ppm) > old.max_change_ppm {
                return Err(rule(format!(
                    "the rate may move by at most {} ppm a day, not from {} to {}",
                    old.max_change_ppm, old.rate_ppm, new.rate_ppm
                )));
            }
            if old.updated_ms > 0 && now < old.updated_ms.saturating_add(DAY_MS) {
                return Err(rule(format!(
                    "the commission of {addr} changed less than 24 hours ago: next change from \
                     block time {} ms",
                    old.updated_ms + DAY_MS
                )));
            }
        }
        v.commission = Commission {
            updated_ms: now,
            ..new
        };
        ctx.set_object(validator_key(addr), enc(&v));
        ctx.emit(
            "edit_commission",
            &[
                ("validator", &addr),
                ("rate_ppm", &new.rate_ppm),
                ("max_rate_ppm", &new.max_rate_ppm),
                ("max_change_ppm", &new.max_change_ppm),
            ],
        );
        Ok(())
    }

    fn unjail(
        &self,
        ctx: &mut TxContext<'_, '_>,
        height: u64,
        signer: Address,
        validator: &Address,
    ) -> Result<(), TxFailure> {
        let mut v = Self::operated(ctx, validator, &signer)?;
        if v.tombstoned {
            return Err(rule(format!(
                "validator {validator} was jailed for good (double signing)"
            )));
        }
        if !v.jailed {
            return Err(rule(format!("validator {validator} is not jailed")));
        }
        if height < v.jailed_until {
            return Err(rule(format!(
                "validator {validator} is jailed until height {}",
                v.jailed_until
            )));
        }
        if v.self_stake() < self.genesis_params.min_self_stake {
            return Err(rule(format!(
                "validator {validator}'s operator has {} staked, below the minimum {}",
                v.self_stake(),
                self.genesis_params.min_self_stake
            )));
        }
        let old = self.power_key(validator, &v);
        v.jailed = false;
        self.save_validator(ctx, validator, old, &v);
        ctx.emit("unjail", &[("validator", &validator)]);
        Ok(())
    }

    /// Start of a block: matured unbondings are paid, matured redelegations forgotten, downtime
    /// is counted.
    fn mature_and_count_downtime(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        let h = info.height.to_be_bytes();
        let prefix = key(UNB_PREFIX, &[&h]);
        // As many entries as undelegations became due here: bounded by that block's txs.
        for (k, v) in ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)? {
            let e: UnbondingEntry = decode("unbonding", &v)?;
            let delegator = address_at(&k, prefix.len())?;
            let validator = address_at(&k, prefix.len() + 20)?;
            credit(ctx, &delegator, e.balance)?;
            put_unbonding(ctx, info.height, &delegator, &validator, None);
        }
        let prefix = key(RED_QUEUE_PREFIX, &[&h]);
        for (k, _) in ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)? {
            let src = address_at(&k, prefix.len())?;
            let delegator = address_at(&k, prefix.len() + 20)?;
            let dst = address_at(&k, prefix.len() + 40)?;
            put_redelegation(ctx, &src, &delegator, &dst, info.height, None);
        }
        let (Some(commit), Some(last_set)) = (info.last_commit, info.last_set) else {
            return Ok(());
        };
        let missed_height = info.height - 1;
        let p = self.params(ctx)?;
        let window_start = missed_height.saturating_sub(p.downtime_window - 1);
        for val in last_set {
            let signed = commit.signatures.iter().any(|s| s.validator == val.address);
            let Some(mut v) = get::<Validator>(ctx, "validator", &validator_key(&val.address))?
            else {
                continue;
            };
            let missed_before = v.missed.len();
            v.missed.retain(|h| *h >= window_start);
            if !signed {
                v.missed.push(missed_height);
            }
            if v.missed.len() == missed_before && signed {
                continue;
            }
            if v.missed.len() as u64 > p.downtime_max_missed && !v.jailed {
                let missed = v.missed.len();
                v.missed.clear();
                v.jailed_until = info.height.saturating_add(p.downtime_jail_blocks);
                let old = self.power_key(&val.address, &v);
                v.jailed = true;
                self.save_validator(ctx, &val.address, old, &v);
                let cut = self.slash(ctx, &val.address, missed_height, p.downtime_slash_ppm)?;
                tracing::warn!(target: "batara::staking", validator = %val.address, missed, slashed = %cut, "jailed for downtime");
            } else {
                let old = self.power_key(&val.address, &v);
                self.save_validator(ctx, &val.address, old, &v);
            }
        }
        Ok(())
    }

    /// Burns `ppm` of validator `addr`'s stake, of its unbonding entries created at or after
    /// `infraction`, and of its redelegations created since then (from their destinations).
    /// Returns what was burned.
    fn slash(
        &self,
        ctx: &mut TxContext<'_, '_>,
        addr: &Address,
        infraction: u64,
        ppm: u32,
    ) -> Result<Amount, StateError> {
        let Some(mut v) = get::<Validator>(ctx, "validator", &validator_key(addr))? else {
            return Ok(0);
        };
        let old = self.power_key(addr, &v);
        let mut burned = ppm_of(v.stake, ppm);
        v.stake -= burned;
        self.save_validator(ctx, addr, old, &v);
        // Unbonding entries of this validator: still maturing, so bounded by the undelegations
        // of one unbonding period (and `max_entries` per delegation).
        let prefix = key(UNB_BY_VAL_PREFIX, &[&addr.0]);
        for (k, val) in ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)? {
            let mut e: UnbondingEntry = decode("unbonding", &val)?;
            if e.created < infraction {
                continue;
            }
            let cut = ppm_of(e.initial, ppm).min(e.balance);
            e.balance -= cut;
            burned += cut;
            let due = height_at(&k, prefix.len())?;
            let delegator = address_at(&k, prefix.len() + 8)?;
            put_unbonding(ctx, due, &delegator, addr, Some(&e));
        }
        let prefix = key(RED_PREFIX, &[&addr.0]);
        for (k, val) in ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)? {
            let e: RedelegationEntry = decode("redelegation", &val)?;
            if e.created < infraction {
                continue;
            }
            let delegator = address_at(&k, prefix.len())?;
            let dst = address_at(&k, prefix.len() + 20)?;
            let Some(dv) = get::<Validator>(ctx, "validator", &validator_key(&dst))? else {
                continue;
            };
            let Some(d) = get::<Delegation>(ctx, "delegation", &delegation_key(&delegator, &dst))?
            else {
                continue;
            };
            let cut = ppm_of(e.initial, ppm).min(dv.tokens_of(d.shares));
            if cut == 0 {
                continue;
            }
            match self.unbond(ctx, &delegator, &dst, cut, Removal::Forced) {
                Ok(t) => burned += t,
                Err(TxFailure::State(e)) => return Err(e),
                Err(TxFailure::Rule(why)) => {
                    tracing::error!(target: "batara::staking", %delegator, %dst, %why, "redelegation slash skipped");
                }
            }
        }
        count_supply(ctx, 0, burned)?;
        ctx.emit(
            "slash",
            &[
                ("validator", &addr),
                ("infraction_height", &infraction),
                ("fraction_ppm", &ppm),
                ("burned", &burned),
            ],
        );
        Ok(burned)
    }

    /// Credits validator `addr`'s part of a block's rewards: its commission to the operator,
    /// the rest to its delegators' index (to the community pool if it has no delegators).
    fn allot(
        &self,
        ctx: &mut TxContext<'_, '_>,
        addr: &Address,
        amount: Amount,
    ) -> Result<(), StateError> {
        if amount == 0 {
            return Ok(());
        }
        let Some(mut v) = get::<Validator>(ctx, "validator", &validator_key(addr))? else {
            return add_amount(ctx, POOL_KEY, amount);
        };
        if v.shares == 0 {
            return add_amount(ctx, POOL_KEY, amount);
        }
        let commission = ppm_of(amount, v.commission.rate_ppm);
        credit(ctx, &v.operator, commission)?;
        let rest = amount - commission;
        v.reward_index = v.reward_index.add(rest, v.shares);
        add_amount(ctx, OUTSTANDING_KEY, rest)?;
        ctx.set_object(validator_key(addr), enc(&v));
        Ok(())
    }

    /// End of a block: fees and rewards, and the set for the next block (at an epoch boundary, or
    /// when a validator of this block's set has been jailed).
    fn pay_and_rotate(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        let p = &self.params(ctx)?;
        count_supply(ctx, p.block_reward, 0)?;
        let total_reward = info.fees.saturating_add(p.block_reward);
        let tax = ppm_of(total_reward, p.community_tax_ppm);
        add_amount(ctx, POOL_KEY, tax)?;
        let reward = total_reward - tax;
        let bonus = reward * Amount::from(p.proposer_reward_percent) / 100;
        let rest = reward - bonus;
        let total: u128 = info.set.iter().map(|v| u128::from(v.power)).sum();
        let mut paid = 0;
        if total > 0 && rest > 0 {
            for v in info.set {
                let share = mul_div(rest, u128::from(v.power), total).unwrap_or(0);
                if v.address == info.proposer {
                    continue;
                }
                self.allot(ctx, &v.address, share)?;
                paid += share;
            }
        }
        self.allot(ctx, &info.proposer, reward - paid)?;
        let mut jailed = false;
        for v in info.set {
            jailed |= get::<Validator>(ctx, "validator", &validator_key(&v.address))?
                .is_some_and(|r| r.jailed);
        }
        if jailed || info.height.is_multiple_of(p.epoch_length) {
            self.recompute_set(ctx)?;
        }
        Ok(())
    }

    /// The set for the next block: the first `max_validators` entries of the power index (the
    /// eligible validators, highest stake first). Reads that many entries, not every validator.
    fn recompute_set(&self, ctx: &mut TxContext<'_, '_>) -> Result<(), StateError> {
        let p = self.params(ctx)?;
        let rows = ctx.objects_in(
            POWER_PREFIX,
            &prefix_end(POWER_PREFIX),
            p.max_validators as usize,
        )?;
        let mut set = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let rest = &k[POWER_PREFIX.len()..];
            if rest.len() != 16 + 20 {
                return Err(StateError::Tree(format!(
                    "bad power index key of {} bytes",
                    k.len()
                )));
            }
            let stake = !Amount::from_be_bytes(rest[..16].try_into().expect("16 bytes"));
            set.push(ValidatorInfo {
                address: Address(rest[16..].try_into().expect("20 bytes")),
                pubkey: decode("consensus key", &v)?,
                power: p.power_of(stake),
            });
        }
        if set.is_empty() {
            tracing::error!(target: "batara::staking", "no eligible validators: keeping the current set");
            return Ok(());
        }
        ctx.set_object(SET_KEY.to_vec(), enc(&set));
        Ok(())
    }

    /// Slashes a validator caught double signing at `infraction` by `double_sign_slash_ppm` and
    /// jails it for good (it leaves the set at the next block). The chain verified the evidence.
    fn slash_for_double_sign(
        &self,
        ctx: &mut TxContext<'_, '_>,
        validator: &Address,
        infraction: u64,
    ) -> Result<(), StateError> {
        let Some(mut v) = get::<Validator>(ctx, "validator", &validator_key(validator))? else {
            return Ok(());
        };
        if v.tombstoned {
            return Ok(());
        }
        let old = self.power_key(validator, &v);
        v.jailed = true;
        v.tombstoned = true;
        v.jailed_until = u64::MAX;
        self.save_validator(ctx, validator, old, &v);
        let cut = self.slash(
            ctx,
            validator,
            infraction,
            self.params(ctx)?.double_sign_slash_ppm,
        )?;
        tracing::warn!(target: "batara::staking", %validator, slashed = %cut, "jailed for good: double signing");
        Ok(())
    }
}

impl Module for StakingModule {
    fn name(&self) -> &'static str {
        "staking"
    }

    fn handles(&self, kind: &TxKind) -> bool {
        matches!(
            kind,
            TxKind::Stake { .. }
                | TxKind::Unstake { .. }
                | TxKind::Unjail { .. }
                | TxKind::Delegate { .. }
                | TxKind::Undelegate { .. }
                | TxKind::Redelegate { .. }
                | TxKind::WithdrawRewards { .. }
                | TxKind::EditCommission { .. }
        )
    }

    fn spend(&self, kind: &TxKind) -> Amount {
        match kind {
            TxKind::Stake { amount, .. } | TxKind::Delegate { amount, .. } => *amount,
            _ => 0,
        }
    }

    /// One record per genesis validator (stake = power × `stake_per_power`, self-delegated by
    /// the consensus key's own address, which operates it) and the first set.
    fn init_genesis(&self, ctx: &mut TxContext<'_, '_>) -> Result<(), StateError> {
        let p = &self.genesis_params;
        for v in &self.genesis {
            let addr = v.pubkey.address();
            let stake = Amount::from(v.power).saturating_mul(p.stake_per_power);
            let mut rec = Validator::new(addr, v.pubkey);
            rec.stake = stake;
            rec.shares = stake;
            rec.self_shares = stake;
            rec.delegators = 1;
            self.save_validator(ctx, &addr, None, &rec);
            let d = Delegation {
                shares: stake,
                reward_index: RewardIndex::default(),
            };
            ctx.set_object(delegation_key(&addr, &addr), enc(&d));
            ctx.set_object(delegation_by_val_key(&addr, &addr), vec![]);
            ctx.set_object(bond_key(&addr), enc(&vec![addr]));
        }
        ctx.set_object(SET_KEY.to_vec(), enc(&genesis_set(&self.genesis)));
        Ok(())
    }

    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure> {
        let signer = tx.sender();
        let height = ctx.height();
        match &tx.body.kind {
            TxKind::Stake {
                validator_key,
                amount,
            } => self.stake(ctx, signer, validator_key, *amount),
            TxKind::Unstake { validator, amount } => {
                Self::operated(ctx, validator, &signer)?;
                self.start_unbonding(ctx, "unstake", &signer, validator, *amount)
            }
            TxKind::Unjail { validator } => self.unjail(ctx, height, signer, validator),
            TxKind::Delegate { validator, amount } => {
                self.delegate(ctx, signer, validator, *amount)
            }
            TxKind::Undelegate { validator, amount } => {
                self.start_unbonding(ctx, "undelegate", &signer, validator, *amount)
            }
            TxKind::Redelegate {
                src_validator,
                dst_validator,
                amount,
            } => self.redelegate(ctx, signer, src_validator, dst_validator, *amount),
            TxKind::WithdrawRewards { validator } => self.withdraw(ctx, signer, validator.as_ref()),
            TxKind::EditCommission {
                validator,
                rate_ppm,
                max_rate_ppm,
                max_change_ppm,
            } => self.edit_commission(
                ctx,
                signer,
                validator,
                Commission {
                    rate_ppm: *rate_ppm,
                    max_rate_ppm: *max_rate_ppm,
                    max_change_ppm: *max_change_ppm,
                    updated_ms: 0,
                },
            ),
            _ => Err(rule("not a staking transaction")),
        }
    }

    fn begin_block(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        for e in info.evidence {
            ctx.set_object(evidence_key(&e.hash()), vec![1]);
            self.slash_for_double_sign(ctx, &e.validator(), e.vote_a.height)?;
        }
        self.mature_and_count_downtime(ctx, info)
    }

    fn end_block(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        self.pay_and_rotate(ctx, info)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Governance may change every parameter but `min_self_stake`: the power index holds exactly the
/// validators whose own delegation reaches it, so changing it would need a pass over every
/// validator (Cosmos keeps a per-validator minimum for the same reason).
impl Governed for StakingModule {
    fn params_name(&self) -> &'static str {
        PARAMS_NAME
    }

    fn params_json(&self, ctx: &TxContext<'_, '_>) -> Result<serde_json::Value, StateError> {
        Ok(serde_json::to_value(self.params(ctx)?).expect("parameters serialise"))
    }

    fn set_params(
        &self,
        ctx: &mut TxContext<'_, '_>,
        value: serde_json::Value,
    ) -> Result<(), TxFailure> {
        set_checked(ctx, PARAMS_NAME, value, |p: &StakingParams| {
            p.validate()?;
            if p.min_self_stake != self.genesis_params.min_self_stake {
                return Err(
                    "staking.min_self_stake is fixed at genesis (the power index depends on it)"
                        .into(),
                );
            }
            Ok(())
        })
    }
}

impl Stake for StakingModule {
    fn bonded_validators(
        &self,
        ctx: &TxContext<'_, '_>,
    ) -> Result<Vec<BondedValidator>, StateError> {
        let set: Vec<ValidatorInfo> = get(ctx, "validator set", SET_KEY)?.unwrap_or_default();
        let mut out = Vec::with_capacity(set.len());
        for info in set {
            if let Some(v) = get::<Validator>(ctx, "validator", &validator_key(&info.address))? {
                out.push(BondedValidator {
                    address: info.address,
                    operator: v.operator,
                    stake: v.stake,
                });
            }
        }
        Ok(out)
    }

    fn delegations_of(
        &self,
        ctx: &TxContext<'_, '_>,
        delegator: &Address,
    ) -> Result<Vec<(Address, Amount)>, StateError> {
        let list: Vec<Address> =
            get(ctx, "delegation list", &bond_key(delegator))?.unwrap_or_default();
        let mut out = Vec::with_capacity(list.len());
        for va in list {
            let d: Option<Delegation> = get(ctx, "delegation", &delegation_key(delegator, &va))?;
            let v: Option<Validator> = get(ctx, "validator", &validator_key(&va))?;
            if let (Some(d), Some(v)) = (d, v) {
                out.push((va, v.tokens_of(d.shares)));
            }
        }
        Ok(out)
    }

    fn community_pool(&self, ctx: &TxContext<'_, '_>) -> Result<Amount, StateError> {
        distribution::read_amount(ctx, POOL_KEY)
    }

    fn spend_community_pool(
        &self,
        ctx: &mut TxContext<'_, '_>,
        to: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        let pool = distribution::read_amount(ctx, POOL_KEY)?;
        if amount > pool {
            return Err(rule(format!(
                "community pool holds {pool}, the spend asks for {amount}"
            )));
        }
        distribution::change_amount(ctx, POOL_KEY, amount, false)?;
        credit(ctx, to, amount)?;
        Ok(())
    }

    fn record_burn(&self, ctx: &mut TxContext<'_, '_>, amount: Amount) -> Result<(), StateError> {
        count_supply(ctx, 0, amount)
    }
}

impl ValidatorSets for StakingModule {
    fn genesis_set(&self) -> Vec<ValidatorInfo> {
        genesis_set(&self.genesis)
    }

    fn set_for(
        &self,
        state: &StateManager,
        height: u64,
    ) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
        StakingReader(state).set_for(height)
    }

    fn next_set(&self, state: &StateManager) -> Result<Vec<ValidatorInfo>, StateError> {
        StakingReader(state).next_set()
    }

    fn evidence_seen(
        &self,
        state: &StateManager,
        hash: &crate::types::Hash,
    ) -> Result<bool, StateError> {
        StakingReader(state).evidence_seen(hash)
    }

    /// Evidence is refused when older than the unbonding period (the offender's stake may be gone),
    /// when it does not verify against its height's set, when it was punished already, or when
    /// the offender is already jailed for good.
    fn evidence_problem(
        &self,
        state: &StateManager,
        chain_id: &str,
        height: u64,
        e: &DuplicateVoteEvidence,
    ) -> Option<String> {
        let eh = e.vote_a.height;
        let unbonding_blocks = match self.params(state) {
            Ok(p) => p.unbonding_blocks,
            Err(err) => return Some(err.to_string()),
        };
        if height.saturating_sub(eh) > unbonding_blocks {
            return Some(format!("evidence of height {eh} is too old"));
        }
        let staking = StakingReader(state);
        match staking.set_for(eh) {
            Ok(Some(set)) => {
                if let Err(err) = e.verify(chain_id, &set) {
                    return Some(err.to_string());
                }
            }
            Ok(None) => return Some(format!("no validator set for height {eh}")),
            Err(err) => return Some(err.to_string()),
        }
        match staking.evidence_seen(&e.hash()) {
            Ok(false) => {}
            Ok(true) => return Some("already punished".into()),
            Err(err) => return Some(err.to_string()),
        }
        match staking.validator(&e.validator()) {
            Ok(Some(v)) if v.tombstoned => Some("the offender is already jailed for good".into()),
            Ok(_) => None,
            Err(err) => Some(err.to_string()),
        }
    }
}
