//! The read-side views every surface reports — JSON-RPC, the bindings, `batara.analysis` — so a
//! block, a transaction, an account or a validator has one shape everywhere.
//!
//! Must never: carry anything that is not in the chain (views are built from stored data only).

use serde::{Deserialize, Serialize};

use crate::modules::gov::tally::Tally;
use crate::modules::gov::{DepositView, GovParams, Proposal, VoteView};
use crate::modules::staking::{DelegationView, Unbonding, Validator};
use crate::runtime::{CommittedBlock, TxLookup};
use crate::state::ObjectProof;
use crate::types::{
    dec_u128, dec_u64, hex_bytes, opt_hex_bytes, Address, Amount, Block, Commit,
    DuplicateVoteEvidence, Event, Hash, Header, PublicKey, Receipt, SignedTransaction,
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
    /// What its delegations are worth (its own validators' self-stake included).
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

/// An account's delegations (`staking_getDelegations`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DelegationsView {
    /// The delegator.
    pub delegator: Address,
    /// Its delegations, in the order they were made.
    pub delegations: Vec<DelegationView>,
    /// What they are worth in all.
    #[serde(with = "dec_u128")]
    pub total_amount: Amount,
    /// Their pending rewards in all.
    #[serde(with = "dec_u128")]
    pub total_rewards: Amount,
    /// Its funds still unbonding.
    pub unbonding: Vec<Unbonding>,
}

/// A proposal with its deposits and its tally (final, or as it stands while the vote runs)
/// (`gov_getProposal`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProposalView {
    /// The proposal.
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Its deposits, by depositor.
    pub deposits: Vec<DepositView>,
    /// The final tally once voted; the live one in the voting period; none before.
    pub current_tally: Option<Tally>,
}

/// A page of proposals (`gov_listProposals`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProposalPage {
    /// Proposals by id.
    pub proposals: Vec<Proposal>,
    /// Pass as `after` for the next page; `None` when this was the last.
    #[serde(with = "crate::types::opt_dec_u64")]
    pub next: Option<u64>,
}

/// A page of a proposal's votes (`gov_getVotes`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct VotePage {
    /// The proposal.
    #[serde(with = "dec_u64")]
    pub proposal: u64,
    /// Votes by voter address.
    pub votes: Vec<VoteView>,
    /// Pass as `after` for the next page; `None` when this was the last.
    pub next: Option<Address>,
}

/// Governance parameters in force and what proposals may change (`gov_getParams`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GovParamsView {
    /// Deposit, voting and tally parameters.
    #[serde(flatten)]
    pub params: GovParams,
    /// Every parameter set a proposal may change (`chain`, `staking`, `vm`, `gov`), with its values in
    /// force.
    pub governed: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A page of a validator's delegators (`staking_getDelegators`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DelegatorPage {
    /// The validator.
    pub validator: Address,
    /// Delegations to it, by delegator address.
    pub delegations: Vec<DelegationView>,
    /// Pass as `after` for the next page; `None` when this was the last.
    pub next: Option<Address>,
}

/// A delegator's pending rewards (`distribution_getRewards`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RewardsView {
    /// The delegator.
    pub delegator: Address,
    /// Pending rewards per validator.
    pub rewards: Vec<ValidatorReward>,
    /// Their sum.
    #[serde(with = "dec_u128")]
    pub total: Amount,
}

/// Pending rewards from one validator.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ValidatorReward {
    /// The validator.
    pub validator: Address,
    /// The amount.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
}

/// The community pool and the chain's supply counters (`distribution_getCommunityPool`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommunityPoolView {
    /// The pool's balance.
    #[serde(with = "dec_u128")]
    pub amount: Amount,
    /// Rewards credited to delegators and not yet withdrawn.
    #[serde(with = "dec_u128")]
    pub outstanding_rewards: Amount,
    /// Block rewards minted since genesis.
    #[serde(with = "dec_u128")]
    pub minted: Amount,
    /// Stake burned by slashing since genesis.
    #[serde(with = "dec_u128")]
    pub burned: Amount,
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
    /// Evidence of double signing the block carries (its offenders were slashed when it
    /// executed).
    pub evidence: Vec<DuplicateVoteEvidence>,
    /// Events of the block itself, not of a transaction (its hooks: a proposal's vote ending,
    /// a deposit period running out). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

impl BlockView {
    /// A block with the commit that finalized it and its block events.
    pub fn new(block: &Block, commit: Option<Commit>, events: Vec<Event>) -> Self {
        Self {
            events,
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
            evidence: block.evidence.clone(),
        }
    }

    /// From a committed block.
    pub fn from_committed(cb: &CommittedBlock) -> Self {
        Self::new(&cb.block, Some(cb.commit.clone()), cb.events.to_vec())
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

/// A backup written by [`NodeApi::backup`](super::NodeApi::backup): a node home without keys
/// (`data/db`, a RocksDB checkpoint; `genesis.json`; `config.toml`; and this view as
/// `backup.json`), which [`ChainReader`](super::ChainReader) and `batara.analysis` open as they
/// are, and whose `data/` restores a node.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupView {
    /// The directory written.
    pub dir: String,
    /// Chain id.
    pub chain_id: String,
    /// The height the backup holds (its head).
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// That block's hash.
    pub hash: Hash,
    /// That block's state root (what a restore must reproduce).
    pub state_root: Hash,
    /// Bytes of the database files (hard links count in full).
    #[serde(with = "dec_u64")]
    pub bytes: u64,
    /// When it was taken, Unix ms.
    #[serde(with = "dec_u64")]
    pub created_ms: u64,
}

/// What `node_info` reports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// Chain id.
    pub chain_id: String,
    /// Software version.
    pub version: String,
    /// Head height.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Head hash.
    pub latest_hash: Hash,
    /// Genesis header hash.
    pub genesis_hash: Hash,
    /// Connected peers.
    pub peers: u32,
    /// This node's peer id on the network (none without p2p).
    pub peer_id: Option<String>,
    /// Where it listens for peers (`/ip4/…/tcp/…/p2p/<peer id>`: usable as bootnodes).
    pub listen_addrs: Vec<String>,
    /// Whether this node signs blocks.
    pub is_validator: bool,
    /// Whether it is catching up.
    pub syncing: bool,
    /// Consensus engine name.
    pub engine: String,
    /// Pending transactions.
    pub mempool_txs: usize,
    /// The least fee this node's mempool accepts (the chain's `min_fee` in force, or the node's
    /// higher `mempool.min_fee`): the default fee of the SDKs and the CLI.
    #[serde(with = "dec_u128")]
    pub min_fee: Amount,
    /// The least gas price of a contract transaction (the chain's `params.min_gas_price`): the
    /// default gas price of the SDKs and the CLI.
    #[serde(with = "dec_u128")]
    pub min_gas_price: Amount,
}

/// A contract (`vm_getContract`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContractView {
    /// Its address.
    pub address: Address,
    /// Hash of its code.
    pub code_hash: Hash,
    /// Who instantiated it.
    pub creator: Address,
    /// Height of the instantiation.
    #[serde(with = "dec_u64")]
    pub instantiated_at: u64,
    /// Its balance.
    #[serde(with = "dec_u128")]
    pub balance: Amount,
}

/// Stored code (`vm_getCode`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeView {
    /// SHA-256 of the module.
    pub code_hash: Hash,
    /// Uploader.
    pub uploader: Address,
    /// Bytes.
    pub size: u32,
    /// Deposit paid for it.
    #[serde(with = "dec_u128")]
    pub deposit: Amount,
    /// Height of the upload.
    #[serde(with = "dec_u64")]
    pub uploaded_at: u64,
    /// The WebAssembly module.
    #[serde(with = "hex_bytes")]
    pub wasm: Vec<u8>,
}

/// A contract's storage slot (`vm_getStorage`), with a proof on request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StorageView {
    /// The contract.
    pub contract: Address,
    /// The slot (the contract's own key).
    #[serde(with = "hex_bytes")]
    pub slot: Vec<u8>,
    /// The value; `None` when the slot is empty.
    #[serde(with = "opt_hex_bytes")]
    pub value: Option<Vec<u8>>,
    /// Height of the state read.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Proof of the value (or of its absence) against the state root at `height`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<ObjectProof>,
}

/// A read-only call's result (`vm_query`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueryView {
    /// What the method returned (empty when it failed).
    #[serde(with = "hex_bytes")]
    pub output: Vec<u8>,
    /// Gas it used.
    #[serde(with = "dec_u64")]
    pub gas_used: u64,
    /// Events it would emit.
    pub events: Vec<Event>,
    /// Why it failed.
    pub error: Option<String>,
    /// `debug_log` lines (dev chains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

/// A gas estimate (`vm_estimateGas`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EstimateView {
    /// Gas the transaction would use against the latest state.
    #[serde(with = "dec_u64")]
    pub gas_used: u64,
    /// Why it would fail.
    pub error: Option<String>,
}

/// The host calls of an executed contract transaction (`vm_traceTransaction`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TraceView {
    /// The transaction.
    pub tx_hash: Hash,
    /// Height of its block.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Its outcome, as in the receipt.
    pub status: crate::types::TxStatus,
    /// Gas it used.
    #[serde(with = "dec_u64")]
    pub gas_used: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Every host call, in the order they started (a sub-call's calls follow its `call`).
    pub calls: Vec<crate::modules::vm::HostCall>,
    /// The execution made more than `MAX_TRACE_CALLS` (100,000) host calls; the rest are
    /// not recorded.
    pub truncated: bool,
}

/// Which events a subscriber wants (`chain_subscribeEvents`): every field given must match, and
/// no field matches every event. `kind` is the event's kind (`transfer`, `call`, `contract`, …);
/// `contract` the contract that emitted it or was called (its `contract` attribute); `address`
/// any attribute naming the account (a sender, a recipient, a validator, a contract).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// The event's kind.
    pub kind: Option<String>,
    /// The contract it concerns.
    pub contract: Option<Address>,
    /// An account any of its attributes names.
    pub address: Option<Address>,
}

/// An [`EventFilter`] with its addresses spelled as events spell them.
#[derive(Clone, Debug)]
pub struct EventMatcher {
    kind: Option<String>,
    contract: Option<String>,
    address: Option<String>,
}

impl EventFilter {
    /// The matcher of this filter.
    pub fn matcher(&self) -> EventMatcher {
        EventMatcher {
            kind: self.kind.clone(),
            contract: self.contract.map(|a| a.to_string()),
            address: self.address.map(|a| a.to_string()),
        }
    }
}

impl EventMatcher {
    /// True when `e` passes the filter.
    pub fn matches(&self, e: &Event) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == e.kind)
            && self
                .contract
                .as_ref()
                .is_none_or(|c| e.attributes.iter().any(|(k, v)| k == "contract" && v == c))
            && self
                .address
                .as_ref()
                .is_none_or(|a| e.attributes.iter().any(|(_, v)| v == a))
    }

    /// The events of `cb` that pass, in block order.
    pub fn events<'a>(&self, cb: &'a CommittedBlock) -> Vec<EventView<'a>> {
        let mut out = vec![];
        for (tx_index, r) in cb.receipts.iter().enumerate() {
            for (event_index, e) in r.events.iter().enumerate() {
                if self.matches(e) {
                    out.push(EventView {
                        height: cb.block.header.height,
                        block_hash: cb.hash,
                        tx_hash: r.tx_hash,
                        tx_index: tx_index as u32,
                        event_index: event_index as u32,
                        event: e,
                    });
                }
            }
        }
        out
    }
}

/// One event of a committed block, where it came from (a `chain_subscribeEvents` notification).
#[derive(Clone, Debug, Serialize)]
pub struct EventView<'a> {
    /// Height of the block.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Hash of the block.
    pub block_hash: Hash,
    /// The transaction that emitted it.
    pub tx_hash: Hash,
    /// Its position in the block.
    pub tx_index: u32,
    /// The event's position in the transaction's receipt.
    pub event_index: u32,
    /// The event.
    pub event: &'a Event,
}
