//! The committed chain: opening a data directory, the genesis block, commits, reverts and
//! block-store reads.
//!
//! Owns: [`Chain`] (head, block store, the state it produced), [`ChainSpec`] (what the runtime
//! needs of a genesis), writing the genesis block (height 0, state from each module's
//! `init_genesis`), committing a block with its receipts, tx index and state in one
//! [`WriteBatch`], and the commit check ([`Chain::verify_commit`]: the set of the height from
//! `ValidatorSets`, the rule from `batara_primitives::commit`). Executing blocks is
//! `execute.rs`'s.
//!
//! Must never: commit a block whose state root, transactions root or signatures do not check, or
//! write any part of a block outside its one batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::commit::verify_commit;
use crate::crypto;
use crate::state::{Account, StateManager};
use crate::storage::{decode, height_key, Column, Storage, WriteBatch};
use crate::types::{
    Address, Block, Commit, CommitSig, DuplicateVoteEvidence, Event, Hash, Header, Receipt,
    SignedTransaction, ValidatorInfo,
};
use crate::validator::Signer;

use super::error::ChainError;
use super::module::{BlockState, TxContext};
use super::params::{upgrade_plan, ChainRules, UpgradePlan};
use super::registry::Registry;

/// A block executed but not yet written.
#[derive(Debug)]
pub struct Executed {
    /// The block.
    pub block: Block,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Every account the block wrote, with its new value.
    pub changed: BTreeMap<Address, Account>,
    /// Events of its block hooks (not of a transaction).
    pub events: Vec<Event>,
    pub(super) batch: WriteBatch,
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
    /// Events of its block hooks.
    pub events: Arc<Vec<Event>>,
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
    pub(super) state: StateManager,
    pub(super) spec: ChainSpec,
    genesis_hash: Hash,
    pub(super) registry: Registry,
    head: RwLock<Head>,
    /// Executions (building or checking a block) hold it shared, commits and reverts exclusively:
    /// an execution never sees the state of a block whose head is not yet published.
    pub(super) exec: RwLock<()>,
    /// Heights of upgrade plans this node was told to run past with this binary
    /// (`--unsafe-skip-upgrades`).
    pub(super) skip_upgrades: RwLock<Vec<u64>>,
    /// The upgrade this binary stopped at, once it refused to execute its height.
    pub(super) halted: parking_lot::Mutex<Option<UpgradePlan>>,
}

/// What the runtime needs of a genesis document (the document itself, with every module's
/// fragment, is `app::Genesis`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSpec {
    /// Chain id, bound into every signature.
    pub chain_id: String,
    /// Time of the genesis header, ms since the Unix epoch.
    pub genesis_time: u64,
    /// Block limits and fee floors at genesis (governance may change them later:
    /// [`Chain::rules`]).
    pub rules: ChainRules,
    /// SHA-256 of the genesis document's JSON: a data directory belongs to one genesis.
    pub fingerprint: Hash,
}

const META_HEAD: &[u8] = b"head";
/// SHA-256 of the genesis JSON the store was created from.
const META_GENESIS_DOC: &[u8] = b"genesis_doc";

pub(super) fn enc<T: borsh::BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh into Vec")
}

/// Most pieces of evidence in one block (one per offender).
pub const MAX_BLOCK_EVIDENCE: usize = 16;

/// The Merkle root of the hashes of a block's evidence.
pub(super) fn evidence_root(evidence: &[DuplicateVoteEvidence]) -> Hash {
    let hashes: Vec<Hash> = evidence.iter().map(|e| e.hash()).collect();
    crypto::merkle_root(&hashes)
}

/// The receipt index under which a block's own events are kept (after every receipt's:
/// [`Chain::receipts`] reads below it).
const BLOCK_EVENTS: u32 = u32::MAX;

fn receipt_key(height: u64, index: u32) -> Vec<u8> {
    let mut k = height_key(height).to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

impl Chain {
    /// Opens the chain in `store`, writing the genesis if the store is empty. Checks that a
    /// non-empty store belongs to this genesis and that its state matches its head.
    pub fn open(
        store: Arc<dyn Storage>,
        spec: ChainSpec,
        registry: Registry,
    ) -> Result<Self, ChainError> {
        let state = StateManager::new(store.clone());
        let head = match store.get(Column::Meta, META_HEAD)? {
            None => Self::write_genesis(&store, &state, &spec, &registry)?,
            Some(h) => {
                let height = u64::from_be_bytes(
                    h.as_slice()
                        .try_into()
                        .map_err(|_| ChainError::Corrupt("head pointer".into()))?,
                );
                Self::load_head(store.as_ref(), height)?
            }
        };
        let stored = store
            .get(Column::Meta, META_GENESIS_DOC)?
            .ok_or_else(|| ChainError::Corrupt("missing genesis fingerprint".into()))?;
        if stored != spec.fingerprint.0 {
            return Err(ChainError::GenesisMismatch {
                stored: Hash(
                    stored
                        .try_into()
                        .map_err(|_| ChainError::Corrupt("genesis fingerprint".into()))?,
                ),
                given: spec.fingerprint,
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
        let chain = Self {
            store,
            state,
            spec,
            genesis_hash,
            registry,
            head: RwLock::new(head),
            exec: RwLock::new(()),
            skip_upgrades: RwLock::new(vec![]),
            halted: parking_lot::Mutex::new(None),
        };
        chain.head_moved()?;
        Ok(chain)
    }

    fn genesis_header(spec: &ChainSpec, validators: &[ValidatorInfo], state_root: Hash) -> Header {
        Header {
            chain_id: spec.chain_id.clone(),
            height: 0,
            time: spec.genesis_time,
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
        spec: &ChainSpec,
        registry: &Registry,
    ) -> Result<Head, ChainError> {
        let mut bs = BlockState::new(state, 0, spec.genesis_time, spec.rules.clone());
        for m in registry.modules() {
            let mut ctx = TxContext::new(&bs);
            m.init_genesis(&mut ctx)?;
            let (accounts, objects, _events) = ctx.into_writes();
            bs.changed.extend(accounts);
            bs.objects.extend(objects);
        }
        let up = state.stage(0, spec.genesis_time, &bs.changed, &bs.objects)?;
        let header = Self::genesis_header(spec, &registry.validator_sets().genesis_set(), up.root);
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
        batch.put(Column::Meta, META_GENESIS_DOC, spec.fingerprint.0.to_vec());
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

    /// The head height the store holds now: written in the same batch as the block, so two equal
    /// readings around some reads of the store mean no block was committed or reverted between
    /// them (the in-memory [`Chain::head`] follows the store a moment later).
    pub fn stored_height(&self) -> Result<u64, ChainError> {
        let h = self
            .store
            .get(Column::Meta, META_HEAD)?
            .ok_or_else(|| ChainError::Corrupt("missing head".into()))?;
        Ok(u64::from_be_bytes(
            h.try_into()
                .map_err(|_| ChainError::Corrupt("head pointer".into()))?,
        ))
    }

    /// Re-reads the head from storage (a read-only follower after [`Storage::refresh`]).
    pub fn reload_head(&self) -> Result<Head, ChainError> {
        let height = self.stored_height()?;
        let head = Self::load_head(self.store.as_ref(), height)?;
        *self.head.write() = head.clone();
        self.head_moved()?;
        Ok(head)
    }

    /// The latest committed block's header, hash and commit.
    pub fn head(&self) -> Head {
        self.head.read().clone()
    }

    /// Adds a precommit that came after the head block was decided to the head's commit, so the
    /// next block's `last_commit` credits every validator that signed it in time (downtime is
    /// counted from it; CometBFT gathers these during its commit timeout too). Only a signature
    /// for the head's block and commit round by a validator not yet in it; the caller verified
    /// it. In memory: the stored commit stays the one the block was committed with (any commit
    /// with more than 2/3 of the power is valid). True when it was added.
    pub fn add_head_signature(
        &self,
        height: u64,
        round: u32,
        block: &Hash,
        sig: CommitSig,
    ) -> bool {
        let mut head = self.head.write();
        if head.header.height != height || head.hash != *block {
            return false;
        }
        match head.commit.as_mut() {
            Some(c)
                if c.round == round
                    && c.signatures.iter().all(|s| s.validator != sig.validator) =>
            {
                c.signatures.push(sig);
                true
            }
            _ => false,
        }
    }

    /// The chain id, genesis time and block limits this chain was opened with.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The block limits and fee floors the next block is held to (the genesis values until a
    /// governance proposal changes them).
    pub fn rules(&self) -> Result<ChainRules, ChainError> {
        Ok(ChainRules::current(&self.state, &self.spec.rules)?)
    }

    /// The software upgrade scheduled by governance, if any.
    pub fn upgrade_plan(&self) -> Result<Option<UpgradePlan>, ChainError> {
        Ok(upgrade_plan(&self.state)?)
    }

    /// Lets this binary execute past the upgrade plans of `heights` (the operator's
    /// `--unsafe-skip-upgrades`: every node of the network must be told the same, or they fork).
    pub fn skip_upgrades(&self, heights: &[u64]) {
        *self.skip_upgrades.write() = heights.to_vec();
        let mut halted = self.halted.lock();
        if halted.as_ref().is_some_and(|p| heights.contains(&p.height)) {
            *halted = None;
        }
    }

    /// Marks the chain halted (once, with the error logged) when the next block is a scheduled
    /// upgrade's height: a node that only follows blocks stops there as well as one that builds
    /// or checks them.
    pub(super) fn check_upgrade(&self) -> Result<(), ChainError> {
        let next = self.head().header.height + 1;
        if let Some(plan) = upgrade_plan(&self.state)? {
            if plan.height <= next && !self.skip_upgrades.read().contains(&plan.height) {
                self.halt(plan);
            }
        }
        Ok(())
    }

    /// Records that this binary stops before `plan`'s height (logged the first time).
    pub(super) fn halt(&self, plan: UpgradePlan) {
        let mut halted = self.halted.lock();
        if halted.is_none() {
            let e = ChainError::UpgradeNeeded {
                name: plan.name.clone(),
                height: plan.height,
                info: plan.info.clone(),
            };
            tracing::error!(target: "batara::chain", "{e}");
            *halted = Some(plan);
        }
    }

    /// The upgrade this binary refused to go past (it executes no block from its height on).
    pub fn halted(&self) -> Option<UpgradePlan> {
        self.halted.lock().clone()
    }

    /// The modules this chain runs.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Hash of the genesis header (the chain's identity).
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    /// The validator set.
    pub fn validators(&self) -> Result<Vec<ValidatorInfo>, ChainError> {
        Ok(self.registry.validator_sets().next_set(&self.state)?)
    }

    /// The validator set of block `height` (`None` for genesis or an unknown height).
    pub fn set_for(&self, height: u64) -> Result<Option<Vec<ValidatorInfo>>, ChainError> {
        Ok(self
            .registry
            .validator_sets()
            .set_for(&self.state, height)?)
    }

    /// Whether the evidence with this hash was already punished.
    pub fn evidence_seen(&self, hash: &Hash) -> Result<bool, ChainError> {
        Ok(self
            .registry
            .validator_sets()
            .evidence_seen(&self.state, hash)?)
    }

    /// The state manager.
    pub fn state(&self) -> &StateManager {
        &self.state
    }

    /// The storage underneath.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
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
        let set = self
            .registry
            .validator_sets()
            .set_for(&self.state, height)?
            .ok_or_else(|| invalid("no validator set stored for this height".into()))?;
        verify_commit(&self.spec.chain_id, &set, commit, height, hash)
            .map_err(|e| invalid(e.to_string()))
    }

    /// Signs a single-validator commit for an executed block (dev engine).
    pub fn sign_commit(&self, ex: &Executed, signer: &dyn Signer) -> Commit {
        let hash = ex.block.hash();
        let height = ex.block.header.height;
        let msg = Commit::sign_message(&self.spec.chain_id, height, 0, &hash);
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
            events,
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
        if !events.is_empty() {
            batch.put(
                Column::Receipts,
                receipt_key(height, BLOCK_EVENTS),
                enc(&events),
            );
        }
        batch.put(Column::Meta, META_HEAD, hk);
        self.store.write(batch)?;
        *self.head.write() = Head {
            header: block.header.clone(),
            hash,
            commit: Some(commit.clone()),
        };
        self.head_moved()?;
        Ok(CommittedBlock {
            block: Arc::new(block),
            hash,
            commit,
            receipts: Arc::new(receipts),
            events: Arc::new(events),
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
        self.head_moved()
    }

    /// What follows a new head (opened, committed, reverted to, reloaded): the upgrade check, and
    /// the modules' view of committed state ([`Module::committed`]).
    ///
    /// [`Module::committed`]: super::Module::committed
    fn head_moved(&self) -> Result<(), ChainError> {
        self.check_upgrade()?;
        for m in self.registry.modules() {
            m.committed(&self.state)?;
        }
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

    /// Events of the block hooks of the block at `height` (proposal outcomes and the like).
    pub fn block_events(&self, height: u64) -> Result<Vec<Event>, ChainError> {
        match self
            .store
            .get(Column::Receipts, &receipt_key(height, BLOCK_EVENTS))?
        {
            Some(b) => Ok(decode("block events", &b)?),
            None => Ok(vec![]),
        }
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
