//! Blocks, headers, commits and receipts.
//!
//! Header hash (= block hash): SHA-256 of the borsh bytes of the [`Header`]. The header commits to
//! the transactions (RFC 6962 Merkle root of their hashes), the state root after the block, the hash
//! of the validator set that validates it, the hash of the previous block's commit, and the Merkle
//! root of the hashes of the double-signing evidence it carries.
//! Commit signatures cover `COMMIT_DOMAIN ‖ borsh(chain_id, height, round, block_hash)`.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{dec_u128, dec_u64, Address, Amount, Hash, PublicKey, Signature, SignedTransaction};
use crate::crypto;

/// Domain tag of commit (precommit) signatures.
pub const COMMIT_DOMAIN: &[u8] = b"batara/commit/v1";

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Header {
    /// Chain id.
    pub chain_id: String,
    /// Height; the genesis header is height 0.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch; strictly increasing.
    #[serde(with = "dec_u64")]
    pub time: u64,
    /// Hash of the previous header (zero for genesis).
    pub parent: Hash,
    /// Address of the validator that proposed the block (receives its fees).
    pub proposer: Address,
    /// Merkle root of the transaction hashes.
    pub txs_root: Hash,
    /// State root after executing this block.
    pub state_root: Hash,
    /// Hash of the validator set.
    pub validator_set_hash: Hash,
    /// Hash of the previous block's commit (zero when there is none).
    pub last_commit_hash: Hash,
    /// Merkle root of the hashes of the evidence the block carries.
    pub evidence_root: Hash,
}

impl Header {
    /// The header (and block) hash.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&borsh::to_vec(self).expect("borsh into Vec"))
    }
}

/// One validator's signature in a commit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitSig {
    /// The validator's address.
    pub validator: Address,
    /// Its signature of the commit message.
    pub signature: Signature,
}

/// The signatures that finalized a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Commit {
    /// Height of the committed block.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Consensus round in which it was committed.
    pub round: u32,
    /// Hash of the committed block.
    pub block_hash: Hash,
    /// Signatures of validators holding more than 2/3 of the voting power.
    pub signatures: Vec<CommitSig>,
}

impl Commit {
    /// The message each validator signs for a commit.
    pub fn sign_message(chain_id: &str, height: u64, round: u32, block_hash: &Hash) -> Vec<u8> {
        let mut m = COMMIT_DOMAIN.to_vec();
        borsh::to_writer(&mut m, &(chain_id, height, round, block_hash)).expect("borsh into Vec");
        m
    }

    /// The commit hash carried in the next header.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&borsh::to_vec(self).expect("borsh into Vec"))
    }
}

/// The most voting power a validator set may have in total (CometBFT's `MaxTotalVotingPower`):
/// the proposer schedule's priorities stay far from overflow below it.
pub const MAX_TOTAL_VOTING_POWER: i64 = i64::MAX / 8;

/// A member of the validator set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// Address (derived from the key).
    pub address: Address,
    /// Consensus public key.
    pub pubkey: PublicKey,
    /// Voting power.
    #[serde(with = "dec_u64")]
    pub power: u64,
}

impl ValidatorInfo {
    /// Hash of a validator set, in the order given.
    pub fn set_hash(set: &[ValidatorInfo]) -> Hash {
        crypto::sha256(&borsh::to_vec(set).expect("borsh into Vec"))
    }
}

/// A block: header, transactions, and the commit of the previous block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Transactions, in execution order.
    pub txs: Vec<SignedTransaction>,
    /// The commit that finalized the parent block (none for heights 0 and 1).
    pub last_commit: Option<Commit>,
    /// Evidence of double signing, slashed when the block executes.
    pub evidence: Vec<super::DuplicateVoteEvidence>,
}

impl Block {
    /// The block hash (its header's hash).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Checks that the body is the one the header commits to: transactions root, evidence root
    /// and last-commit hash. (A block is named by its header hash, so a swapped body must never
    /// pass under a good header.)
    pub fn check_body(&self) -> Result<(), String> {
        let txs: Vec<Hash> = self.txs.iter().map(|t| t.hash()).collect();
        if crypto::merkle_root(&txs) != self.header.txs_root {
            return Err("transactions do not match the header's root".into());
        }
        let ev: Vec<Hash> = self.evidence.iter().map(|e| e.hash()).collect();
        if crypto::merkle_root(&ev) != self.header.evidence_root {
            return Err("evidence does not match the header's root".into());
        }
        if self.last_commit.as_ref().map_or(Hash::ZERO, |c| c.hash())
            != self.header.last_commit_hash
        {
            return Err("last commit does not match the header".into());
        }
        Ok(())
    }
}

/// Outcome of a transaction in a block.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Applied.
    Success,
    /// Not applied; the fee was still paid and the nonce consumed.
    Failed,
}

/// Something a transaction did, for indexers and clients.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Event {
    /// Event name, e.g. `transfer`.
    pub kind: String,
    /// Key/value attributes.
    pub attributes: Vec<(String, String)>,
}

/// The result of executing one transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    /// Hash of the transaction.
    pub tx_hash: Hash,
    /// Success or failure.
    pub status: TxStatus,
    /// Fee paid.
    #[serde(with = "dec_u128")]
    pub fee: Amount,
    /// Gas used (0 for kinds without metering).
    #[serde(with = "dec_u64")]
    pub gas_used: u64,
    /// Events emitted (none when failed).
    pub events: Vec<Event>,
    /// Why it failed.
    pub error: Option<String>,
    /// What it returned (a contract call's return data; empty for other kinds).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "super::hex_bytes"
    )]
    pub output: Vec<u8>,
}
