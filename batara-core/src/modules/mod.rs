//! The modules of the runtime: each owns its transaction kinds' semantics, its parameters (its
//! fragment of the genesis), its state key prefix, its queries and its stateless checks.
//!
//! Must never: import another module's internals or anything above the runtime; a module talks
//! to the chain only through `runtime::TxContext`, the hooks of `runtime::Module` and the seams
//! of `runtime` (`ValidatorSets`, `Governed`, `Stake`). `math` is shared arithmetic, not a module.

pub mod bank;
pub mod gov;
pub mod math;
pub mod staking;
pub mod vm;
