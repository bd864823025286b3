//! The registry: which modules the runtime runs, in order, and who provides validator sets.
//!
//! Owns: dispatch of a transaction kind to its module, the mempool's [`TxRules`] (cost and
//! stateless checks asked of the module), and the order of block hooks (the order modules were
//! registered in, which is part of consensus: every node must register the same list — `app` is
//! the one place that does).
//!
//! Must never: name a module. The list comes from above (`app::registry`).

use std::sync::Arc;

use crate::mempool::TxRules;
use crate::types::{Amount, SignedTransaction, TxKind};

use super::module::{Module, ValidatorSets};

/// The modules of a chain and its source of validator sets.
#[derive(Clone)]
pub struct Registry {
    modules: Vec<Arc<dyn Module>>,
    validators: Arc<dyn ValidatorSets>,
}

impl Registry {
    /// A registry of `modules` (block hooks run in this order) with validator sets from
    /// `validators`.
    pub fn new(modules: Vec<Arc<dyn Module>>, validators: Arc<dyn ValidatorSets>) -> Self {
        Self {
            modules,
            validators,
        }
    }

    /// The module that handles `kind`.
    pub fn module_for(&self, kind: &TxKind) -> Option<&dyn Module> {
        self.modules
            .iter()
            .find(|m| m.handles(kind))
            .map(|m| m.as_ref())
    }

    /// Every module, in hook order.
    pub fn modules(&self) -> impl Iterator<Item = &dyn Module> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The source of validator sets.
    pub fn validator_sets(&self) -> &dyn ValidatorSets {
        self.validators.as_ref()
    }
}

impl TxRules for Registry {
    fn max_cost(&self, tx: &SignedTransaction) -> Option<Amount> {
        let m = self.module_for(&tx.body.kind)?;
        m.spend(&tx.body.kind).checked_add(tx.body.fee)
    }

    fn check(&self, tx: &SignedTransaction) -> Result<(), String> {
        match self.module_for(&tx.body.kind) {
            Some(m) => m.check(tx),
            None => Err("no module handles this transaction kind".into()),
        }
    }
}
