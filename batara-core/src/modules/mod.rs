//! The modules of the runtime: each owns its transaction kinds' semantics, its parameters (its
//! fragment of the genesis), its state key prefix, its queries and its stateless checks.
//!
//! Must never: import another module's internals or anything above the runtime; a module talks
//! to the chain only through `runtime::TxContext`, the hooks of `runtime::Module` and the seams
//! of `runtime` (`ValidatorSets`, `Governed`, `Stake`). `math` (shared arithmetic) and
//! `store` (key and record helpers) are not modules.

pub mod bank;
pub mod gov;
pub mod math;
pub mod staking;
pub mod store;
pub mod vm;
