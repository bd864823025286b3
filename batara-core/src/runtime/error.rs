//! Errors of the runtime: a block that breaks a rule, storage and state failures underneath, and
//! a data directory that does not belong to the chain being opened.

use crate::state::StateError;
use crate::storage::StorageError;
use crate::types::Hash;

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
    /// A software upgrade was scheduled for this height: this binary stops before it.
    #[error(
        "UPGRADE \"{name}\" NEEDED at height {height}: stop this node and run the binary of the \
         upgrade ({info}); this binary will not execute block {height} or any later one"
    )]
    UpgradeNeeded {
        /// The upgrade's name.
        name: String,
        /// Its height.
        height: u64,
        /// What the proposal says to run.
        info: String,
    },
    /// Requested height is not stored.
    #[error("no block at height {0}")]
    NoBlock(u64),
}
