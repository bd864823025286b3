//! The application: which modules a Batara chain runs, and the genesis document they are
//! configured from.
//!
//! Owns: [`registry`] — the one list of modules (a new module is one line there) — and
//! [`open_chain`], which opens a chain with it. The order of the list is consensus: block hooks
//! run in it.
//!
//! Must never: hold module logic (that lives in `modules/`), or build a registry anywhere else.

pub mod genesis;

use std::sync::Arc;

pub use genesis::Genesis;

use crate::modules::bank::BankModule;
use crate::modules::gov::GovModule;
use crate::modules::staking::StakingModule;
use crate::modules::vm::VmModule;
use crate::runtime::params::GovernedChainRules;
use crate::runtime::{Chain, ChainError, Registry};
use crate::storage::Storage;

/// The modules of a chain with `genesis`, in hook order, and staking as the source of validator
/// sets. Governance is last (its end of a vote sees the block's staking changes) and may change
/// the chain's rules, staking's and the VM's parameters, and its own.
pub fn registry(genesis: &Genesis) -> Registry {
    let staking = Arc::new(StakingModule::new(
        genesis.params.staking.clone(),
        genesis.validators.clone(),
    ));
    let vm = Arc::new(VmModule::new(
        genesis.params.vm.clone(),
        genesis.params.min_gas_price,
        genesis.dev,
    ));
    let gov = Arc::new(GovModule::new(
        genesis.params.gov.clone(),
        staking.clone(),
        vec![
            Arc::new(GovernedChainRules(genesis.params.rules())),
            staking.clone(),
            vm.clone(),
        ],
    ));
    Registry::new(
        vec![
            Arc::new(BankModule::new(genesis.accounts.clone())),
            staking.clone(),
            vm,
            gov,
        ],
        staking,
    )
}

/// Opens (or creates) the chain of `genesis` in `store`.
pub fn open_chain(store: Arc<dyn Storage>, genesis: &Genesis) -> Result<Chain, ChainError> {
    Chain::open(store, genesis.spec(), registry(genesis))
}
