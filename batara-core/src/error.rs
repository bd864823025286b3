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

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Rejected(_) => ErrorKind::Rejected,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Stopped => ErrorKind::Stopped,
            Error::Consensus(ConsensusError::NotDev(_)) => ErrorKind::NotDev,
            Error::Consensus(ConsensusError::UnknownSnapshot(_)) => ErrorKind::NotFound,
            Error::Consensus(ConsensusError::Stopped) => ErrorKind::Stopped,
            Error::Config(_) | Error::Genesis(_) | Error::Key(_) => ErrorKind::Config,
            Error::Storage(StorageError::Backend(_)) | Error::Io { .. } => ErrorKind::Io,
            Error::Chain(ChainError::GenesisMismatch { .. }) => ErrorKind::Config,
            Error::Chain(ChainError::NoBlock(_)) => ErrorKind::NotFound,
            Error::State(StateError::NoVersion(_)) => ErrorKind::NotFound,
            _ => ErrorKind::Internal,
        }
    }
}
