//! Read access to a chain: [`ChainReader`] serves blocks, receipts, transactions, accounts (one at a
//! time or paged in address order), proofs and the validator set — for a running node (every
//! [`crate::node::NodeHandle`] read goes through one) and for a node's data directory opened
//! read-only while that node runs ([`ChainReader::open_home`], a RocksDB secondary instance).
//!
//! Owns: the read-side views ([`BlockView`], [`TxInfo`], [`AccountInfo`], [`ValidatorView`]) that
//! JSON-RPC, the bindings and `batara.analysis` all report, so every surface shows the same shape;
//! resolving a [`BlockId`] against the head; the follower's scratch directory.
//!
//! Must never: write to the store. A reader opened on a data directory sees the writer's blocks up
//! to its last [`ChainReader::refresh`] (like `eth_getBlock` on a lagging replica), never a torn
//! block: every block is one atomic RocksDB batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::chain::{Chain, CommittedBlock, TxLookup};
use crate::config::NodeConfig;
use crate::error::{Error, Result};
use crate::genesis::Genesis;
use crate::node::home;
use crate::staking::{StakingReader, Unbonding, Validator};
use crate::state::AccountProof;
use crate::storage::RocksStore;
use crate::types::{
    dec_u128, dec_u64, Address, Amount, Block, Commit, Hash, Header, PublicKey, Receipt,
    SignedTransaction,
};

/// Which block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockId {
    /// The head.
    Latest,
    /// By height.
    Height(u64),
    /// By hash.
    Hash(Hash),
}

/// An account as reported to clients.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountInfo {
    /// Address.
    pub address: Address,
    /// Balance.
    #[serde(with = "dec_u128")]
    pub balance: Amount,
    /// Next nonce.
    #[serde(with = "dec_u64")]
    pub nonce: u64,
    /// Staked amount (0 until staking lands).
    #[serde(with = "dec_u128")]
    pub staked: Amount,
}

/// One page of accounts in address order ([`ChainReader::accounts`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountPage {
    /// The accounts, in ascending address order.
    pub accounts: Vec<AccountInfo>,
    /// Pass as `after` for the next page; `None` when this was the last.
    pub next: Option<Address>,
}

/// A member of a validator set as reported to clients.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ValidatorView {
    /// Address (derived from the consensus key).
    pub address: Address,
    /// Consensus public key.
    pub pubkey: PublicKey,
    /// Voting power in this set.
    #[serde(with = "dec_u64")]
    pub voting_power: u64,
    /// Bonded stake (now; it changes the power at the next epoch).
    #[serde(with = "dec_u128")]
    pub stake: Amount,
    /// Whether it is jailed now (it leaves the set at the next block).
    pub jailed: bool,
    /// The operator account.
    pub operator: Address,
}

/// A validator's staking record as reported to clients (`staking_getValidator`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ValidatorDetail {
    /// Address (derived from the consensus key).
    pub address: Address,
    /// The record.
    #[serde(flatten)]
    pub record: Validator,
    /// Voting power in the set of the next block (0: not in it).
    #[serde(with = "dec_u64")]
    pub voting_power: u64,
    /// The operator's funds still unbonding.
    pub unbonding: Vec<Unbonding>,
}

/// A transaction with its hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxView {
    /// Hash.
    pub hash: Hash,
    /// The transaction.
    #[serde(flatten)]
    pub tx: SignedTransaction,
}

/// A block as reported to clients.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockView {
    /// Block hash.
    pub hash: Hash,
    /// Header.
    pub header: Header,
    /// The commit that finalized it (none for genesis).
    pub commit: Option<Commit>,
    /// The previous block's commit, carried in this block.
    pub last_commit: Option<Commit>,
    /// Transactions.
    pub txs: Vec<TxView>,
}

impl BlockView {
    fn new(block: &Block, commit: Option<Commit>) -> Self {
        Self {
            hash: block.hash(),
            header: block.header.clone(),
            commit,
            last_commit: block.last_commit.clone(),
            txs: block
                .txs
                .iter()
                .map(|t| TxView {
                    hash: t.hash(),
                    tx: t.clone(),
                })
                .collect(),
        }
    }

    /// From a committed block.
    pub fn from_committed(cb: &CommittedBlock) -> Self {
        Self::new(&cb.block, Some(cb.commit.clone()))
    }
}

/// A committed transaction as reported to clients.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxInfo {
    /// Hash.
    pub hash: Hash,
    /// The transaction.
    pub tx: SignedTransaction,
    /// Its receipt.
    pub receipt: Receipt,
    /// Height of its block.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

impl From<TxLookup> for TxInfo {
    fn from(t: TxLookup) -> Self {
        Self {
            hash: t.receipt.tx_hash,
            tx: t.tx,
            receipt: t.receipt,
            height: t.height,
            index: t.index,
        }
    }
}

/// The most accounts one [`ChainReader::accounts`] call returns.
pub const MAX_ACCOUNT_PAGE: usize = 10_000;

/// Read access to a chain (see the module docs).
pub struct ChainReader {
    chain: Arc<Chain>,
    // Declared after `chain` so the store closes before its scratch directory is removed.
    _scratch: Option<Scratch>,
}

/// A follower's own directory (RocksDB secondary info logs), removed when the reader goes.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl ChainReader {
    /// Reads `chain`, which this process holds (a running node's, or one a test drives).
    pub fn new(chain: Arc<Chain>) -> Self {
        Self {
            chain,
            _scratch: None,
        }
    }

    /// Opens the chain of the node home `dir` (as written by `batara init` or `batara dev --home`)
    /// read-only; the node may be running. Call [`ChainReader::refresh`] to see newer blocks.
    pub fn open_home(dir: &Path) -> Result<Self> {
        let config = NodeConfig::load(&dir.join(home::CONFIG))?;
        let genesis = Genesis::load(&dir.join(home::GENESIS))?;
        Self::open_data_dir(&home::data_dir(dir, &config), genesis)
    }

    /// Opens the chain stored under `data_dir` (the node's `data_dir`, holding `db/`) read-only.
    pub fn open_data_dir(data_dir: &Path, genesis: Genesis) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let db = data_dir.join("db");
        if !db.join("CURRENT").exists() {
            return Err(Error::NotFound(format!(
                "no Batara database at {} (expected {})",
                data_dir.display(),
                db.display()
            )));
        }
        let scratch = std::env::temp_dir().join(format!(
            "batara-reader-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&scratch).map_err(|source| Error::Io {
            context: format!("creating {}", scratch.display()),
            source,
        })?;
        let scratch = Scratch(scratch);
        let store = RocksStore::open_follower(&db, &scratch.0, &Default::default())?;
        let chain = Chain::open(Arc::new(store), genesis)?;
        Ok(Self {
            chain: Arc::new(chain),
            _scratch: Some(scratch),
        })
    }

    /// Catches up with the writer (a no-op on a running node's reader); returns the head height.
    pub fn refresh(&self) -> Result<u64> {
        if self._scratch.is_some() {
            self.chain.store().refresh()?;
            self.chain.reload_head()?;
        }
        Ok(self.height())
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The head height.
    pub fn height(&self) -> u64 {
        self.chain.head().header.height
    }

    /// The height `id` names; not found past the head.
    pub fn height_of(&self, id: BlockId) -> Result<u64> {
        let head = self.height();
        let h = match id {
            BlockId::Latest => head,
            BlockId::Height(h) => h,
            BlockId::Hash(hash) => self
                .chain
                .height_of(&hash)?
                .ok_or_else(|| Error::NotFound(format!("block {hash}")))?,
        };
        if h > head {
            return Err(Error::NotFound(format!(
                "block at height {h} (head is {head})"
            )));
        }
        Ok(h)
    }

    /// A block with its commit and transaction hashes.
    pub fn block(&self, id: BlockId) -> Result<BlockView> {
        let h = self.height_of(id)?;
        let block = self
            .chain
            .block(h)?
            .ok_or_else(|| Error::NotFound(format!("block at height {h}")))?;
        let commit = self.chain.commit_at(h)?;
        Ok(BlockView::new(&block, commit))
    }

    /// A header.
    pub fn header(&self, id: BlockId) -> Result<Header> {
        let h = self.height_of(id)?;
        self.chain
            .header(h)?
            .ok_or_else(|| Error::NotFound(format!("header at height {h}")))
    }

    /// The receipts of a block's transactions, in block order.
    pub fn receipts(&self, id: BlockId) -> Result<Vec<Receipt>> {
        let h = self.height_of(id)?;
        Ok(self.chain.receipts(h)?)
    }

    /// A committed transaction with its receipt.
    pub fn transaction(&self, hash: &Hash) -> Result<TxInfo> {
        self.chain
            .transaction(hash)?
            .map(TxInfo::from)
            .ok_or_else(|| Error::NotFound(format!("transaction {hash}")))
    }

    /// An account, at the head or after block `height`.
    pub fn account(&self, address: &Address, height: Option<u64>) -> Result<AccountInfo> {
        let acct = match height {
            None => self.chain.state().account(address)?,
            Some(h) => {
                self.height_of(BlockId::Height(h))?;
                self.chain
                    .state()
                    .account_at(address, h)?
                    .unwrap_or_default()
            }
        };
        Ok(AccountInfo {
            address: *address,
            balance: acct.balance,
            nonce: acct.nonce,
            staked: StakingReader(self.chain.state()).bonded(address, height)?,
        })
    }

    /// Up to `limit` (at most [`MAX_ACCOUNT_PAGE`]) accounts of the latest state with addresses
    /// greater than `after`, in address order.
    pub fn accounts(&self, after: Option<&Address>, limit: usize) -> Result<AccountPage> {
        if limit == 0 || limit > MAX_ACCOUNT_PAGE {
            return Err(Error::InvalidInput(format!(
                "limit must be 1..={MAX_ACCOUNT_PAGE}, got {limit}"
            )));
        }
        let rows = self.chain.state().accounts_after(after, limit + 1)?;
        let more = rows.len() > limit;
        let staking = StakingReader(self.chain.state());
        let accounts = rows
            .into_iter()
            .take(limit)
            .map(|(address, a)| {
                Ok(AccountInfo {
                    address,
                    balance: a.balance,
                    nonce: a.nonce,
                    staked: staking.bonded(&address, None)?,
                })
            })
            .collect::<Result<Vec<AccountInfo>>>()?;
        let next = if more {
            accounts.last().map(|a| a.address)
        } else {
            None
        };
        Ok(AccountPage { accounts, next })
    }

    /// An account with a proof against the state root of block `height` (default: head).
    pub fn proof(&self, address: &Address, height: Option<u64>) -> Result<AccountProof> {
        let h = self.height_of(height.map_or(BlockId::Latest, BlockId::Height))?;
        Ok(self.chain.state().prove(address, h)?)
    }

    /// The validator set of block `height`, or of the next block (`None`).
    pub fn validators(&self, height: Option<u64>) -> Result<Vec<ValidatorView>> {
        let staking = StakingReader(self.chain.state());
        let set = match height {
            None => staking.next_set()?,
            Some(h) => {
                self.height_of(BlockId::Height(h))?;
                staking.set_for(h)?.ok_or_else(|| {
                    Error::NotFound(format!("validator set of block {h} (genesis has none)"))
                })?
            }
        };
        set.iter()
            .map(|v| {
                let rec = staking.validator(&v.address)?;
                Ok(ValidatorView {
                    address: v.address,
                    pubkey: v.pubkey,
                    voting_power: v.power,
                    stake: rec.as_ref().map_or(0, |r| r.stake),
                    jailed: rec.as_ref().is_some_and(|r| r.jailed),
                    operator: rec.map_or(v.address, |r| r.operator),
                })
            })
            .collect()
    }

    /// A validator's staking record (in the set or not), at the head.
    pub fn validator(&self, address: &Address) -> Result<ValidatorDetail> {
        let staking = StakingReader(self.chain.state());
        let record = staking
            .validator(address)?
            .ok_or_else(|| Error::NotFound(format!("validator {address}")))?;
        let voting_power = staking
            .next_set()?
            .iter()
            .find(|v| v.address == *address)
            .map_or(0, |v| v.power);
        let unbonding = staking.unbonding(&record.operator)?;
        Ok(ValidatorDetail {
            address: *address,
            record,
            voting_power,
            unbonding,
        })
    }
}
