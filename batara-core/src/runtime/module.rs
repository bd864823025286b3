//! What a module sees and implements: the [`Module`] trait, the [`TxContext`] a transaction or a
//! block hook runs in, the [`BlockInfo`] hooks are told, and the [`ValidatorSets`] seam.
//!
//! Invariant: a module's writes reach the block only when it returns `Ok` (they are kept in its
//! context until then), so a failed transaction changes nothing but its fee and nonce.

use std::collections::BTreeMap;

use crate::state::{Account, ObjectWrites, StateError, StateManager};

use super::params::ChainRules;
use crate::storage::Entry;
use crate::types::{
    Address, Amount, Commit, DuplicateVoteEvidence, Event, Hash, SignedTransaction, TxKind,
    ValidatorInfo,
};

/// Pending writes of a block (accounts and module objects), read through to committed state.
pub struct BlockState<'a> {
    pub(super) state: &'a StateManager,
    pub(super) height: u64,
    pub(super) time: u64,
    pub(super) changed: BTreeMap<Address, Account>,
    pub(super) objects: ObjectWrites,
    /// Gas used by the block's metered transactions so far.
    pub(super) gas_used: u64,
    /// The chain's rules in force for this block.
    pub(super) rules: ChainRules,
    /// Events of the block hooks so far.
    pub(super) events: Vec<Event>,
}

impl<'a> BlockState<'a> {
    pub(super) fn new(state: &'a StateManager, height: u64, time: u64, rules: ChainRules) -> Self {
        Self {
            state,
            height,
            time,
            changed: BTreeMap::new(),
            objects: ObjectWrites::new(),
            gas_used: 0,
            rules,
            events: vec![],
        }
    }

    pub(super) fn get(&self, addr: &Address) -> Result<Account, StateError> {
        match self.changed.get(addr) {
            Some(a) => Ok(*a),
            None => self.state.account(addr),
        }
    }

    fn object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.objects.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.state.object(key),
        }
    }
}

/// What a module sees while it applies one transaction (or a block hook): reads see the block so
/// far, writes are kept aside and only reach the block if the module succeeds.
pub struct TxContext<'a, 'b> {
    block: &'b BlockState<'a>,
    scratch: BTreeMap<Address, Account>,
    objects: ObjectWrites,
    /// Events the module emits.
    pub events: Vec<Event>,
    /// Gas the transaction used (metered kinds set it, whether they succeed or fail; the
    /// executor charges it, capped at the transaction's limit).
    pub gas_used: u64,
    /// What the transaction returns (a contract call's return data), kept in its receipt.
    pub output: Vec<u8>,
}

impl<'a, 'b> TxContext<'a, 'b> {
    pub(super) fn new(block: &'b BlockState<'a>) -> Self {
        Self {
            block,
            scratch: BTreeMap::new(),
            objects: ObjectWrites::new(),
            events: vec![],
            gas_used: 0,
            output: vec![],
        }
    }

    /// Height of the block being executed.
    pub fn height(&self) -> u64 {
        self.block.height
    }

    /// Time of the block being executed (ms since the Unix epoch).
    pub fn time(&self) -> u64 {
        self.block.time
    }

    /// The chain's rules in force for the block being executed.
    pub fn rules(&self) -> &ChainRules {
        &self.block.rules
    }

    /// Reads an account.
    pub fn account(&self, addr: &Address) -> Result<Account, StateError> {
        match self.scratch.get(addr) {
            Some(a) => Ok(*a),
            None => self.block.get(addr),
        }
    }

    /// Writes an account.
    pub fn set_account(&mut self, addr: Address, acct: Account) {
        self.scratch.insert(addr, acct);
    }

    /// Reads a module object (`None`: absent).
    pub fn object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        match self.objects.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.block.object(key),
        }
    }

    /// Writes a module object.
    pub fn set_object(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.objects.insert(key, Some(value));
    }

    /// Deletes a module object.
    pub fn delete_object(&mut self, key: Vec<u8>) {
        self.objects.insert(key, None);
    }

    /// The first `limit` module objects with keys in `[from, to)` as this context sees them, in
    /// key order. Reads at most `limit` plus the number of keys this block deleted in the range
    /// from the store, so a bounded query stays bounded however large the range is.
    pub fn objects_in(
        &self,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        let range = (
            std::ops::Bound::Included(from),
            std::ops::Bound::Excluded(to),
        );
        let layers = [&self.block.objects, &self.objects];
        // Every key a layer deletes may hide one stored entry; reading that many more keeps the
        // first `limit` live entries complete.
        let deleted = layers
            .iter()
            .map(|l| {
                l.range::<[u8], _>(range)
                    .filter(|(_, v)| v.is_none())
                    .count()
            })
            .sum::<usize>();
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .block
            .state
            .objects_in(from, to, limit.saturating_add(deleted))?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in layers {
            for (k, v) in layer.range::<[u8], _>(range) {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .take(limit)
            .collect())
    }

    /// Emits an event of `kind` with these attributes.
    pub fn emit(&mut self, kind: &str, attrs: &[(&str, &dyn std::fmt::Display)]) {
        self.events.push(Event {
            kind: kind.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_string()))
                .collect(),
        });
    }

    /// What this context wrote so far, to go back to with [`TxContext::rollback`] (a block hook
    /// that applies several independent changes and keeps only those that succeed).
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            scratch: self.scratch.clone(),
            objects: self.objects.clone(),
            events: self.events.len(),
        }
    }

    /// Forgets every write and event since `sp` was taken.
    pub fn rollback(&mut self, sp: Savepoint) {
        self.scratch = sp.scratch;
        self.objects = sp.objects;
        self.events.truncate(sp.events);
    }

    /// Moves this context's writes into its block.
    pub(super) fn into_writes(self) -> (BTreeMap<Address, Account>, ObjectWrites, Vec<Event>) {
        (self.scratch, self.objects, self.events)
    }
}

/// The writes of a [`TxContext`] at one moment ([`TxContext::savepoint`]).
pub struct Savepoint {
    scratch: BTreeMap<Address, Account>,
    objects: ObjectWrites,
    events: usize,
}

/// The first key after every key that starts with `prefix` (for ranges over a key prefix): the
/// prefix with its last byte that is not 0xff incremented (appending 0xff would miss keys that
/// continue with 0xff, such as an address starting with it).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    unreachable!("module key prefixes are not all 0xff")
}

/// What modules are told about the block being executed (block hooks).
pub struct BlockInfo<'a> {
    /// Its height.
    pub height: u64,
    /// Its proposer (consensus address).
    pub proposer: Address,
    /// The commit of the previous block it carries.
    pub last_commit: Option<&'a Commit>,
    /// The validator set of the previous block (who should have signed `last_commit`).
    pub last_set: Option<&'a [ValidatorInfo]>,
    /// The validator set of this block.
    pub set: &'a [ValidatorInfo],
    /// Evidence of double signing it carries (already verified by the chain).
    pub evidence: &'a [DuplicateVoteEvidence],
    /// Fees its transactions paid (set for `end_block`; 0 in `begin_block`).
    pub fees: Amount,
}

/// Why a module refused a transaction (the receipt's `error`).
#[derive(Debug, thiserror::Error)]
pub enum TxFailure {
    /// A rule of the module.
    #[error("{0}")]
    Rule(String),
    /// State could not be read: the block cannot be executed at all.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One module of the runtime: the state transitions of the transaction kinds it owns, its part of
/// the genesis state, and its block hooks. The executor dispatches each transaction to the module
/// that [`Module::handles`] its kind; the mempool asks it what a transaction can cost
/// ([`Module::spend`]) and whether it is well formed ([`Module::check`]). Adding a kind is adding a
/// module (or a kind to one) and one line in the registry (`app`), never an edit of the executor.
pub trait Module: Send + Sync {
    /// Short name (logs).
    fn name(&self) -> &'static str;
    /// True when this module applies `kind`.
    fn handles(&self, kind: &TxKind) -> bool;
    /// The most a transaction of `kind` (one this module handles) can take from its sender's
    /// balance besides the fee: what the mempool reserves for it.
    fn spend(&self, kind: &TxKind) -> Amount;
    /// Checks that need no state (the mempool runs them before admitting a transaction of a kind
    /// this module handles); the error says which rule failed.
    fn check(&self, _tx: &SignedTransaction) -> Result<(), String> {
        Ok(())
    }
    /// Called with the committed state whenever the head moves (a block committed, the chain
    /// opened or reverted): a module refreshes what its stateless [`Module::check`] and
    /// [`Module::spend`] read of committed state (the mempool's view). Never used by execution.
    fn committed(&self, _state: &StateManager) -> Result<(), StateError> {
        Ok(())
    }
    /// Writes this module's part of the genesis state (height 0).
    fn init_genesis(&self, _ctx: &mut TxContext<'_, '_>) -> Result<(), StateError> {
        Ok(())
    }
    /// Applies the transaction's effects (fee and nonce are already handled).
    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure>;
    /// Runs before the block's transactions.
    fn begin_block(
        &self,
        _ctx: &mut TxContext<'_, '_>,
        _info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        Ok(())
    }
    /// Runs after the block's transactions.
    fn end_block(
        &self,
        _ctx: &mut TxContext<'_, '_>,
        _info: &BlockInfo<'_>,
    ) -> Result<(), StateError> {
        Ok(())
    }
    /// The module itself, for [`Registry::module`](super::Registry::module) (the API layer
    /// finds a module's queries by its type).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A validator of the current set as governance sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BondedValidator {
    /// Its (consensus) address.
    pub address: Address,
    /// The account that operates it (votes in its name).
    pub operator: Address,
    /// Its bonded stake, of every delegator.
    pub stake: Amount,
}

/// Where governance learns who holds stake and moves the community pool, without naming the
/// module that owns them (staking implements it).
pub trait Stake: Send + Sync {
    /// The validators of the current set with their stake.
    fn bonded_validators(
        &self,
        ctx: &TxContext<'_, '_>,
    ) -> Result<Vec<BondedValidator>, StateError>;
    /// What `delegator` has bonded, per validator (tokens its shares are worth, rounded down).
    fn delegations_of(
        &self,
        ctx: &TxContext<'_, '_>,
        delegator: &Address,
    ) -> Result<Vec<(Address, Amount)>, StateError>;
    /// The community pool's balance.
    fn community_pool(&self, ctx: &TxContext<'_, '_>) -> Result<Amount, StateError>;
    /// Pays `amount` out of the community pool to `to`; fails (naming the balance) when the pool
    /// holds less.
    fn spend_community_pool(
        &self,
        ctx: &mut TxContext<'_, '_>,
        to: &Address,
        amount: Amount,
    ) -> Result<(), TxFailure>;
    /// Counts `amount` as burned in the supply (the caller has removed it from a balance).
    fn record_burn(&self, ctx: &mut TxContext<'_, '_>, amount: Amount) -> Result<(), StateError>;
}

/// Where the runtime and consensus learn validator sets. The staking module implements it; the
/// runtime and consensus never name staking.
pub trait ValidatorSets: Send + Sync {
    /// The set of the genesis block (before any state is written).
    fn genesis_set(&self) -> Vec<ValidatorInfo>;
    /// The set that validates block `height` (the set stored after block `height - 1`); `None`
    /// for genesis, or when that state is not stored.
    fn set_for(
        &self,
        state: &StateManager,
        height: u64,
    ) -> Result<Option<Vec<ValidatorInfo>>, StateError>;
    /// The set that validates the next block (latest state).
    fn next_set(&self, state: &StateManager) -> Result<Vec<ValidatorInfo>, StateError>;
    /// Whether the evidence with this hash was already punished.
    fn evidence_seen(&self, state: &StateManager, hash: &Hash) -> Result<bool, StateError>;
    /// Why evidence `e` cannot be in block `height` of chain `chain_id`, if it cannot (too old,
    /// not verifying against its height's set, already punished, offender gone for good).
    fn evidence_problem(
        &self,
        state: &StateManager,
        chain_id: &str,
        height: u64,
        e: &DuplicateVoteEvidence,
    ) -> Option<String>;
}
