//! Read access to a chain: [`ChainReader`] serves blocks, receipts, transactions, accounts (one at a
//! time or paged in address order), proofs and the validator set — for a running node (every
//! [`crate::node::NodeHandle`] read goes through one) and for a node's data directory opened
//! read-only while that node runs ([`ChainReader::open_data_dir`], a RocksDB secondary instance;
//! `node::home::open_reader` finds the data directory of a node home).
//!
//! Owns: building the views of `views.rs` from the chain, resolving a [`BlockId`] against the
//! head, and the follower's scratch directory.
//!
//! Must never: write to the store. A reader opened on a data directory sees the writer's blocks up
//! to its last [`ChainReader::refresh`] (like `eth_getBlock` on a lagging replica), never a torn
//! block: every block is one atomic RocksDB batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::app::{self, Genesis};
use crate::modules::gov::{GovModule, ProposalStatus};
use crate::modules::staking::StakingReader;
use crate::modules::vm::{Query, VmModule, VmReader, MAX_TRACES};
use crate::runtime::Chain;
use crate::runtime::TxFailure;
use crate::state::AccountProof;
use crate::storage::RocksStore;
use crate::types::{Address, Amount, Hash, Header, Receipt, TxKind};

use super::error::{Error, Result};
use super::views::{
    AccountInfo, AccountPage, BlockId, BlockView, CodeView, CommunityPoolView, ContractView,
    DelegationsView, DelegatorPage, EstimateView, GovParamsView, ProposalPage, ProposalView,
    QueryView, RewardsView, StorageView, TraceView, TxInfo, ValidatorDetail, ValidatorReward,
    ValidatorView, VotePage,
};

/// The most accounts one [`ChainReader::accounts`] call returns.
pub const MAX_ACCOUNT_PAGE: usize = 10_000;

/// How often [`ChainReader::balances`] starts again when blocks keep coming during its reads.
const BALANCES_TRIES: usize = 16;

/// The most proposals one [`ChainReader::proposals`] call returns.
pub const MAX_PROPOSAL_PAGE: usize = 1_000;

fn page_limit(limit: usize, max: usize) -> Result<()> {
    if limit == 0 || limit > max {
        return Err(Error::InvalidInput(format!(
            "limit must be 1..={max}, got {limit}"
        )));
    }
    Ok(())
}

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
        let chain = app::open_chain(Arc::new(store), &genesis)?;
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
        Ok(BlockView::new(&block, commit, self.chain.block_events(h)?))
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

    /// The latest balance of `address` (0 when it has no account): one read of the latest state,
    /// served from memory when the account is hot (`storage.hot_accounts`); the fast path of
    /// [`ChainReader::account`], which also sums the account's delegations.
    pub fn balance(&self, address: &Address) -> Result<Amount> {
        Ok(self.chain.state().account(address)?.balance)
    }

    /// The latest balances of `addresses` (at most [`MAX_ACCOUNT_PAGE`]), in order, all after the
    /// same block: a block committed (or a revert) during the reads makes them start again.
    pub fn balances(&self, addresses: &[Address]) -> Result<Vec<Amount>> {
        if addresses.len() > MAX_ACCOUNT_PAGE {
            return Err(Error::InvalidInput(format!(
                "at most {MAX_ACCOUNT_PAGE} addresses per call, got {}",
                addresses.len()
            )));
        }
        let state = self.chain.state();
        for _ in 0..BALANCES_TRIES {
            let before = self.chain.stored_height()?;
            let out = addresses
                .iter()
                .map(|a| Ok(state.account(a)?.balance))
                .collect::<Result<Vec<_>>>()?;
            if self.chain.stored_height()? == before {
                return Ok(out);
            }
        }
        Err(Error::Timeout(format!(
            "a block was committed during each of {BALANCES_TRIES} reads of {} balances; \
             read fewer at a time",
            addresses.len()
        )))
    }

    /// Up to `limit` (at most [`MAX_ACCOUNT_PAGE`]) accounts of the latest state with addresses
    /// greater than `after`, in address order.
    pub fn accounts(&self, after: Option<&Address>, limit: usize) -> Result<AccountPage> {
        page_limit(limit, MAX_ACCOUNT_PAGE)?;
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

    /// An account's delegations (latest state), what they are worth, their pending rewards and
    /// the account's unbonding funds.
    pub fn delegations(&self, delegator: &Address) -> Result<DelegationsView> {
        let staking = StakingReader(self.chain.state());
        let delegations = staking.delegations(delegator)?;
        Ok(DelegationsView {
            delegator: *delegator,
            total_amount: delegations.iter().map(|d| d.amount).sum(),
            total_rewards: delegations.iter().map(|d| d.pending_rewards).sum(),
            delegations,
            unbonding: staking.unbonding(delegator)?,
        })
    }

    /// Up to `limit` (at most [`MAX_ACCOUNT_PAGE`]) delegations to `validator` with delegator
    /// addresses greater than `after`, in address order.
    pub fn delegators(
        &self,
        validator: &Address,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<DelegatorPage> {
        page_limit(limit, MAX_ACCOUNT_PAGE)?;
        let staking = StakingReader(self.chain.state());
        if staking.validator(validator)?.is_none() {
            return Err(Error::NotFound(format!("validator {validator}")));
        }
        let (delegations, more) = staking.delegators(validator, after, limit)?;
        let next = if more {
            delegations.last().map(|d| d.delegator)
        } else {
            None
        };
        Ok(DelegatorPage {
            validator: *validator,
            delegations,
            next,
        })
    }

    /// A delegator's pending rewards per validator (latest state).
    pub fn rewards(&self, delegator: &Address) -> Result<RewardsView> {
        let rewards: Vec<ValidatorReward> = StakingReader(self.chain.state())
            .delegations(delegator)?
            .into_iter()
            .map(|d| ValidatorReward {
                validator: d.validator,
                amount: d.pending_rewards,
            })
            .collect();
        Ok(RewardsView {
            delegator: *delegator,
            total: rewards.iter().map(|r| r.amount).sum(),
            rewards,
        })
    }

    /// The community pool, the outstanding rewards and the supply counters (latest state).
    pub fn community_pool(&self) -> Result<CommunityPoolView> {
        let staking = StakingReader(self.chain.state());
        let supply = staking.supply()?;
        Ok(CommunityPoolView {
            amount: staking.community_pool()?,
            outstanding_rewards: staking.outstanding_rewards()?,
            minted: supply.minted,
            burned: supply.burned,
        })
    }

    fn gov(&self) -> Result<&GovModule> {
        self.chain
            .registry()
            .module::<GovModule>()
            .ok_or_else(|| Error::NotFound("this chain runs no governance".into()))
    }

    /// Proposal `id` with its deposits and its tally (final, or live while voting).
    pub fn proposal(&self, id: u64) -> Result<ProposalView> {
        let gov = self.gov()?;
        self.chain.simulate(|ctx| {
            let proposal = gov
                .proposal(ctx, id)?
                .ok_or_else(|| Error::NotFound(format!("proposal {id}")))?;
            Ok(ProposalView {
                deposits: gov.deposits(ctx, id)?,
                current_tally: gov.tally_of(ctx, id)?,
                proposal,
            })
        })
    }

    /// Up to `limit` (at most [`MAX_PROPOSAL_PAGE`]) proposals with ids above `after`, of
    /// `status` if given (`deposit_period`, `voting_period`, `passed`, `rejected`, `failed`,
    /// `canceled`).
    pub fn proposals(
        &self,
        status: Option<&str>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ProposalPage> {
        let status = match status {
            None => None,
            Some(s) => Some(ProposalStatus::parse(s).ok_or_else(|| {
                let names: Vec<_> = ProposalStatus::ALL.iter().map(|s| s.name()).collect();
                Error::InvalidInput(format!(
                    "unknown proposal status {s:?} (one of {})",
                    names.join(", ")
                ))
            })?),
        };
        page_limit(limit, MAX_PROPOSAL_PAGE)?;
        let gov = self.gov()?;
        let mut proposals = self
            .chain
            .simulate(|ctx| gov.proposals(ctx, status, after.unwrap_or(0), limit + 1))?;
        let next = (proposals.len() > limit).then(|| {
            proposals.truncate(limit);
            proposals[limit - 1].id
        });
        Ok(ProposalPage { proposals, next })
    }

    /// Up to `limit` (at most [`MAX_ACCOUNT_PAGE`]) votes on proposal `id` by voters after
    /// `after`, each with its voter's bonded stake now.
    pub fn votes(&self, id: u64, after: Option<&Address>, limit: usize) -> Result<VotePage> {
        page_limit(limit, MAX_ACCOUNT_PAGE)?;
        let gov = self.gov()?;
        self.chain.simulate(|ctx| {
            if gov.proposal(ctx, id)?.is_none() {
                return Err(Error::NotFound(format!("proposal {id}")));
            }
            let mut votes = gov.votes(ctx, id, after, limit + 1)?;
            let next = (votes.len() > limit).then(|| {
                votes.truncate(limit);
                votes[limit - 1].voter
            });
            Ok(VotePage {
                proposal: id,
                votes,
                next,
            })
        })
    }

    /// Governance parameters in force and every parameter set proposals may change, with its
    /// values.
    pub fn gov_params(&self) -> Result<GovParamsView> {
        let gov = self.gov()?;
        let governed = self.chain.simulate(|ctx| gov.governed_params(ctx))?;
        Ok(GovParamsView {
            params: gov.params(self.chain.state())?,
            governed: governed
                .into_iter()
                .map(|(name, v)| (name.to_owned(), v))
                .collect(),
        })
    }

    fn vm(&self) -> Result<&VmModule> {
        self.chain
            .registry()
            .module::<VmModule>()
            .ok_or_else(|| Error::NotFound("this chain runs no contract VM".into()))
    }

    /// The host calls of contract transaction `hash`, if this node kept them.
    pub fn trace(&self, hash: &Hash) -> Result<TraceView> {
        let tx = self.transaction(hash)?;
        if tx.tx.body.kind.gas().is_none() {
            return Err(Error::InvalidInput(format!(
                "transaction {hash} is not a contract transaction: nothing to trace"
            )));
        }
        let log = self.vm()?.trace(hash).ok_or_else(|| {
            Error::NotFound(format!(
                "trace of transaction {hash}: dev nodes keep the host calls of their latest \
                 {MAX_TRACES} contract transactions"
            ))
        })?;
        Ok(TraceView {
            tx_hash: *hash,
            height: tx.height,
            status: tx.receipt.status,
            gas_used: tx.receipt.gas_used,
            error: tx.receipt.error,
            calls: log.calls.clone(),
            truncated: log.truncated,
        })
    }

    /// A contract, at the head or after block `height`.
    pub fn contract(&self, address: &Address, height: Option<u64>) -> Result<ContractView> {
        let h = height
            .map(|h| self.height_of(BlockId::Height(h)))
            .transpose()?;
        let info = VmReader(self.chain.state())
            .contract(address, h)?
            .ok_or_else(|| Error::NotFound(format!("contract {address}")))?;
        Ok(ContractView {
            address: *address,
            code_hash: info.code_hash,
            creator: info.creator,
            instantiated_at: info.instantiated_at,
            balance: self.account(address, h)?.balance,
        })
    }

    /// Stored code.
    pub fn code(&self, hash: &Hash) -> Result<CodeView> {
        let (info, wasm) = VmReader(self.chain.state())
            .code(hash)?
            .ok_or_else(|| Error::NotFound(format!("code {hash}")))?;
        Ok(CodeView {
            code_hash: *hash,
            uploader: info.uploader,
            size: info.size,
            deposit: info.deposit,
            uploaded_at: info.uploaded_at,
            wasm,
        })
    }

    /// A contract's storage slot after block `height` (default: head), with a proof if `prove`.
    pub fn storage(
        &self,
        contract: &Address,
        slot: &[u8],
        height: Option<u64>,
        prove: bool,
    ) -> Result<StorageView> {
        let h = self.height_of(height.map_or(BlockId::Latest, BlockId::Height))?;
        let p = VmReader(self.chain.state()).storage(contract, slot, h)?;
        Ok(StorageView {
            contract: *contract,
            slot: slot.to_vec(),
            value: p.value.clone(),
            height: h,
            proof: prove.then_some(p),
        })
    }

    /// A read-only call against the latest state (`height`, if given, must be the head): nothing
    /// is written. Gas is capped at the chain's `max_tx_gas` (and at `q.gas` when not 0).
    pub fn query_contract(&self, q: &Query<'_>, height: Option<u64>) -> Result<QueryView> {
        let head = self.height();
        if let Some(h) = height.filter(|h| *h != head) {
            return Err(Error::InvalidInput(format!(
                "vm_query runs against the latest state (height {head}), not height {h}"
            )));
        }
        let vm = self.vm()?;
        let chain_id = &self.chain.spec().chain_id;
        let out = self
            .chain
            .simulate(|ctx| vm.query(ctx, chain_id, q))
            .map_err(|e| match e {
                TxFailure::Rule(m) => Error::NotFound(m),
                TxFailure::State(e) => e.into(),
            })?;
        let (output, error) = match out.result {
            Ok(o) => (o, None),
            Err(e) => (vec![], Some(e.to_string())),
        };
        Ok(QueryView {
            output,
            gas_used: out.gas_used,
            events: out.events,
            error,
            logs: out.logs,
        })
    }

    /// The gas `kind` (a contract kind) sent by `sender` would use against the latest state, with
    /// its error if it would fail (the fee and the sender's balance are not checked). It runs
    /// with at most `cap` gas (default and most: the chain's `max_tx_gas`).
    pub fn estimate_gas(
        &self,
        sender: &Address,
        kind: &TxKind,
        cap: Option<u64>,
    ) -> Result<EstimateView> {
        if kind.gas().is_none() {
            return Err(Error::InvalidInput(
                "vm_estimateGas takes an upload, instantiate or call".into(),
            ));
        }
        let vm = self.vm()?;
        let chain_id = &self.chain.spec().chain_id;
        let (gas_used, error) = self
            .chain
            .simulate(|ctx| vm.estimate(ctx, chain_id, *sender, kind, cap))?;
        Ok(EstimateView { gas_used, error })
    }
}
