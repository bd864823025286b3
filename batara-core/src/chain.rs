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
use crate::state::{Account, StateError, StateManager};
use crate::storage::{decode, height_key, Column, Storage, StorageError, WriteBatch};
use crate::types::{
    Address, Amount, Block, Commit, CommitSig, Event, Hash, Header, Receipt, SignedTransaction,
    TxKind, TxStatus, ValidatorInfo,
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

/// Pending account writes of a block, read through to committed state.
pub struct BlockState<'a> {
    state: &'a StateManager,
    changed: BTreeMap<Address, Account>,
}

impl<'a> BlockState<'a> {
    fn new(state: &'a StateManager) -> Self {
        Self {
            state,
            changed: BTreeMap::new(),
        }
    }

    fn get(&self, addr: &Address) -> Result<Account, StateError> {
        match self.changed.get(addr) {
            Some(a) => Ok(*a),
            None => self.state.account(addr),
        }
    }
}

/// What a module sees while it applies one transaction: reads see the block so far, writes are
/// kept aside and only reach the block if the module succeeds.
pub struct TxContext<'a, 'b> {
    block: &'b BlockState<'a>,
    scratch: BTreeMap<Address, Account>,
    /// Events the module emits.
    pub events: Vec<Event>,
}

impl TxContext<'_, '_> {
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
        let TxKind::Transfer { to, amount } = &tx.body.kind;
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
    validators: Vec<ValidatorInfo>,
    modules: Vec<Box<dyn Module>>,
    head: RwLock<Head>,
}

const META_HEAD: &[u8] = b"head";
/// SHA-256 of the genesis JSON the store was created from.
const META_GENESIS_DOC: &[u8] = b"genesis_doc";

fn enc<T: borsh::BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh into Vec")
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
        let validators = genesis.validator_set();
        let modules: Vec<Box<dyn Module>> = vec![Box::new(BankModule)];
        let head = match store.get(Column::Meta, META_HEAD)? {
            None => Self::write_genesis(&store, &state, &genesis, &validators)?,
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
            validators,
            modules,
            head: RwLock::new(head),
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
        }
    }

    fn write_genesis(
        store: &Arc<dyn Storage>,
        state: &StateManager,
        genesis: &Genesis,
        validators: &[ValidatorInfo],
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
        let up = state.stage(0, genesis.genesis_time, &accounts)?;
        let header = Self::genesis_header(genesis, validators, up.root);
        let hash = header.hash();
        let block = Block {
            header: header.clone(),
            txs: vec![],
            last_commit: None,
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
    pub fn validators(&self) -> &[ValidatorInfo] {
        &self.validators
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
        let mut ctx = TxContext {
            block: bs,
            scratch: BTreeMap::new(),
            events: vec![],
        };
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
                let TxContext {
                    scratch, events, ..
                } = ctx;
                bs.changed.extend(scratch);
                receipt(TxStatus::Success, events, None)
            }
            Err(TxFailure::Rule(reason)) => receipt(TxStatus::Failed, vec![], Some(reason)),
            Err(TxFailure::State(e)) => return Err(e.into()),
        }))
    }

    fn pay_fees(
        &self,
        bs: &mut BlockState<'_>,
        proposer: Address,
        fees: Amount,
    ) -> Result<(), ChainError> {
        if fees > 0 {
            let mut p = bs.get(&proposer)?;
            p.balance = p.balance.saturating_add(fees);
            bs.changed.insert(proposer, p);
        }
        Ok(())
    }

    fn finish(
        &self,
        mut bs: BlockState<'_>,
        mut header: Header,
        txs: Vec<SignedTransaction>,
        receipts: Vec<Receipt>,
        last_commit: Option<Commit>,
        extra: Option<BTreeMap<Address, Account>>,
    ) -> Result<Executed, ChainError> {
        let fees = receipts.iter().fold(0u128, |s, r| s.saturating_add(r.fee));
        self.pay_fees(&mut bs, header.proposer, fees)?;
        if let Some(extra) = extra {
            bs.changed.extend(extra);
        }
        let up = self.state.stage(header.height, header.time, &bs.changed)?;
        header.state_root = up.root;
        Ok(Executed {
            block: Block {
                header,
                txs,
                last_commit,
            },
            receipts,
            changed: bs.changed,
            batch: up.batch,
        })
    }

    fn next_header(&self, proposer: Address, time: u64) -> (Header, Option<Commit>) {
        let head = self.head();
        let header = Header {
            chain_id: self.genesis.chain_id.clone(),
            height: head.header.height + 1,
            time: time.max(head.header.time + 1),
            parent: head.hash,
            proposer,
            txs_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validator_set_hash: ValidatorInfo::set_hash(&self.validators),
            last_commit_hash: head.commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
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
        let (mut header, last_commit) = self.next_header(proposer, time);
        let mut bs = BlockState::new(&self.state);
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
            self.finish(bs, header, txs, receipts, last_commit, overrides)?,
            left_out,
        ))
    }

    /// Checks and executes a block made elsewhere (or replayed): header links, limits,
    /// signatures (batch-verified), every transaction includable, transactions root and state root.
    pub fn execute_block(&self, block: &Block) -> Result<Executed, ChainError> {
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
        if !self.validators.iter().any(|v| v.address == h.proposer) {
            return Err(invalid(format!(
                "proposer {} is not a validator",
                h.proposer
            )));
        }
        if h.validator_set_hash != ValidatorInfo::set_hash(&self.validators) {
            return Err(invalid("validator set hash".into()));
        }
        if block.last_commit != head.commit
            || h.last_commit_hash != head.commit.as_ref().map_or(Hash::ZERO, |c| c.hash())
        {
            return Err(invalid(
                "last commit does not match the parent's commit".into(),
            ));
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
        let messages: Vec<Vec<u8>> = block.txs.iter().map(|t| t.body.signing_message()).collect();
        let items: Vec<BatchItem> = block
            .txs
            .iter()
            .zip(&messages)
            .map(|(t, m)| t.batch_item(m))
            .collect();
        if let Some(i) = crypto::verify_batch(&items).iter().position(|r| r.is_err()) {
            return Err(invalid(format!("bad signature on tx {}", hashes[i])));
        }
        let mut bs = BlockState::new(&self.state);
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
            header,
            block.txs.clone(),
            receipts,
            block.last_commit.clone(),
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

    /// Checks that `commit` finalizes `hash` at `height` with more than 2/3 of the voting power.
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
        let msg = Commit::sign_message(&self.genesis.chain_id, height, commit.round, hash);
        let total: u128 = self.validators.iter().map(|v| v.power as u128).sum();
        let mut signed: u128 = 0;
        let mut seen = std::collections::HashSet::new();
        for s in &commit.signatures {
            let Some(v) = self.validators.iter().find(|v| v.address == s.validator) else {
                return Err(invalid(format!(
                    "commit signed by non-validator {}",
                    s.validator
                )));
            };
            if !seen.insert(s.validator) {
                return Err(invalid(format!("validator {} signed twice", s.validator)));
            }
            crypto::verify(&v.pubkey, &msg, &s.signature)
                .map_err(|_| invalid(format!("bad commit signature from {}", s.validator)))?;
            signed += v.power as u128;
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

    /// Imports a block made elsewhere with the commit that finalized it.
    pub fn import(&self, block: &Block, commit: Commit) -> Result<CommittedBlock, ChainError> {
        self.verify_commit(&commit, block.header.height, &block.hash())?;
        let ex = self.execute_block(block)?;
        self.commit(ex, commit)
    }

    /// Drops every block above `height` (dev chains: `dev_revert`).
    pub fn revert_to(&self, height: u64) -> Result<(), ChainError> {
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
