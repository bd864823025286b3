//! The runtime: the [`Module`] trait and the [`Registry`] of modules, the block executor, receipts,
//! and the committed [`Chain`].
//!
//! Owns: dispatching each transaction to the module that handles its kind (fee and nonce are
//! handled here, once, for every kind), block hooks, the genesis state assembled from each
//! module's `init_genesis`, and committing blocks. Files: `module.rs` (what a module sees and
//! implements, and the [`ValidatorSets`] seam), `registry.rs`, `execute.rs` (building and checking
//! blocks), `chain.rs` (open, commit, revert, reads), `params.rs` (parameters in state, the
//! chain's rules, the upgrade plan), `error.rs`.
//!
//! Must never: name a module (bank, staking, … live in `modules/`, and `app` registers them), or
//! let a block's effects reach storage other than through its one write batch. See
//! `docs/ARCHITECTURE.md` ("Layers", "How to add a module").

mod chain;
mod error;
mod execute;
mod module;
pub mod params;
mod registry;

pub use chain::{Chain, ChainSpec, CommittedBlock, Executed, Head, TxLookup};
pub use error::ChainError;
pub use module::{
    prefix_end, BlockInfo, BondedValidator, Module, Savepoint, Stake, TxContext, TxFailure,
    ValidatorSets,
};
pub use params::{ChainRules, Governed, UpgradePlan};
pub use registry::Registry;
