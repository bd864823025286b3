//! The modules of the runtime: each owns its transaction kinds' semantics, its parameters (its
//! fragment of the genesis), its state key prefix, its queries and its stateless checks.
//!
//! Must never: import another module's internals or anything above the runtime; a module talks
//! to the chain only through `runtime::TxContext` and the hooks of `runtime::Module`.

pub mod bank;
pub mod staking;
pub mod vm;
