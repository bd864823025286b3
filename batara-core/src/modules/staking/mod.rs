//! Staking: validators and their bonded stake, the validator set, unbonding, block rewards,
//! downtime jailing and slashing. A [`Module`] like the bank: its state lives in the state tree
//! (provable) under `stk/…` keys; its genesis fragment is `validators` and `params.staking`
//! ([`GenesisValidator`], [`StakingParams`]). It is also the chain's [`ValidatorSets`]: the
//! runtime and consensus learn every validator set (and which evidence is usable) through that
//! trait, never by naming this module.
//!
//! Owns:
//! * Transactions `stake` (register a validator — its consensus key and a self-stake of at least
//!   `min_self_stake` — or add to one you operate), `unstake` (stake leaves voting power at the
//!   next epoch and its funds return to the operator after `unbonding_blocks`), `unjail`.
//!   Stake is self-stake: the operator account is the only staker of its validator (delegation is
//!   not offered yet). The consensus key (whose address names the validator in headers, votes and
//!   commits) is separate from the operator account that signs staking transactions.
//! * The validator set: stored at `stk/set` after every block, and the set that validates the
//!   NEXT block. It is recomputed at epoch boundaries (after block `h` with
//!   `h % epoch_length == 0`) as the top `max_validators` unjailed validators by stake (ties: lower
//!   address), voting power = stake / `stake_per_power`; and right away when a validator is jailed,
//!   so a jailed validator leaves the set at the next block. A recomputation that would leave the
//!   set empty keeps the old one (the chain must not halt).
//! * Per block: fees and the block reward. The proposer's operator gets the fees plus
//!   `proposer_reward_percent` of `block_reward` (newly minted); the rest of the reward is split
//!   among the validators of the block by voting power (integer division; the remainder goes to the
//!   proposer's operator). Unbonded funds that mature at a height are paid at the start of its block.
//! * Downtime: a validator of the set that is missing from the `last_commit` a block carries misses
//!   that height; more than `downtime_max_missed` misses in the last `downtime_window` heights jails
//!   it (for `downtime_jail_blocks`) and slashes `downtime_slash_ppm` of its stake.
//! * Double signing: each piece of evidence a block carries (verified by the chain) slashes
//!   `double_sign_slash_ppm` of the offender's stake and jails it for good (tombstone); the
//!   evidence's hash is recorded (`stk/ev/…`) so it is punished once.
//! * Slashed stake is burned. Unbonding funds are not slashed (a simplification; Cosmos slashes
//!   them too).
//!
//! Must never: change the set other than at an epoch boundary or a jailing, mint anything but the
//! block reward, or let supply change otherwise (Σ balances + Σ stake + Σ unbonding changes only by
//! rewards minted and stake slashed).
//!
//! Keeps: every read a block or a query makes is bounded by what it is about, never by how many
//! validators or unbondings the chain ever had (issue 10, finding 8). Two indexes written beside
//! the records they mirror, in the same context, so they cannot drift: `stk/pow/<!stake><address>`
//! holds exactly the eligible validators (not jailed, at least `min_self_stake`) in set order —
//! the recomputation reads the first `max_validators` of it —, and `stk/unbop/<operator><height>`
//! mirrors `stk/unb/<height><operator>` so an operator's unbonding funds are read alone. Every
//! validator write goes through `save_validator`, which moves its index entry.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto;
use crate::runtime::{prefix_end, BlockInfo, Module, TxContext, TxFailure, ValidatorSets};
use crate::state::{Account, StateError, StateManager};
use crate::storage::decode;
use crate::types::{
    dec_u128, dec_u64, Address, Amount, DuplicateVoteEvidence, Event, PublicKey, SignedTransaction,
    TxKind, ValidatorInfo, MAX_TOTAL_VOTING_POWER,
};

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

/// A validator's record (`stk/val/<address>`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Validator {
    /// The account that registered it and receives its rewards.
    pub operator: Address,
    /// Consensus key.
    pub pubkey: PublicKey,
    /// Bonded stake.
    #[serde(with = "dec_u128")]
    pub stake: Amount,
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

/// An unbonding entry: funds paid to `operator` at `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbonding {
    /// Who gets the funds.
    pub operator: Address,
    /// When.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// How much.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
}

const SET_KEY: &[u8] = b"stk/set";
const VAL_PREFIX: &[u8] = b"stk/val/";
const BOND_PREFIX: &[u8] = b"stk/bond/";
const UNB_PREFIX: &[u8] = b"stk/unb/";
/// The same unbonding entries by operator first (`stk/unbop/<operator><height>` → amount), so
/// an operator's entries are read without scanning everyone's.
const UNB_BY_OP_PREFIX: &[u8] = b"stk/unbop/";
/// The validators eligible for the set, by stake (`stk/pow/<!stake><address>` → consensus key):
/// highest stake first, ties by lower address, so a recomputation reads `max_validators`
/// entries however many validators were ever registered (Cosmos's `ValidatorsByPowerIndex`).
const POWER_PREFIX: &[u8] = b"stk/pow/";
const EVIDENCE_PREFIX: &[u8] = b"stk/ev/";

fn evidence_key(h: &crate::types::Hash) -> Vec<u8> {
    key(EVIDENCE_PREFIX, &[&h.0])
}

fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn validator_key(a: &Address) -> Vec<u8> {
    key(VAL_PREFIX, &[&a.0])
}

fn bond_key(a: &Address) -> Vec<u8> {
    key(BOND_PREFIX, &[&a.0])
}

fn unbonding_key(height: u64, op: &Address) -> Vec<u8> {
    key(UNB_PREFIX, &[&height.to_be_bytes(), &op.0])
}

fn unbonding_by_op_key(op: &Address, height: u64) -> Vec<u8> {
    key(UNB_BY_OP_PREFIX, &[&op.0, &height.to_be_bytes()])
}

fn enc<T: BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh into Vec")
}

fn get<T: BorshDeserialize>(
    ctx: &TxContext<'_, '_>,
    what: &'static str,
    k: &[u8],
) -> Result<Option<T>, StateError> {
    match ctx.object(k)? {
        Some(b) => Ok(Some(decode(what, &b)?)),
        None => Ok(None),
    }
}

/// Reads of staking state outside a block (RPC, the node, the chain's commit checks).
pub struct StakingReader<'a>(pub &'a StateManager);

impl StakingReader<'_> {
    /// The validator set that validates block `height` (the set stored after block `height - 1`);
    /// `None` for genesis, or when that state is not stored.
    pub fn set_for(&self, height: u64) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
        let Some(prev) = height.checked_sub(1) else {
            return Ok(None);
        };
        match self.0.object_at(SET_KEY, prev)? {
            Some(b) => Ok(Some(decode("validator set", &b)?)),
            None => Ok(None),
        }
    }

    /// The set that validates the next block (latest state).
    pub fn next_set(&self) -> Result<Vec<ValidatorInfo>, StateError> {
        match self.0.object(SET_KEY)? {
            Some(b) => Ok(decode("validator set", &b)?),
            None => Err(StateError::Tree("no validator set in state".into())),
        }
    }

    /// A validator's record (latest state).
    pub fn validator(&self, address: &Address) -> Result<Option<Validator>, StateError> {
        match self.0.object(&validator_key(address))? {
            Some(b) => Ok(Some(decode("validator", &b)?)),
            None => Ok(None),
        }
    }

    /// Stake bonded by `operator`, at the head or after block `height`.
    pub fn bonded(&self, operator: &Address, height: Option<u64>) -> Result<Amount, StateError> {
        let k = bond_key(operator);
        let v = match height {
            None => self.0.object(&k)?,
            Some(h) => self.0.object_at(&k, h)?,
        };
        v.map_or(Ok(0), |b| Ok(decode("bonded stake", &b)?))
    }

    /// Whether the evidence with this hash was already punished.
    pub fn evidence_seen(&self, hash: &crate::types::Hash) -> Result<bool, StateError> {
        Ok(self.0.object(&evidence_key(hash))?.is_some())
    }

    /// Funds of `operator` still unbonding (latest state), earliest first. Reads that
    /// operator's entries only.
    pub fn unbonding(&self, operator: &Address) -> Result<Vec<Unbonding>, StateError> {
        let prefix = key(UNB_BY_OP_PREFIX, &[&operator.0]);
        let rows = self
            .0
            .objects_in(&prefix, &prefix_end(&prefix), usize::MAX)?;
        rows.into_iter()
            .map(|(k, v)| {
                let height = k[prefix.len()..].try_into().map_err(|_| {
                    StateError::Tree(format!("bad unbonding key of {} bytes", k.len()))
                })?;
                Ok(Unbonding {
                    operator: *operator,
                    height: u64::from_be_bytes(height),
                    amount: decode("unbonding", &v)?,
                })
            })
            .collect()
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
    params: StakingParams,
    genesis: Vec<GenesisValidator>,
}

impl StakingModule {
    /// The staking module of a chain with `params` whose genesis set is `genesis`.
    pub fn new(params: StakingParams, genesis: Vec<GenesisValidator>) -> Self {
        Self { params, genesis }
    }

    fn rule(msg: impl Into<String>) -> TxFailure {
        TxFailure::Rule(msg.into())
    }

    /// The power index key of `v` (address `addr`), if it is eligible for the set: not jailed,
    /// at least `min_self_stake` bonded.
    fn power_key(&self, addr: &Address, v: &Validator) -> Option<Vec<u8>> {
        (!v.jailed && v.stake >= self.params.min_self_stake)
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
        let v: Validator = get(ctx, "validator", &validator_key(validator))?
            .ok_or_else(|| Self::rule(format!("no validator {validator}")))?;
        if v.operator != *signer {
            return Err(Self::rule(format!(
                "validator {validator} is operated by {}, not {signer}",
                v.operator
            )));
        }
        Ok(v)
    }

    fn add_bonded(
        ctx: &mut TxContext<'_, '_>,
        op: &Address,
        delta: i128,
    ) -> Result<(), StateError> {
        let cur: Amount = get(ctx, "bonded stake", &bond_key(op))?.unwrap_or(0);
        let new = if delta >= 0 {
            cur.saturating_add(delta.unsigned_abs())
        } else {
            cur.saturating_sub(delta.unsigned_abs())
        };
        if new == 0 {
            ctx.delete_object(bond_key(op));
        } else {
            ctx.set_object(bond_key(op), enc(&new));
        }
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
            return Err(Self::rule("stake amount must be positive"));
        }
        let addr = validator_key_.address();
        let existing: Option<Validator> = get(ctx, "validator", &validator_key(&addr))?;
        let mut v = match existing.clone() {
            Some(v) => {
                if v.operator != signer {
                    return Err(Self::rule(format!(
                        "validator {addr} is operated by {}, not {signer}",
                        v.operator
                    )));
                }
                if v.tombstoned {
                    return Err(Self::rule(format!(
                        "validator {addr} was jailed for good (double signing)"
                    )));
                }
                v
            }
            None => {
                if !crate::crypto::is_valid_public_key(validator_key_) {
                    return Err(Self::rule(format!(
                        "validator key {validator_key_} is not a valid ed25519 key"
                    )));
                }
                if amount < self.params.min_self_stake {
                    return Err(Self::rule(format!(
                        "registering a validator needs at least {} staked, got {amount}",
                        self.params.min_self_stake
                    )));
                }
                Validator {
                    operator: signer,
                    pubkey: *validator_key_,
                    stake: 0,
                    jailed: false,
                    jailed_until: 0,
                    tombstoned: false,
                    missed: vec![],
                }
            }
        };
        let mut acct = ctx.account(&signer)?;
        if acct.balance < amount {
            return Err(Self::rule(format!(
                "insufficient balance: need {amount}, have {}",
                acct.balance
            )));
        }
        acct.balance -= amount;
        ctx.set_account(signer, acct);
        v.stake = v
            .stake
            .checked_add(amount)
            .ok_or_else(|| Self::rule("stake overflow"))?;
        let old = existing.and_then(|e| self.power_key(&addr, &e));
        self.save_validator(ctx, &addr, old, &v);
        Self::add_bonded(ctx, &signer, amount as i128)?;
        ctx.events.push(Event {
            kind: "stake".into(),
            attributes: vec![
                ("validator".into(), addr.to_string()),
                ("operator".into(), signer.to_string()),
                ("amount".into(), amount.to_string()),
                ("stake".into(), v.stake.to_string()),
            ],
        });
        Ok(())
    }

    fn unstake(
        &self,
        ctx: &mut TxContext<'_, '_>,
        height: u64,
        signer: Address,
        validator: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure> {
        if amount == 0 {
            return Err(Self::rule("unstake amount must be positive"));
        }
        let mut v = Self::operated(ctx, validator, &signer)?;
        if amount > v.stake {
            return Err(Self::rule(format!(
                "cannot unstake {amount}: validator {validator} has {} staked",
                v.stake
            )));
        }
        let rest = v.stake - amount;
        if rest > 0 && rest < self.params.min_self_stake {
            return Err(Self::rule(format!(
                "unstaking {amount} would leave {rest}, below the minimum {}; unstake all {} instead",
                self.params.min_self_stake, v.stake
            )));
        }
        let old = self.power_key(validator, &v);
        v.stake = rest;
        self.save_validator(ctx, validator, old, &v);
        Self::add_bonded(ctx, &signer, -(amount as i128))?;
        let due = height.saturating_add(self.params.unbonding_blocks.max(1));
        let k = unbonding_key(due, &signer);
        let pending: Amount = get(ctx, "unbonding", &k)?.unwrap_or(0);
        let pending = enc(&pending.saturating_add(amount));
        ctx.set_object(unbonding_by_op_key(&signer, due), pending.clone());
        ctx.set_object(k, pending);
        ctx.events.push(Event {
            kind: "unstake".into(),
            attributes: vec![
                ("validator".into(), validator.to_string()),
                ("amount".into(), amount.to_string()),
                ("returns_at_height".into(), due.to_string()),
            ],
        });
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
            return Err(Self::rule(format!(
                "validator {validator} was jailed for good (double signing)"
            )));
        }
        if !v.jailed {
            return Err(Self::rule(format!("validator {validator} is not jailed")));
        }
        if height < v.jailed_until {
            return Err(Self::rule(format!(
                "validator {validator} is jailed until height {}",
                v.jailed_until
            )));
        }
        if v.stake < self.params.min_self_stake {
            return Err(Self::rule(format!(
                "validator {validator} has {} staked, below the minimum {}",
                v.stake, self.params.min_self_stake
            )));
        }
        let old = self.power_key(validator, &v);
        v.jailed = false;
        self.save_validator(ctx, validator, old, &v);
        ctx.events.push(Event {
            kind: "unjail".into(),
            attributes: vec![("validator".into(), validator.to_string())],
        });
        Ok(())
    }

    fn credit(ctx: &mut TxContext<'_, '_>, to: &Address, amount: Amount) -> Result<(), StateError> {
        if amount > 0 {
            let mut a: Account = ctx.account(to)?;
            a.balance = a.balance.saturating_add(amount);
            ctx.set_account(*to, a);
        }
        Ok(())
    }

    /// The account paid for validator `addr`: its operator (or the address itself, unknown).
    fn payee(ctx: &TxContext<'_, '_>, addr: &Address) -> Result<Address, StateError> {
        Ok(get::<Validator>(ctx, "validator", &validator_key(addr))?.map_or(*addr, |v| v.operator))
    }

    /// Start of a block: matured unbondings are paid, downtime is counted.
    fn pay_unbonded_and_count_downtime(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        let prefix = key(UNB_PREFIX, &[&info.height.to_be_bytes()]);
        // As many entries as unstakes became due here: bounded by that block's transactions.
        for (k, v) in ctx.objects_in(&prefix, &prefix_end(&prefix), usize::MAX)? {
            let amount: Amount = decode("unbonding", &v)?;
            let op = Address(k[prefix.len()..].try_into().map_err(|_| {
                StateError::Tree(format!("bad unbonding key of {} bytes", k.len()))
            })?);
            Self::credit(ctx, &op, amount)?;
            ctx.delete_object(unbonding_by_op_key(&op, info.height));
            ctx.delete_object(k);
        }
        let (Some(commit), Some(last_set)) = (info.last_commit, info.last_set) else {
            return Ok(());
        };
        let missed_height = info.height - 1;
        let window_start = missed_height.saturating_sub(self.params.downtime_window - 1);
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
            let old = self.power_key(&val.address, &v);
            if v.missed.len() as u64 > self.params.downtime_max_missed && !v.jailed {
                let missed = v.missed.len();
                v.missed.clear();
                let cut = slash_amount(v.stake, self.params.downtime_slash_ppm);
                v.stake -= cut;
                v.jailed = true;
                v.jailed_until = info.height.saturating_add(self.params.downtime_jail_blocks);
                Self::add_bonded(ctx, &v.operator, -(cut as i128))?;
                tracing::warn!(target: "batara::staking", validator = %val.address, missed, slashed = %cut, "jailed for downtime");
            }
            self.save_validator(ctx, &val.address, old, &v);
        }
        Ok(())
    }

    /// End of a block: fees and rewards, and the set for the next block (at an epoch boundary, or
    /// when a validator of this block's set has been jailed).
    fn pay_and_rotate(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        let p = &self.params;
        let proposer_payee = Self::payee(ctx, &info.proposer)?;
        let reward = p.block_reward;
        let bonus = reward * Amount::from(p.proposer_reward_percent) / 100;
        let rest = reward - bonus;
        let total: u128 = info.set.iter().map(|v| u128::from(v.power)).sum();
        let mut paid = 0;
        if total > 0 && rest > 0 {
            for v in info.set {
                let share = rest.saturating_mul(u128::from(v.power)) / total;
                let payee = Self::payee(ctx, &v.address)?;
                Self::credit(ctx, &payee, share)?;
                paid += share;
            }
        }
        Self::credit(ctx, &proposer_payee, info.fees + bonus + (rest - paid))?;
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
        let rows = ctx.objects_in(
            POWER_PREFIX,
            &prefix_end(POWER_PREFIX),
            self.params.max_validators as usize,
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
                power: self.params.power_of(stake),
            });
        }
        if set.is_empty() {
            tracing::error!(target: "batara::staking", "no eligible validators: keeping the current set");
            return Ok(());
        }
        ctx.set_object(SET_KEY.to_vec(), enc(&set));
        Ok(())
    }
}

fn slash_amount(stake: Amount, ppm: u32) -> Amount {
    // stake × ppm / 10⁶ without overflow: split stake into whole millions and the rest.
    let ppm = Amount::from(ppm);
    (stake / 1_000_000) * ppm + (stake % 1_000_000) * ppm / 1_000_000
}

impl StakingModule {
    /// Slashes a validator caught double signing by `double_sign_slash_ppm` of its stake and jails
    /// it for good (it leaves the set at the next block). The chain verified the evidence.
    fn slash_for_double_sign(
        &self,
        ctx: &mut TxContext<'_, '_>,
        validator: &Address,
    ) -> Result<(), StateError> {
        let Some(mut v) = get::<Validator>(ctx, "validator", &validator_key(validator))? else {
            return Ok(());
        };
        if v.tombstoned {
            return Ok(());
        }
        let old = self.power_key(validator, &v);
        let cut = slash_amount(v.stake, self.params.double_sign_slash_ppm);
        v.stake -= cut;
        v.jailed = true;
        v.tombstoned = true;
        v.jailed_until = u64::MAX;
        self.save_validator(ctx, validator, old, &v);
        Self::add_bonded(ctx, &v.operator, -(cut as i128))?;
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
            TxKind::Stake { .. } | TxKind::Unstake { .. } | TxKind::Unjail { .. }
        )
    }

    fn spend(&self, kind: &TxKind) -> Amount {
        match kind {
            TxKind::Stake { amount, .. } => *amount,
            _ => 0,
        }
    }

    /// One record per genesis validator (stake = power × `stake_per_power`, operated by the
    /// consensus key's own address) and the first set.
    fn init_genesis(&self, ctx: &mut TxContext<'_, '_>) -> Result<(), StateError> {
        let p = &self.params;
        let mut bonded: BTreeMap<Address, Amount> = BTreeMap::new();
        for v in &self.genesis {
            let addr = v.pubkey.address();
            let stake = Amount::from(v.power).saturating_mul(p.stake_per_power);
            let rec = Validator {
                operator: addr,
                pubkey: v.pubkey,
                stake,
                jailed: false,
                jailed_until: 0,
                tombstoned: false,
                missed: vec![],
            };
            self.save_validator(ctx, &addr, None, &rec);
            *bonded.entry(addr).or_default() += stake;
        }
        for (op, amount) in bonded {
            ctx.set_object(bond_key(&op), enc(&amount));
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
                self.unstake(ctx, height, signer, validator, *amount)
            }
            TxKind::Unjail { validator } => self.unjail(ctx, height, signer, validator),
            _ => Err(Self::rule("not a staking transaction")),
        }
    }

    fn begin_block(
        &self,
        ctx: &mut TxContext<'_, '_>,
        info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        for e in info.evidence {
            ctx.set_object(evidence_key(&e.hash()), vec![1]);
            self.slash_for_double_sign(ctx, &e.validator())?;
        }
        self.pay_unbonded_and_count_downtime(ctx, info)
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
        if height.saturating_sub(eh) > self.params.unbonding_blocks {
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
