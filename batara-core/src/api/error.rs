//! The crate error: every domain error rolled up with `#[from]`, its [`ErrorKind`], and THE table
//! that names each kind in every surface: JSON-RPC code, Python exception, JS `code`, C result.
//!
//! Owns: [`ErrorKind`] and [`ERROR_TABLE`]. JSON-RPC (`rpc`), the Python, Node.js and C bindings,
//! and the Python and JS `Client`s (through the bindings' `error_table()` / `errorTable()`) all
//! read this table; `tests/vectors/errors.json` pins it for every language.
//!
//! Must never: renumber a code or rename an exception (scripts match on them). New kinds are only
//! ever appended.

use crate::app::genesis::GenesisError;
use crate::config::ConfigError;
use crate::consensus::ConsensusError;
use crate::mempool::Rejection;
use crate::runtime::ChainError;
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

/// How one [`ErrorKind`] appears in each surface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ErrorCode {
    /// The kind (`snake_case` name in JSON).
    pub kind: ErrorKind,
    /// JSON-RPC error code.
    pub rpc_code: i32,
    /// Python exception class (in `batara.exceptions`).
    pub python: &'static str,
    /// JS `BataraError.code`.
    pub js: &'static str,
    /// C `batara_result` value.
    pub c: u32,
}

/// JSON-RPC: transaction rejected (`data.reason` is the stable reason code).
pub const CODE_REJECTED: i32 = -32020;
/// JSON-RPC: not found.
pub const CODE_NOT_FOUND: i32 = -32021;
/// JSON-RPC: a dev control on a chain that is not a dev chain.
pub const CODE_NOT_DEV: i32 = -32022;
/// JSON-RPC: timed out.
pub const CODE_TIMEOUT: i32 = -32023;
/// JSON-RPC: node stopped.
pub const CODE_STOPPED: i32 = -32024;
/// JSON-RPC: bad params (the standard code; invalid input).
pub const CODE_INVALID_PARAMS: i32 = -32602;
/// JSON-RPC: internal error (the standard code).
pub const CODE_INTERNAL: i32 = -32603;

const fn code(
    kind: ErrorKind,
    rpc_code: i32,
    python: &'static str,
    js: &'static str,
    c: u32,
) -> ErrorCode {
    ErrorCode {
        kind,
        rpc_code,
        python,
        js,
        c,
    }
}

/// Every kind, in declaration order, with its name in each surface.
pub const ERROR_TABLE: [ErrorCode; 9] = [
    code(
        ErrorKind::Rejected,
        CODE_REJECTED,
        "TxRejected",
        "TX_REJECTED",
        3,
    ),
    code(
        ErrorKind::NotFound,
        CODE_NOT_FOUND,
        "NotFound",
        "NOT_FOUND",
        4,
    ),
    code(
        ErrorKind::InvalidInput,
        CODE_INVALID_PARAMS,
        "InvalidInput",
        "INVALID_INPUT",
        2,
    ),
    code(ErrorKind::Timeout, CODE_TIMEOUT, "Timeout", "TIMEOUT", 5),
    code(
        ErrorKind::Stopped,
        CODE_STOPPED,
        "NodeStopped",
        "NODE_STOPPED",
        6,
    ),
    code(
        ErrorKind::NotDev,
        CODE_NOT_DEV,
        "NotDevChain",
        "NOT_DEV_CHAIN",
        7,
    ),
    code(ErrorKind::Config, CODE_INTERNAL, "ConfigError", "CONFIG", 8),
    code(ErrorKind::Io, CODE_INTERNAL, "StorageError", "IO", 9),
    code(
        ErrorKind::Internal,
        CODE_INTERNAL,
        "BataraError",
        "INTERNAL",
        12,
    ),
];

impl ErrorKind {
    /// This kind's row of [`ERROR_TABLE`].
    pub fn code(self) -> &'static ErrorCode {
        ERROR_TABLE
            .iter()
            .find(|c| c.kind == self)
            .expect("every kind has a row")
    }

    /// The JSON-RPC error code.
    pub fn rpc_code(self) -> i32 {
        self.code().rpc_code
    }

    /// The kind's name (`snake_case`, as in `tests/vectors/errors.json`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Rejected => "rejected",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Stopped => "stopped",
            ErrorKind::NotDev => "not_dev",
            ErrorKind::Config => "config",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

fn storage_kind(e: &StorageError) -> ErrorKind {
    match e {
        StorageError::Backend(_) => ErrorKind::Io,
        StorageError::Unsupported(_) => ErrorKind::InvalidInput,
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
        ChainError::UpgradeNeeded { .. } => ErrorKind::Stopped,
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
    fn every_kind_has_one_row() {
        for (i, row) in ERROR_TABLE.iter().enumerate() {
            assert_eq!(row.kind.code(), row);
            assert!(ERROR_TABLE[i + 1..]
                .iter()
                .all(|o| o.kind != row.kind && o.c != row.c));
        }
    }

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
