//! The one API layer: what JSON-RPC and every binding report and accept.
//!
//! Owns: the read views (`views.rs`) and [`ChainReader`] that builds them, [`Error`] with its
//! [`ErrorKind`] and the one table of codes ([`ERROR_TABLE`]), parsing of user input (`parse`),
//! and [`NodeApi`] — the surface of a running node that `rpc` serves and `node::NodeHandle`
//! implements, grouped as reads (default methods over [`NodeApi::reader`]), submission, and dev
//! controls (default methods over [`NodeApi::dev`]).
//!
//! Must never: start a network, a runtime or a server, or write to the store (it opens a RocksDB
//! follower only to read a node's data directory): it sits below `node` and `rpc`, so both can
//! use it.

pub mod error;
pub mod parse;
mod reader;
mod views;

use std::time::Duration;

use tokio::sync::broadcast;

pub use error::{Error, ErrorCode, ErrorKind, Result, ERROR_TABLE};
pub use reader::{ChainReader, MAX_ACCOUNT_PAGE, MAX_PROPOSAL_PAGE};
pub use views::{
    AccountInfo, AccountPage, BackupView, BlockId, BlockView, CodeView, CommunityPoolView,
    ContractView, DelegationsView, DelegatorPage, EstimateView, EventFilter, EventMatcher,
    EventView, GovParamsView, NodeInfo, ProposalPage, ProposalView, QueryView, RewardsView,
    StorageView, TraceView, TxInfo, TxView, ValidatorDetail, ValidatorReward, ValidatorView,
    VotePage,
};

use crate::consensus::DevControls;
use crate::mempool::Rejection;
use crate::modules::gov::ProposalStatus;
use crate::modules::staking::StakingReader;
use crate::modules::vm::Query;
use crate::runtime::CommittedBlock;
use crate::state::AccountProof;
use crate::types::{Address, Amount, DuplicateVoteEvidence, Hash, Header, Receipt, TxKind};

/// The most blocks one [`NodeApi::mine`] call makes (JSON-RPC `dev_mine` and every binding).
pub const MAX_MINE_BLOCKS: u32 = 10_000;

/// The longest any wait lasts (a century): a longer timeout, or none, is capped to it, so a
/// deadline `now + timeout` never overflows.
pub const MAX_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The result of submitting one transaction of a batch.
pub type SubmitResult = std::result::Result<Hash, Rejection>;

/// A running node as its clients see it.
pub trait NodeApi: Send + Sync {
    /// Node status.
    fn info(&self) -> NodeInfo;

    /// The least fee this node accepts ([`NodeInfo::min_fee`]): what the bindings pay when a
    /// caller names no fee.
    fn min_fee(&self) -> Amount {
        self.info().min_fee
    }

    /// The read side.
    fn reader(&self) -> &ChainReader;

    /// Submits one signed transaction (canonical bytes). Returns its hash once it is in the
    /// mempool.
    fn submit(&self, bytes: &[u8]) -> Result<Hash>;

    /// Submits many signed transactions; one result per transaction, in order.
    fn submit_batch(&self, txs: &[Vec<u8>]) -> Vec<SubmitResult>;

    /// Waits until transaction `hash` is in a committed block, at most `timeout`.
    fn wait_for_tx(&self, hash: &Hash, timeout: Duration) -> Result<TxInfo>;

    /// The next nonce for `address`, counting its pending transactions.
    fn next_nonce(&self, address: &Address) -> Result<u64>;

    /// A stream of committed blocks from now on.
    fn subscribe_blocks(&self) -> broadcast::Receiver<CommittedBlock>;

    /// The dev controls for the call `what` (e.g. `dev_mine`): [`ErrorKind::NotDev`] naming it on
    /// a chain that is not a dev chain, [`ErrorKind::Stopped`] once the node stopped.
    fn dev(&self, what: &'static str) -> Result<&dyn DevControls>;

    /// A block with its commit and transaction hashes.
    fn block(&self, id: BlockId) -> Result<BlockView> {
        self.reader().block(id)
    }

    /// A header.
    fn header(&self, id: BlockId) -> Result<Header> {
        self.reader().header(id)
    }

    /// The receipts of a block's transactions, in block order.
    fn receipts(&self, id: BlockId) -> Result<Vec<Receipt>> {
        self.reader().receipts(id)
    }

    /// A committed transaction with its receipt.
    fn transaction(&self, hash: &Hash) -> Result<TxInfo> {
        self.reader().transaction(hash)
    }

    /// An account, at the head or after block `height`.
    fn account(&self, address: &Address, height: Option<u64>) -> Result<AccountInfo> {
        self.reader().account(address, height)
    }

    /// The latest balance of an account ([`ChainReader::balance`]).
    fn balance(&self, address: &Address) -> Result<Amount> {
        self.reader().balance(address)
    }

    /// The latest balances of many accounts, all after one block ([`ChainReader::balances`]).
    fn balances(&self, addresses: &[Address]) -> Result<Vec<Amount>> {
        self.reader().balances(addresses)
    }

    /// A page of accounts in address order ([`ChainReader::accounts`]).
    fn accounts(&self, after: Option<&Address>, limit: usize) -> Result<AccountPage> {
        self.reader().accounts(after, limit)
    }

    /// An account with a proof against the state root of block `height` (default: head).
    fn proof(&self, address: &Address, height: Option<u64>) -> Result<AccountProof> {
        self.reader().proof(address, height)
    }

    /// The validator set of block `height`, or of the next block (`None`).
    fn validators(&self, height: Option<u64>) -> Result<Vec<ValidatorView>> {
        self.reader().validators(height)
    }

    /// A validator's staking record, unbonding funds and current power.
    fn validator(&self, address: &Address) -> Result<ValidatorDetail> {
        self.reader().validator(address)
    }

    /// An account's delegations, their worth, pending rewards and unbonding funds.
    fn delegations(&self, delegator: &Address) -> Result<DelegationsView> {
        self.reader().delegations(delegator)
    }

    /// A page of a validator's delegators ([`ChainReader::delegators`]).
    fn delegators(
        &self,
        validator: &Address,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<DelegatorPage> {
        self.reader().delegators(validator, after, limit)
    }

    /// A delegator's pending rewards per validator.
    fn rewards(&self, delegator: &Address) -> Result<RewardsView> {
        self.reader().rewards(delegator)
    }

    /// The community pool and the supply counters.
    fn community_pool(&self) -> Result<CommunityPoolView> {
        self.reader().community_pool()
    }

    /// A governance proposal with its deposits and tally ([`ChainReader::proposal`]).
    fn proposal(&self, id: u64) -> Result<ProposalView> {
        self.reader().proposal(id)
    }

    /// A page of proposals ([`ChainReader::proposals`]).
    fn proposals(
        &self,
        status: Option<&str>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ProposalPage> {
        self.reader().proposals(status, after, limit)
    }

    /// A page of a proposal's votes ([`ChainReader::votes`]).
    fn votes(&self, id: u64, after: Option<&Address>, limit: usize) -> Result<VotePage> {
        self.reader().votes(id, after, limit)
    }

    /// Governance parameters ([`ChainReader::gov_params`]).
    fn gov_params(&self) -> Result<GovParamsView> {
        self.reader().gov_params()
    }

    /// A contract, at the head or after block `height`.
    fn contract(&self, address: &Address, height: Option<u64>) -> Result<ContractView> {
        self.reader().contract(address, height)
    }

    /// Stored contract code.
    fn code(&self, hash: &Hash) -> Result<CodeView> {
        self.reader().code(hash)
    }

    /// A contract's storage slot, with a proof if `prove`.
    fn storage(
        &self,
        contract: &Address,
        slot: &[u8],
        height: Option<u64>,
        prove: bool,
    ) -> Result<StorageView> {
        self.reader().storage(contract, slot, height, prove)
    }

    /// A read-only contract call against the latest state.
    fn query_contract(&self, q: &Query<'_>, height: Option<u64>) -> Result<QueryView> {
        self.reader().query_contract(q, height)
    }

    /// The gas a contract transaction would use, trying at most `cap` gas (default: the
    /// chain's `max_tx_gas`).
    fn estimate_gas(
        &self,
        sender: &Address,
        kind: &TxKind,
        cap: Option<u64>,
    ) -> Result<EstimateView> {
        self.reader().estimate_gas(sender, kind, cap)
    }

    /// Every host call of contract transaction `hash`, with arguments, result and gas (kept by
    /// dev nodes for their latest contract transactions).
    fn trace(&self, hash: &Hash) -> Result<TraceView> {
        self.reader().trace(hash)
    }

    /// Submits evidence that a validator signed two conflicting votes (BFT nodes): checked as
    /// gossiped evidence is (it must verify, be recent enough, and not be punished already), kept
    /// for this node's next proposal and relayed to its peers; a block carrying it slashes and
    /// tombstones the validator. Returns the evidence hash; `InvalidInput` naming the cause.
    fn submit_evidence(&self, evidence: DuplicateVoteEvidence) -> Result<Hash>;

    /// Writes a consistent backup of the chain, as of its latest committed block, into the new
    /// directory `dir` while the node runs (see [`BackupView`]); `None`: a new directory
    /// `backup-<unix ms>` in the node's `backup_dir` (`InvalidInput` when that is not set).
    fn backup(&self, dir: Option<&std::path::Path>) -> Result<BackupView>;

    /// Makes `count` blocks now (dev chains): 1 to [`MAX_MINE_BLOCKS`], else `InvalidInput`.
    fn mine(&self, count: u32) -> Result<Vec<BlockView>> {
        let dev = self.dev("dev_mine")?;
        if !(1..=MAX_MINE_BLOCKS).contains(&count) {
            return Err(Error::InvalidInput(format!(
                "blocks must be between 1 and {MAX_MINE_BLOCKS}, got {count}"
            )));
        }
        Ok(dev
            .mine(count)?
            .iter()
            .map(BlockView::from_committed)
            .collect())
    }

    /// Remembers the head; returns a snapshot id (dev chains).
    fn snapshot(&self) -> Result<u64> {
        Ok(self.dev("dev_snapshot")?.snapshot())
    }

    /// Returns to a snapshot (dev chains).
    fn revert(&self, id: u64) -> Result<()> {
        Ok(self.dev("dev_revert")?.revert(id)?)
    }

    /// Sets a balance in a new block (dev chains).
    fn set_balance(&self, address: &Address, amount: Amount) -> Result<BlockView> {
        Ok(BlockView::from_committed(
            &self.dev("dev_setBalance")?.set_balance(*address, amount)?,
        ))
    }

    /// Moves block time forward; returns the total offset in ms (dev chains).
    fn increase_time(&self, ms: u64) -> Result<u64> {
        Ok(self.dev("dev_increaseTime")?.increase_time(ms))
    }

    /// Fast-forwards a dev chain so that `target` comes in the next block: block time for a
    /// proposal's deposit or voting period, empty blocks for a height or the earliest pending
    /// unbonding (`dev_skipTo`).
    fn skip_to(&self, target: SkipTarget) -> Result<SkipView> {
        let dev = self.dev("dev_skipTo")?;
        let head = self.reader().chain().head().header;
        let height = match target {
            SkipTarget::VotingEnd(id) => {
                let p = self.proposal(id)?.proposal;
                let end = match p.status {
                    ProposalStatus::VotingPeriod => p.voting_end_ms,
                    ProposalStatus::DepositPeriod => p.deposit_end_ms,
                    s => {
                        return Err(Error::InvalidInput(format!(
                            "proposal {id} is {}: no period left to end",
                            s.name()
                        )))
                    }
                };
                let offset = dev.skip_time_to(end);
                return Ok(SkipView {
                    height: head.height + 1,
                    time_offset_ms: offset,
                });
            }
            SkipTarget::UnbondingEnd => StakingReader(self.reader().chain().state())
                .next_unbonding_due()?
                .ok_or_else(|| Error::InvalidInput("no unbonding is in progress".into()))?,
            SkipTarget::Height(h) => h,
        };
        if height <= head.height {
            return Err(Error::InvalidInput(format!(
                "height {height} is not after the head {}",
                head.height
            )));
        }
        let mut left = height - head.height - 1;
        while left > 0 {
            let n = left.min(u64::from(MAX_MINE_BLOCKS));
            dev.mine(n as u32)?;
            left -= n;
        }
        Ok(SkipView {
            height,
            time_offset_ms: dev.increase_time(0),
        })
    }
}

/// What `dev_skipTo` fast-forwards to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipTarget {
    /// The end of proposal `id`'s current period (deposit or voting).
    VotingEnd(u64),
    /// The earliest pending unbonding entry's payout.
    UnbondingEnd,
    /// This height.
    Height(u64),
}

/// Where `dev_skipTo` left the chain.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SkipView {
    /// The height of the next block (the one in which the period ends).
    #[serde(with = "crate::types::dec_u64")]
    pub height: u64,
    /// The dev chain's block time offset now (ms).
    #[serde(with = "crate::types::dec_u64")]
    pub time_offset_ms: u64,
}

/// A reference to a node that does not keep it alive (what servers hold, so dropping the last
/// handle stops the node).
pub trait WeakNode: Clone + Send + Sync + 'static {
    /// The node it refers to.
    type Node: NodeApi;
    /// The node, if it is still running.
    fn upgrade(&self) -> Option<Self::Node>;
}
