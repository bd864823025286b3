//! Block execution and the committed chain.
//!
//! Owns: executing transactions through the [`Module`] each kind belongs to (fee and nonce are
//! handled here, once, for every kind), building a block from mempool candidates, checking and
//! executing a block made elsewhere (or replayed), and committing a block with its receipts, tx
//! index and state in one [`WriteBatch`]. The genesis is height 0 (state version 0, no transactions).
//!
//! Rules of a transaction in a block: its nonce must equal the sender's account nonce and the sender
//! must be able to pay the fee — otherwise the block is invalid (a builder leaves such transactions
//! out). The fee is then charged and the nonce consumed whatever happens next; the module's effects
//! apply only if it succeeds, else the receipt is `failed` with the reason. Fees of a block are paid
//! to its proposer after the last transaction.
//!
//! Must never: commit a block whose state root, transactions root or signatures do not check, or
//! write any part of a block outside its one batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::crypto::{self, BatchItem};
use crate::genesis::Genesis;
use crate::mempool::PoolTx;
use crate::staking::{StakingModule, StakingReader};
use crate::state::{Account, ObjectWrites, StateError, StateManager};
use crate::storage::{decode, height_key, Column, Entry, Storage, StorageError, WriteBatch};
use crate::types::{
    Address, Amount, Block, Commit, CommitSig, DuplicateVoteEvidence, Event, Hash, Header, Receipt,
    SignedTransaction, TxKind, TxStatus, ValidatorInfo,
};
use crate::validator::Signer;

/// Chain errors.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// State failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A block (received or replayed) breaks a rule.
    #[error("invalid block at height {height}: {reason}")]
    InvalidBlock {
        /// Its height.
        height: u64,
        /// The rule broken.
        reason: String,
    },
    /// The data directory holds another chain.
    #[error(
        "data directory was created from another genesis (fingerprint {stored}, given {given})"
    )]
    GenesisMismatch {
        /// Fingerprint of the genesis on disk.
        stored: Hash,
        /// Fingerprint of the genesis given.
        given: Hash,
    },
    /// The stored state does not match the stored head.
    #[error("corrupt chain data: {0}")]
    Corrupt(String),
    /// Requested height is not stored.
    #[error("no block at height {0}")]
    NoBlock(u64),
}

/// Pending writes of a block (accounts and module objects), read through to committed state.
pub struct BlockState<'a> {
    state: &'a StateManager,
    height: u64,
    changed: BTreeMap<Address, Account>,
    objects: ObjectWrites,
}

impl<'a> BlockState<'a> {
    fn new(state: &'a StateManager, height: u64) -> Self {
        Self {
            state,
            height,
            changed: BTreeMap::new(),
            objects: ObjectWrites::new(),
        }
    }

    fn get(&self, addr: &Address) -> Result<Account, StateError> {
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
}

impl<'a, 'b> TxContext<'a, 'b> {
    fn new(block: &'b BlockState<'a>) -> Self {
        Self {
            block,
            scratch: BTreeMap::new(),
            objects: ObjectWrites::new(),
            events: vec![],
        }
    }

    /// Height of the block being executed.
    pub fn height(&self) -> u64 {
        self.block.height
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

    /// Module objects with keys in `[from, to)` as this context sees them, in key order.
    pub fn objects_in(&self, from: &[u8], to: &[u8]) -> Result<Vec<Entry>, StateError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .block
            .state
            .objects_in(from, to, usize::MAX)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in [&self.block.objects, &self.objects] {
            for (k, v) in layer.range::<[u8], _>((
                std::ops::Bound::Included(from),
                std::ops::Bound::Excluded(to),
            )) {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    /// Moves this context's writes into its block.
    fn into_writes(self) -> (BTreeMap<Address, Account>, ObjectWrites, Vec<Event>) {
        (self.scratch, self.objects, self.events)
    }
}

/// The validator sets a block is executed with.
struct Sets {
    /// The set of the block.
    current: Vec<ValidatorInfo>,
    /// The set of the previous block (none before block 2).
    last: Option<Vec<ValidatorInfo>>,
}

impl Sets {
    fn info<'a>(
        &'a self,
        height: u64,
        proposer: Address,
        last_commit: Option<&'a Commit>,
        evidence: &'a [DuplicateVoteEvidence],
        fees: Amount,
    ) -> BlockInfo<'a> {
        BlockInfo {
            height,
            proposer,
            last_commit,
            last_set: self.last.as_deref(),
            set: &self.current,
            evidence,
            fees,
        }
    }
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

/// State transitions of some transaction kinds. `chain.rs` dispatches each transaction to the
/// first module that handles its kind; adding a kind is adding a module.
pub trait Module: Send + Sync {
    /// Short name (logs).
    fn name(&self) -> &'static str;
    /// True when this module applies `kind`.
    fn handles(&self, kind: &TxKind) -> bool;
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
}

/// Balances: transfers.
pub struct BankModule;

impl Module for BankModule {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn handles(&self, kind: &TxKind) -> bool {
        matches!(kind, TxKind::Transfer { .. })
    }

    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure> {
        let TxKind::Transfer { to, amount } = &tx.body.kind else {
            return Err(TxFailure::Rule("not a transfer".into()));
        };
        let from = tx.sender();
        let mut sender = ctx.account(&from)?;
        if sender.balance < *amount {
            return Err(TxFailure::Rule(format!(
                "insufficient balance: need {amount}, have {}",
                sender.balance
            )));
        }
        sender.balance -= amount;
        ctx.set_account(from, sender);
        let mut recipient = ctx.account(to)?;
        recipient.balance = recipient
            .balance
            .checked_add(*amount)
            .ok_or_else(|| TxFailure::Rule("recipient balance overflow".into()))?;
        ctx.set_account(*to, recipient);
        ctx.events.push(Event {
            kind: "transfer".into(),
            attributes: vec![
                ("from".into(), from.to_string()),
                ("to".into(), to.to_string()),
                ("amount".into(), amount.to_string()),
            ],
        });
        Ok(())
    }
}

/// A block executed but not yet written.
#[derive(Debug)]
pub struct Executed {
    /// The block.
    pub block: Block,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Every account the block wrote, with its new value.
    pub changed: BTreeMap<Address, Account>,
    batch: WriteBatch,
}

/// A committed block, as announced to subscribers.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    /// The block.
    pub block: Arc<Block>,
    /// Its hash.
    pub hash: Hash,
    /// The commit that finalized it.
    pub commit: Commit,
    /// Receipts, one per transaction.
    pub receipts: Arc<Vec<Receipt>>,
}

/// The latest committed block.
#[derive(Clone, Debug)]
pub struct Head {
    /// Its header.
    pub header: Header,
    /// Its hash.
    pub hash: Hash,
    /// Its commit (none for genesis).
    pub commit: Option<Commit>,
}

/// A transaction found in the chain.
#[derive(Clone, Debug)]
pub struct TxLookup {
    /// The transaction.
    pub tx: SignedTransaction,
    /// Its receipt.
    pub receipt: Receipt,
    /// Height of its block.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// The chain: committed blocks and the state they produced.
pub struct Chain {
    store: Arc<dyn Storage>,
    state: StateManager,
    genesis: Genesis,
    genesis_hash: Hash,
    modules: Vec<Box<dyn Module>>,
    head: RwLock<Head>,
    /// Executions (building or checking a block) hold it shared, commits and reverts exclusively:
    /// an execution never sees the state of a block whose head is not yet published.
    exec: RwLock<()>,
}

const META_HEAD: &[u8] = b"head";
/// SHA-256 of the genesis JSON the store was created from.
const META_GENESIS_DOC: &[u8] = b"genesis_doc";

fn enc<T: borsh::BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh into Vec")
}

/// Most pieces of evidence in one block (one per offender).
pub const MAX_BLOCK_EVIDENCE: usize = 16;

/// The Merkle root of the hashes of a block's evidence.
fn evidence_root(evidence: &[DuplicateVoteEvidence]) -> Hash {
    let hashes: Vec<Hash> = evidence.iter().map(|e| e.hash()).collect();
    crypto::merkle_root(&hashes)
}

fn receipt_key(height: u64, index: u32) -> Vec<u8> {
    let mut k = height_key(height).to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

impl Chain {
    /// Opens the chain in `store`, writing the genesis if the store is empty. Checks that a
    /// non-empty store belongs to this genesis and that its state matches its head.
    pub fn open(store: Arc<dyn Storage>, genesis: Genesis) -> Result<Self, ChainError> {
        let state = StateManager::new(store.clone());
        let modules: Vec<Box<dyn Module>> = vec![
            Box::new(BankModule),
            Box::new(StakingModule::new(genesis.params.staking.clone())),
        ];
        let head = match store.get(Column::Meta, META_HEAD)? {
            None => Self::write_genesis(&store, &state, &genesis)?,
            Some(h) => {
                let height = u64::from_be_bytes(
                    h.as_slice()
                        .try_into()
                        .map_err(|_| ChainError::Corrupt("head pointer".into()))?,
                );
                Self::load_head(store.as_ref(), height)?
            }
        };
        let doc = crypto::sha256(genesis.to_json().as_bytes());
        let stored = store
            .get(Column::Meta, META_GENESIS_DOC)?
            .ok_or_else(|| ChainError::Corrupt("missing genesis fingerprint".into()))?;
        if stored != doc.0 {
            return Err(ChainError::GenesisMismatch {
                stored: Hash(
                    stored
                        .try_into()
                        .map_err(|_| ChainError::Corrupt("genesis fingerprint".into()))?,
                ),
                given: doc,
            });
        }
        let genesis_hash = Self::load_head(store.as_ref(), 0)?.hash;
        let root = state.root_at(head.header.height)?;
        if root != head.header.state_root {
            return Err(ChainError::Corrupt(format!(
                "state root at head {} is {root}, header says {}",
                head.header.height, head.header.state_root
            )));
        }
        Ok(Self {
            store,
            state,
            genesis,
            genesis_hash,
            modules,
            head: RwLock::new(head),
            exec: RwLock::new(()),
        })
    }

    fn genesis_header(genesis: &Genesis, validators: &[ValidatorInfo], state_root: Hash) -> Header {
        Header {
            chain_id: genesis.chain_id.clone(),
            height: 0,
            time: genesis.genesis_time,
            parent: Hash::ZERO,
            proposer: Address([0; 20]),
            txs_root: crypto::merkle_root(&[]),
            state_root,
            validator_set_hash: ValidatorInfo::set_hash(validators),
            last_commit_hash: Hash::ZERO,
            evidence_root: evidence_root(&[]),
        }
    }

    fn write_genesis(
        store: &Arc<dyn Storage>,
        state: &StateManager,
        genesis: &Genesis,
    ) -> Result<Head, ChainError> {
        let accounts: BTreeMap<Address, Account> = genesis
            .accounts
            .iter()
            .map(|a| {
                (
                    a.address,
                    Account {
                        balance: a.balance,
                        nonce: 0,
                    },
                )
            })
            .collect();
        let objects = crate::staking::genesis_objects(genesis);
        let up = state.stage(0, genesis.genesis_time, &accounts, &objects)?;
        let header = Self::genesis_header(genesis, &genesis.validator_set(), up.root);
        let hash = header.hash();
        let block = Block {
            header: header.clone(),
            txs: vec![],
            last_commit: None,
            evidence: vec![],
        };
        let mut batch = up.batch;
        batch.put(Column::Headers, height_key(0), enc(&header));
        batch.put(Column::Blocks, height_key(0), enc(&block));
        batch.put(Column::BlockHashes, hash.0.to_vec(), height_key(0));
        batch.put(
            Column::Meta,
            META_GENESIS_DOC,
            crypto::sha256(genesis.to_json().as_bytes()).0.to_vec(),
        );
        batch.put(Column::Meta, META_HEAD, height_key(0));
        store.write(batch)?;
        Ok(Head {
            header,
            hash,
            commit: None,
        })
    }

    fn load_head(store: &dyn Storage, height: u64) -> Result<Head, ChainError> {
        let header: Header = match store.get(Column::Headers, &height_key(height))? {
            Some(b) => decode("header", &b)?,
            None => return Err(ChainError::Corrupt(format!("missing header {height}"))),
        };
        let commit = match store.get(Column::Commits, &height_key(height))? {
            Some(b) => Some(decode("commit", &b)?),
            None => None,
        };
        Ok(Head {
            hash: header.hash(),
            header,
            commit,
        })
    }

    /// Re-reads the head from storage (a read-only follower after [`Storage::refresh`]).
    pub fn reload_head(&self) -> Result<Head, ChainError> {
        let h = self
            .store
            .get(Column::Meta, META_HEAD)?
            .ok_or_else(|| ChainError::Corrupt("missing head".into()))?;
        let height = u64::from_be_bytes(
            h.try_into()
                .map_err(|_| ChainError::Corrupt("head pointer".into()))?,
        );
        let head = Self::load_head(self.store.as_ref(), height)?;
        *self.head.write() = head.clone();
        Ok(head)
    }

    /// The latest committed block's header, hash and commit.
    pub fn head(&self) -> Head {
        self.head.read().clone()
    }

    /// The genesis this chain was opened with.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Hash of the genesis header (the chain's identity).
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// The validator set.
    pub fn validators(&self) -> Result<Vec<ValidatorInfo>, ChainError> {
        Ok(StakingReader(&self.state).next_set()?)
    }

    /// The state manager.
    pub fn state(&self) -> &StateManager {
        &self.state
    }

    /// The storage underneath.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// Runs one transaction against `bs`. `Ok(None)` means it cannot be in a block at all (wrong
    /// nonce, cannot pay the fee, wrong chain); `Ok(Some(receipt))` means it was applied or failed.
    fn execute_tx(
        &self,
        bs: &mut BlockState<'_>,
        tx: &SignedTransaction,
        hash: Hash,
    ) -> Result<Result<Receipt, String>, ChainError> {
        if tx.body.chain_id != self.genesis.chain_id {
            return Ok(Err(format!("wrong chain id {}", tx.body.chain_id)));
        }
        let sender = tx.sender();
        let mut acct = bs.get(&sender)?;
        if tx.body.nonce != acct.nonce {
            return Ok(Err(format!(
                "nonce {} but account expects {}",
                tx.body.nonce, acct.nonce
            )));
        }
        if acct.balance < tx.body.fee {
            return Ok(Err(format!(
                "cannot pay fee {} with balance {}",
                tx.body.fee, acct.balance
            )));
        }
        acct.balance -= tx.body.fee;
        acct.nonce += 1;
        bs.changed.insert(sender, acct);
        let module = self.modules.iter().find(|m| m.handles(&tx.body.kind));
        let mut ctx = TxContext::new(bs);
        let outcome = match module {
            Some(m) => m.apply(&mut ctx, tx),
            None => Err(TxFailure::Rule(
                "no module handles this transaction kind".into(),
            )),
        };
        let receipt = |status, events, error| Receipt {
            tx_hash: hash,
            status,
            fee: tx.body.fee,
            gas_used: 0,
            events,
            error,
        };
        Ok(Ok(match outcome {
            Ok(()) => {
                let (accounts, objects, events) = ctx.into_writes();
                bs.changed.extend(accounts);
                bs.objects.extend(objects);
                receipt(TxStatus::Success, events, None)
            }
            Err(TxFailure::Rule(reason)) => receipt(TxStatus::Failed, vec![], Some(reason)),
            Err(TxFailure::State(e)) => return Err(e.into()),
        }))
    }

    /// Starts executing block `height`: reads the validator sets it needs and runs the modules'
    /// `begin_block` hooks.
    fn start_block(
        &self,
        height: u64,
        proposer: Address,
        last_commit: Option<&Commit>,
        evidence: &[DuplicateVoteEvidence],
    ) -> Result<(BlockState<'_>, Sets), ChainError> {
        let staking = StakingReader(&self.state);
        let sets = Sets {
            current: staking.next_set()?,
            last: staking.set_for(height - 1)?,
        };
        let mut bs = BlockState::new(&self.state, height);
        let info = sets.info(height, proposer, last_commit, evidence, 0);
        self.run_hooks(&mut bs, &info, false)?;
        Ok((bs, sets))
    }

    fn run_hooks(
        &self,
        bs: &mut BlockState<'_>,
        info: &BlockInfo<'_>,
        end: bool,
    ) -> Result<(), ChainError> {
        for m in &self.modules {
            let mut ctx = TxContext::new(bs);
            if end {
                m.end_block(&mut ctx, info)?;
            } else {
                m.begin_block(&mut ctx, info)?;
            }
            let (accounts, objects, _events) = ctx.into_writes();
            bs.changed.extend(accounts);
            bs.objects.extend(objects);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        mut bs: BlockState<'_>,
        sets: &Sets,
        mut header: Header,
        txs: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
        last_commit: Option<Commit>,
        evidence: Vec<DuplicateVoteEvidence>,
        extra: Option<BTreeMap<Address, Account>>,
    ) -> Result<Executed, ChainError> {
        let fees = receipts.iter().fold(0u128, |s, r| s.saturating_add(r.fee));
        let info = sets.info(
            header.height,
            header.proposer,
            last_commit.as_ref(),
            &evidence,
            fees,
        );
        self.run_hooks(&mut bs, &info, true)?;
        if let Some(extra) = extra {
            bs.changed.extend(extra);
        }
        let up = self
            .state
            .stage(header.height, header.time, &bs.changed, &bs.objects)?;
        header.state_root = up.root;
        Ok(Executed {
            block: Block {
                header,
                txs,
                last_commit,
                evidence,
            },
            receipts,
            changed: bs.changed,
            batch: up.batch,
        })
    }

    fn next_header(
        &self,
        proposer: Address,
        time: u64,
        set: &[ValidatorInfo],
        evidence: &[DuplicateVoteEvidence],
    ) -> (Header, Option<Commit>) {
        let head = self.head();
        let header = Header {
            chain_id: self.genesis.chain_id.clone(),
            height: head.header.height + 1,
            time: time.max(head.header.time.saturating_add(1)),
            parent: head.hash,
            proposer,
            txs_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validator_set_hash: ValidatorInfo::set_hash(set),
            last_commit_hash: head.commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
            evidence_root: evidence_root(evidence),
        };
        (header, head.commit)
    }

    /// Builds the next block from mempool candidates (already signature-checked), leaving out any
    /// that cannot be included. Returns the executed block and the hashes left out.
    pub fn build_block(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        self.build_block_with(candidates, proposer, time, None)
    }

    /// [`Chain::build_block`] that also writes `overrides` into the state (dev chains'
    /// `dev_setBalance`: the change is in the block's state root but in none of its transactions,
    /// so replaying such a chain from its blocks alone fails at that block — dev chains only).
    pub fn build_block_with(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        overrides: Option<BTreeMap<Address, Account>>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        self.build(candidates, proposer, time, overrides, vec![])
    }

    /// [`Chain::build_block`] carrying `evidence` of double signing: the pieces that verify and
    /// were not punished yet go in the block (the rest is left out and logged).
    pub fn build_block_with_evidence(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        evidence: Vec<DuplicateVoteEvidence>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        let height = self.head().header.height + 1;
        let mut seen = std::collections::HashSet::new();
        let usable = evidence
            .into_iter()
            .filter(|e| match self.evidence_problem(height, e) {
                None => seen.len() < MAX_BLOCK_EVIDENCE && seen.insert(e.validator()),
                Some(why) => {
                    tracing::debug!(target: "batara::chain", evidence = %e.hash(), why, "left out of block");
                    false
                }
            })
            .collect();
        self.build(candidates, proposer, time, None, usable)
    }

    /// Why `e` cannot be in block `height`, if it cannot: from the future, older than the
    /// unbonding period, not verifying against its height's validator set, or already punished.
    fn evidence_problem(&self, height: u64, e: &DuplicateVoteEvidence) -> Option<String> {
        let eh = e.vote_a.height;
        if eh >= height {
            return Some(format!("evidence of height {eh} in block {height}"));
        }
        if height - eh > self.genesis.params.staking.unbonding_blocks {
            return Some(format!("evidence of height {eh} is too old"));
        }
        let staking = StakingReader(&self.state);
        match staking.set_for(eh) {
            Ok(Some(set)) => {
                if let Err(err) = e.verify(&self.genesis.chain_id, &set) {
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

    fn build(
        &self,
        candidates: &[Arc<PoolTx>],
        proposer: Address,
        time: u64,
        overrides: Option<BTreeMap<Address, Account>>,
        evidence: Vec<DuplicateVoteEvidence>,
    ) -> Result<(Executed, Vec<Hash>), ChainError> {
        let _exec = self.exec.read();
        let head = self.head();
        let (mut bs, sets) = self.start_block(
            head.header.height + 1,
            proposer,
            head.commit.as_ref(),
            &evidence,
        )?;
        let (mut header, last_commit) = self.next_header(proposer, time, &sets.current, &evidence);
        let mut txs = Vec::with_capacity(candidates.len());
        let mut receipts = Vec::with_capacity(candidates.len());
        let mut left_out = Vec::new();
        for c in candidates {
            match self.execute_tx(&mut bs, &c.tx, c.hash)? {
                Ok(r) => {
                    receipts.push(r);
                    txs.push(c.tx.clone());
                }
                Err(reason) => {
                    tracing::debug!(target: "batara::chain", tx = %c.hash, %reason, "left out of block");
                    left_out.push(c.hash);
                }
            }
        }
        let hashes: Vec<Hash> = receipts.iter().map(|r| r.tx_hash).collect();
        header.txs_root = crypto::merkle_root(&hashes);
        Ok((
            self.finish(
                bs,
                &sets,
                header,
                txs,
                receipts,
                last_commit,
                evidence,
                overrides,
            )?,
            left_out,
        ))
    }

    /// Checks and executes a block made elsewhere (or replayed): header links, limits,
    /// signatures (batch-verified), every transaction includable, transactions root and state root.
    pub fn execute_block(&self, block: &Block) -> Result<Executed, ChainError> {
        self.execute_block_trusting(block, |_| false)
    }

    /// [`Chain::execute_block`] that skips the signature check of transactions `verified` says
    /// were already verified (those in this node's mempool: checked when admitted).
    pub fn execute_block_trusting(
        &self,
        block: &Block,
        verified: impl Fn(&Hash) -> bool,
    ) -> Result<Executed, ChainError> {
        let _exec = self.exec.read();
        let h = &block.header;
        let invalid = |reason: String| ChainError::InvalidBlock {
            height: h.height,
            reason,
        };
        let head = self.head();
        if h.height != head.header.height + 1 {
            return Err(invalid(format!(
                "expected height {}",
                head.header.height + 1
            )));
        }
        if h.chain_id != self.genesis.chain_id {
            return Err(invalid(format!("chain id {}", h.chain_id)));
        }
        if h.parent != head.hash {
            return Err(invalid(format!(
                "parent {} is not the head {}",
                h.parent, head.hash
            )));
        }
        if h.time <= head.header.time {
            return Err(invalid("time does not increase".into()));
        }
        if block.evidence.len() > MAX_BLOCK_EVIDENCE {
            return Err(invalid(format!(
                "{} pieces of evidence, limit {MAX_BLOCK_EVIDENCE}",
                block.evidence.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for e in &block.evidence {
            if let Some(why) = self.evidence_problem(h.height, e) {
                return Err(invalid(format!("evidence {}: {why}", e.hash())));
            }
            if !seen.insert(e.validator()) {
                return Err(invalid(format!(
                    "two pieces of evidence against {}",
                    e.validator()
                )));
            }
        }
        if h.evidence_root != evidence_root(&block.evidence) {
            return Err(invalid("evidence root".into()));
        }
        let (mut bs, sets) = self.start_block(
            h.height,
            h.proposer,
            block.last_commit.as_ref(),
            &block.evidence,
        )?;
        if !sets.current.iter().any(|v| v.address == h.proposer) {
            return Err(invalid(format!(
                "proposer {} is not a validator",
                h.proposer
            )));
        }
        if h.validator_set_hash != ValidatorInfo::set_hash(&sets.current) {
            return Err(invalid("validator set hash".into()));
        }
        // The previous block's commit as the proposer saw it: any set of precommits with more
        // than 2/3 of the parent's validator power (nodes may hold different, equally valid ones).
        match (&block.last_commit, head.header.height) {
            (None, 0) => {}
            (Some(c), parent) if parent > 0 => {
                self.verify_commit(c, parent, &head.hash)
                    .map_err(|e| invalid(format!("last commit: {e}")))?;
            }
            _ => return Err(invalid("last commit missing or unexpected".into())),
        }
        if h.last_commit_hash != block.last_commit.as_ref().map_or(Hash::ZERO, |c| c.hash()) {
            return Err(invalid("last commit hash".into()));
        }
        let params = &self.genesis.params;
        if block.txs.len() > params.max_block_txs as usize {
            return Err(invalid(format!(
                "{} txs, limit {}",
                block.txs.len(),
                params.max_block_txs
            )));
        }
        let encoded: Vec<Vec<u8>> = block.txs.iter().map(|t| t.to_bytes()).collect();
        let bytes: u64 = encoded.iter().map(|b| b.len() as u64).sum();
        if bytes > params.max_block_bytes {
            return Err(invalid(format!(
                "{bytes} bytes of txs, limit {}",
                params.max_block_bytes
            )));
        }
        let hashes: Vec<Hash> = encoded.iter().map(|b| crypto::sha256(b)).collect();
        if crypto::merkle_root(&hashes) != h.txs_root {
            return Err(invalid("transactions root".into()));
        }
        let unverified: Vec<usize> = (0..block.txs.len())
            .filter(|i| !verified(&hashes[*i]))
            .collect();
        let messages: Vec<Vec<u8>> = unverified
            .iter()
            .map(|i| block.txs[*i].body.signing_message())
            .collect();
        let items: Vec<BatchItem> = unverified
            .iter()
            .zip(&messages)
            .map(|(i, m)| block.txs[*i].batch_item(m))
            .collect();
        if let Some(i) = crypto::verify_batch(&items).iter().position(|r| r.is_err()) {
            return Err(invalid(format!(
                "bad signature on tx {}",
                hashes[unverified[i]]
            )));
        }
        let mut receipts = Vec::with_capacity(block.txs.len());
        for (tx, hash) in block.txs.iter().zip(&hashes) {
            match self.execute_tx(&mut bs, tx, *hash)? {
                Ok(r) => receipts.push(r),
                Err(reason) => return Err(invalid(format!("tx {hash}: {reason}"))),
            }
        }
        let header = Header {
            state_root: Hash::ZERO,
            ..h.clone()
        };
        let ex = self.finish(
            bs,
            &sets,
            header,
            block.txs.clone(),
            receipts,
            block.last_commit.clone(),
            block.evidence.clone(),
            None,
        )?;
        if ex.block.header.state_root != h.state_root {
            return Err(invalid(format!(
                "state root {} but execution gives {}",
                h.state_root, ex.block.header.state_root
            )));
        }
        Ok(ex)
    }

    /// Checks that `commit` finalizes `hash` at `height` with more than 2/3 of the voting power of
    /// that height's validator set (signatures batch-verified). The state after `height - 1` must
    /// be stored (it holds that set).
    pub fn verify_commit(
        &self,
        commit: &Commit,
        height: u64,
        hash: &Hash,
    ) -> Result<(), ChainError> {
        let invalid = |reason: String| ChainError::InvalidBlock { height, reason };
        if commit.height != height || commit.block_hash != *hash {
            return Err(invalid("commit is for another block".into()));
        }
        let set = StakingReader(&self.state)
            .set_for(height)?
            .ok_or_else(|| invalid("no validator set stored for this height".into()))?;
        let msg = Commit::sign_message(&self.genesis.chain_id, height, commit.round, hash);
        let total: u128 = set.iter().map(|v| v.power as u128).sum();
        let mut signed: u128 = 0;
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::with_capacity(commit.signatures.len());
        for s in &commit.signatures {
            let Some(v) = set.iter().find(|v| v.address == s.validator) else {
                return Err(invalid(format!(
                    "commit signed by non-validator {}",
                    s.validator
                )));
            };
            if !seen.insert(s.validator) {
                return Err(invalid(format!("validator {} signed twice", s.validator)));
            }
            items.push(BatchItem {
                public_key: &v.pubkey,
                message: &msg,
                signature: &s.signature,
            });
            signed += v.power as u128;
        }
        if let Some(i) = crypto::verify_batch(&items).iter().position(|r| r.is_err()) {
            return Err(invalid(format!(
                "bad commit signature from {}",
                commit.signatures[i].validator
            )));
        }
        if signed * 3 <= total * 2 {
            return Err(invalid(format!(
                "commit has {signed} of {total} voting power"
            )));
        }
        Ok(())
    }

    /// Signs a single-validator commit for an executed block (dev engine).
    pub fn sign_commit(&self, ex: &Executed, signer: &dyn Signer) -> Commit {
        let hash = ex.block.hash();
        let height = ex.block.header.height;
        let msg = Commit::sign_message(&self.genesis.chain_id, height, 0, &hash);
        Commit {
            height,
            round: 0,
            block_hash: hash,
            signatures: vec![CommitSig {
                validator: signer.address(),
                signature: signer.sign(&msg),
            }],
        }
    }

    /// Writes an executed block and its commit in one batch and makes it the head.
    pub fn commit(&self, ex: Executed, commit: Commit) -> Result<CommittedBlock, ChainError> {
        self.verify_commit(&commit, ex.block.header.height, &ex.block.hash())?;
        let _exec = self.exec.write();
        let Executed {
            block,
            receipts,
            mut batch,
            ..
        } = ex;
        let height = block.header.height;
        let hash = block.hash();
        let head = self.head();
        if height != head.header.height + 1 || block.header.parent != head.hash {
            return Err(ChainError::InvalidBlock {
                height,
                reason: format!(
                    "does not extend the head {} at height {}",
                    head.hash, head.header.height
                ),
            });
        }
        if commit.block_hash != hash {
            return Err(ChainError::InvalidBlock {
                height,
                reason: "commit is for another block".into(),
            });
        }
        let hk = height_key(height);
        batch.put(Column::Headers, hk, enc(&block.header));
        batch.put(Column::Blocks, hk, enc(&block));
        batch.put(Column::BlockHashes, hash.0.to_vec(), hk);
        batch.put(Column::Commits, hk, enc(&commit));
        for (i, (tx, r)) in block.txs.iter().zip(&receipts).enumerate() {
            batch.put(
                Column::TxIndex,
                r.tx_hash.0.to_vec(),
                enc(&(height, i as u32, tx)),
            );
            batch.put(Column::Receipts, receipt_key(height, i as u32), enc(r));
        }
        batch.put(Column::Meta, META_HEAD, hk);
        self.store.write(batch)?;
        *self.head.write() = Head {
            header: block.header.clone(),
            hash,
            commit: Some(commit.clone()),
        };
        Ok(CommittedBlock {
            block: Arc::new(block),
            hash,
            commit,
            receipts: Arc::new(receipts),
        })
    }

    /// Checks a block made elsewhere and the commit that finalized it, and executes it: what
    /// importing it needs before [`Chain::commit`].
    pub fn check_import(&self, block: &Block, commit: &Commit) -> Result<Executed, ChainError> {
        self.verify_commit(commit, block.header.height, &block.hash())?;
        self.execute_block(block)
    }

    /// Imports a block made elsewhere with the commit that finalized it.
    pub fn import(&self, block: &Block, commit: Commit) -> Result<CommittedBlock, ChainError> {
        let ex = self.check_import(block, &commit)?;
        self.commit(ex, commit)
    }

    /// Drops every block above `height` (dev chains: `dev_revert`).
    pub fn revert_to(&self, height: u64) -> Result<(), ChainError> {
        let _exec = self.exec.write();
        let head = self.head();
        if height >= head.header.height {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for h in height + 1..=head.header.height {
            let block = self.block(h)?.ok_or(ChainError::NoBlock(h))?;
            for tx in &block.txs {
                batch.delete(Column::TxIndex, tx.hash().0.to_vec());
            }
            batch.delete(Column::BlockHashes, block.hash().0.to_vec());
        }
        for col in [Column::Headers, Column::Blocks, Column::Commits] {
            batch.delete_range(col, height_key(height + 1), height_key(u64::MAX));
        }
        batch.delete_range(Column::Receipts, height_key(height + 1), [0xffu8; 13]);
        self.state.unwind(head.header.height, height, &mut batch)?;
        batch.put(Column::Meta, META_HEAD, height_key(height));
        self.store.write(batch)?;
        *self.head.write() = Self::load_head(self.store.as_ref(), height)?;
        Ok(())
    }

    /// The header at `height`.
    pub fn header(&self, height: u64) -> Result<Option<Header>, ChainError> {
        Ok(
            match self.store.get(Column::Headers, &height_key(height))? {
                Some(b) => Some(decode("header", &b)?),
                None => None,
            },
        )
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, ChainError> {
        Ok(match self.store.get(Column::Blocks, &height_key(height))? {
            Some(b) => Some(decode("block", &b)?),
            None => None,
        })
    }

    /// The commit of the block at `height`.
    pub fn commit_at(&self, height: u64) -> Result<Option<Commit>, ChainError> {
        Ok(
            match self.store.get(Column::Commits, &height_key(height))? {
                Some(b) => Some(decode("commit", &b)?),
                None => None,
            },
        )
    }

    /// The height of the block with `hash`.
    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, ChainError> {
        Ok(match self.store.get(Column::BlockHashes, &hash.0)? {
            Some(b) => {
                Some(u64::from_be_bytes(b.try_into().map_err(|_| {
                    ChainError::Corrupt("block hash index".into())
                })?))
            }
            None => None,
        })
    }

    /// Receipts of the block at `height`.
    pub fn receipts(&self, height: u64) -> Result<Vec<Receipt>, ChainError> {
        let rows = self.store.range(
            Column::Receipts,
            &receipt_key(height, 0),
            &receipt_key(height, u32::MAX),
            usize::MAX,
        )?;
        rows.iter()
            .map(|(_, v)| decode("receipt", v).map_err(ChainError::from))
            .collect()
    }

    /// A committed transaction with its receipt.
    pub fn transaction(&self, hash: &Hash) -> Result<Option<TxLookup>, ChainError> {
        let Some(b) = self.store.get(Column::TxIndex, &hash.0)? else {
            return Ok(None);
        };
        let (height, index, tx): (u64, u32, SignedTransaction) = decode("tx index", &b)?;
        let receipt = match self
            .store
            .get(Column::Receipts, &receipt_key(height, index))?
        {
            Some(r) => decode("receipt", &r)?,
            None => return Err(ChainError::Corrupt(format!("missing receipt of {hash}"))),
        };
        Ok(Some(TxLookup {
            tx,
            receipt,
            height,
            index,
        }))
    }
}
