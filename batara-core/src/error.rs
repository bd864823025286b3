//! The crate error: every domain error rolled up with `#[from]`, plus the [`ErrorKind`] the
//! bindings and JSON-RPC map to their own error types and codes.

use crate::chain::ChainError;
use crate::config::ConfigError;
use crate::consensus::ConsensusError;
use crate::genesis::GenesisError;
use crate::mempool::Rejection;
use crate::state::StateError;
use crate::storage::StorageError;
use crate::validator::KeyError;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error of the node.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A transaction was refused (the reason says which check failed).
    #[error("transaction rejected: {0}")]
    Rejected(#[from] Rejection),
    /// The requested item does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// An argument is malformed or out of range.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Waiting took longer than allowed.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The node has been stopped.
    #[error("node stopped")]
    Stopped,
    /// Chain error.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Storage error.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// State error.
    #[error(transparent)]
    State(#[from] StateError),
    /// Consensus error (including dev controls on a non-dev chain).
    #[error(transparent)]
    Consensus(#[from] ConsensusError),
    /// Configuration error.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Genesis error.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// Key file error.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The network could not start.
    #[error(transparent)]
    Network(#[from] crate::p2p::P2pError),
    /// I/O error (e.g. an RPC address that cannot be bound).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Broad classes of [`Error`], stable across versions, for the bindings and RPC codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A rejected transaction.
    Rejected,
    /// Not found.
    NotFound,
    /// Invalid input.
    InvalidInput,
    /// Timed out.
    Timeout,
    /// Node stopped.
    Stopped,
    /// A dev control on a non-dev chain.
    NotDev,
    /// Configuration, genesis or key file problem.
    Config,
    /// Disk, database or network I/O.
    Io,
    /// Anything else (a bug or corrupt data).
    Internal,
}

fn storage_kind(e: &StorageError) -> ErrorKind {
    match e {
        StorageError::Backend(_) => ErrorKind::Io,
        StorageError::Corrupt { .. } => ErrorKind::Internal,
    }
}

fn state_kind(e: &StateError) -> ErrorKind {
    match e {
        StateError::Storage(s) => storage_kind(s),
        StateError::NoVersion(_) => ErrorKind::NotFound,
        StateError::InvalidProof(_) => ErrorKind::InvalidInput,
        StateError::Tree(_) => ErrorKind::Internal,
    }
}

fn chain_kind(e: &ChainError) -> ErrorKind {
    match e {
        ChainError::Storage(s) => storage_kind(s),
        ChainError::State(s) => state_kind(s),
        ChainError::InvalidBlock { .. } => ErrorKind::InvalidInput,
        ChainError::GenesisMismatch { .. } => ErrorKind::Config,
        ChainError::NoBlock(_) => ErrorKind::NotFound,
        ChainError::Corrupt(_) => ErrorKind::Internal,
    }
}

impl Error {
    /// The class of this error (looking through wrapped domain errors).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Rejected(_) => ErrorKind::Rejected,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Stopped => ErrorKind::Stopped,
            Error::Consensus(c) => match c {
                ConsensusError::NotDev(_) => ErrorKind::NotDev,
                ConsensusError::UnknownSnapshot(_) => ErrorKind::NotFound,
                ConsensusError::Stopped => ErrorKind::Stopped,
                ConsensusError::Chain(e) => chain_kind(e),
            },
            Error::Config(_) | Error::Genesis(_) | Error::Key(_) => ErrorKind::Config,
            Error::Io { .. } | Error::Network(_) => ErrorKind::Io,
            Error::Storage(e) => storage_kind(e),
            Error::State(e) => state_kind(e),
            Error::Chain(e) => chain_kind(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_look_through_wrapped_errors() {
        let io = || StorageError::Backend("disk".into());
        assert_eq!(
            Error::State(StateError::Storage(io())).kind(),
            ErrorKind::Io
        );
        assert_eq!(
            Error::Chain(ChainError::Storage(io())).kind(),
            ErrorKind::Io
        );
        assert_eq!(
            Error::Consensus(ConsensusError::Chain(ChainError::NoBlock(3))).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            Error::Chain(ChainError::State(StateError::NoVersion(1))).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            Error::Consensus(ConsensusError::Stopped).kind(),
            ErrorKind::Stopped
        );
    }
}
