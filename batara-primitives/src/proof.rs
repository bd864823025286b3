//! Accounts as the state tree stores them, and the check of an account's proof against a state
//! root — what a light client needs to trust a balance without trusting the node that served it.
//!
//! Owns: the [`Account`] value (borsh bytes are what the tree hashes), the tree key of an account
//! (`acct/<20 address bytes>`, hashed with SHA-256 into the Jellyfish Merkle tree's key space), the
//! [`AccountProof`] JSON shape, and [`verify_account_proof`].
//!
//! Must never: accept a proof for another key, value or root (the `jmt` sparse Merkle proof
//! checks all three), or change the key layout (every stored root depends on it).

use borsh::{BorshDeserialize, BorshSerialize};
use jmt::{KeyHash, RootHash};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::types::{dec_u128, dec_u64, hex_bytes, opt_hex_bytes, Address, Amount, Hash};

/// An account: balance and the nonce its next transaction must carry.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Account {
    /// Balance in the smallest unit.
    #[serde(with = "dec_u128")]
    pub balance: Amount,
    /// Number of transactions sent (the next one's nonce).
    #[serde(with = "dec_u64")]
    pub nonce: u64,
}

/// The tree key of an account.
pub fn account_key(addr: &Address) -> Vec<u8> {
    let mut k = b"acct/".to_vec();
    k.extend_from_slice(&addr.0);
    k
}

/// Where `key` sits in the tree's key space: SHA-256 of the key bytes.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Sha256>(key)
}

/// An account with a proof against a state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountProof {
    /// The account; `None` proves it does not exist.
    pub value: Option<Account>,
    /// borsh bytes of the `jmt` sparse Merkle proof.
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
    /// The root it verifies against (the header's `state_root` at `height`).
    pub state_root: Hash,
    /// Height of that state.
    #[serde(with = "dec_u64")]
    pub height: u64,
}

/// A proof that does not verify (or does not decode).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProofError(pub String);

/// A module object (a contract's storage slot, a validator record) with a proof against a
/// state root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectProof {
    /// The tree key.
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    /// The stored bytes; `None` proves the key is absent.
    #[serde(with = "opt_hex_bytes")]
    pub value: Option<Vec<u8>>,
    /// borsh bytes of the `jmt` sparse Merkle proof.
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
    /// The root it verifies against (the header's `state_root` at `height`).
    pub state_root: Hash,
    /// Height of that state.
    #[serde(with = "dec_u64")]
    pub height: u64,
}

/// Checks that `proof` shows tree key `key` holding `value` (or being absent) under `state_root`.
pub fn verify_object_proof(
    state_root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), ProofError> {
    let p: jmt::proof::SparseMerkleProof<Sha256> =
        borsh::from_slice(proof).map_err(|e| ProofError(e.to_string()))?;
    p.verify(RootHash(state_root.0), key_hash(key), value)
        .map_err(|e| ProofError(e.to_string()))
}

/// Checks that `proof` shows `address` holding `value` (or being absent) under `state_root`.
pub fn verify_account_proof(
    state_root: &Hash,
    address: &Address,
    value: Option<&Account>,
    proof: &[u8],
) -> Result<(), ProofError> {
    let bytes = value.map(|a| borsh::to_vec(a).expect("borsh into Vec"));
    verify_object_proof(state_root, &account_key(address), bytes.as_deref(), proof)
}
