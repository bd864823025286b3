//! Batara: a proof-of-stake blockchain node as a library.
//!
//! [`node::Node::start`] gives a [`node::NodeHandle`], the one API that the CLI, the RPC servers and
//! every language binding wrap; [`api`] is what they all report and accept. The modules sit in
//! layers whose imports point down only (checked by `scripts/check-layers.py`); the pure bottom
//! layer is the `batara-primitives` crate, re-exported here as [`types`], [`crypto`], [`commit`]
//! and [`proof`]. See `docs/ARCHITECTURE.md` for the layers, the seams and how to add a module.

pub use batara_primitives::{commit, crypto, proof, types};

// Level 1
pub mod config;
pub mod storage;
// Level 2
pub mod state;
pub mod validator;
// Level 3
pub mod mempool;
// Level 4
pub mod runtime;
// Level 5
pub mod modules;
// Level 6
pub mod app;
pub mod consensus;
// Level 7
pub mod p2p;
// Level 8
pub mod api;
// Level 9
pub mod rpc;
// Level 10
pub mod node;
// Level 11
#[cfg(feature = "cli")]
pub mod bench;
// Level 12
#[cfg(feature = "cli")]
pub mod cli;

pub use api::{Error, ErrorKind, Result};

/// The README's Rust code blocks, compiled and run as doc tests (`cargo test --doc`), so the
/// README's Rust example cannot drift from the API. `tests/readme/` runs its other blocks.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
