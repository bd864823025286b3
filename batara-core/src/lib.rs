//! Batara: a proof-of-stake blockchain node as a library.
//!
//! [`node::Node::start`] gives a [`node::NodeHandle`], the one API that the CLI, the RPC servers and
//! every language binding wrap. See `ARCHITECTURE.md` in the repository for the layout and seams.

#[cfg(feature = "cli")]
pub mod bench;
pub mod chain;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod consensus;
pub mod crypto;
pub mod error;
pub mod genesis;
pub mod mempool;
pub mod node;
pub mod p2p;
pub mod reader;
pub mod rpc;
pub mod staking;
pub mod state;
pub mod storage;
pub mod types;
pub mod validator;

pub use error::{Error, ErrorKind, Result};
