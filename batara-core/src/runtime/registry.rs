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

    /// The module of type `M`, if the registry has one.
    pub fn module<M: 'static>(&self) -> Option<&M> {
        self.modules
            .iter()
            .find_map(|m| m.as_any().downcast_ref::<M>())
    }

    /// The modules in hook order.
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
        let (gas_limit, gas_price) = tx.body.kind.gas().unwrap_or((0, 0));
        m.spend(&tx.body.kind)
            .checked_add(tx.body.fee)?
            .checked_add((gas_limit as u128).checked_mul(gas_price)?)
    }

    fn check(&self, tx: &SignedTransaction) -> Result<(), String> {
        match self.module_for(&tx.body.kind) {
            Some(m) => m.check(tx),
            None => Err("no module handles this transaction kind".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{StateError, StateManager};
    use crate::types::{Address, DuplicateVoteEvidence, TxBody, ValidatorInfo};

    use super::super::module::{TxContext, TxFailure};

    /// A module for one kind that spends a fixed amount and refuses fee 7 statelessly.
    struct Fixed(&'static str, Amount);

    impl Module for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn handles(&self, kind: &TxKind) -> bool {
            matches!(kind, TxKind::Unjail { .. })
        }
        fn spend(&self, _kind: &TxKind) -> Amount {
            self.1
        }
        fn check(&self, tx: &SignedTransaction) -> Result<(), String> {
            if tx.body.fee == 7 {
                return Err(format!("{} refuses fee 7", self.0));
            }
            Ok(())
        }
        fn apply(&self, _: &mut TxContext<'_, '_>, _: &SignedTransaction) -> Result<(), TxFailure> {
            Ok(())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// No validator sets: this test never executes a block.
    struct NoSets;

    impl ValidatorSets for NoSets {
        fn genesis_set(&self) -> Vec<ValidatorInfo> {
            vec![]
        }
        fn set_for(
            &self,
            _: &StateManager,
            _: u64,
        ) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
            Ok(None)
        }
        fn next_set(&self, _: &StateManager) -> Result<Vec<ValidatorInfo>, StateError> {
            Ok(vec![])
        }
        fn evidence_seen(
            &self,
            _: &StateManager,
            _: &crate::types::Hash,
        ) -> Result<bool, StateError> {
            Ok(false)
        }
        fn evidence_problem(
            &self,
            _: &StateManager,
            _: &str,
            _: u64,
            _: &DuplicateVoteEvidence,
        ) -> Option<String> {
            None
        }
    }

    fn tx(kind: TxKind, fee: Amount) -> SignedTransaction {
        let k = crate::crypto::Keypair::from_seed(&[3; 32]);
        TxBody {
            chain_id: "c".into(),
            signer: k.public_key(),
            nonce: 0,
            fee,
            kind,
        }
        .sign(&k)
    }

    #[test]
    fn the_first_module_that_handles_a_kind_answers_for_it() {
        let r = Registry::new(
            vec![Arc::new(Fixed("a", 5)), Arc::new(Fixed("b", 9))],
            Arc::new(NoSets),
        );
        let unjail = TxKind::Unjail {
            validator: Address([1; 20]),
        };
        assert_eq!(r.module_for(&unjail).map(|m| m.name()), Some("a"));
        assert_eq!(
            r.modules().map(|m| m.name()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(r.max_cost(&tx(unjail.clone(), 2)), Some(7));
        assert_eq!(r.max_cost(&tx(unjail.clone(), u128::MAX)), None);
        assert_eq!(
            r.check(&tx(unjail.clone(), 7)),
            Err("a refuses fee 7".into())
        );
        assert_eq!(r.check(&tx(unjail, 1)), Ok(()));
        // A kind no module handles has no cost and fails the stateless check.
        let transfer = TxKind::Transfer {
            to: Address([2; 20]),
            amount: 1,
        };
        assert_eq!(r.max_cost(&tx(transfer.clone(), 0)), None);
        assert!(r.check(&tx(transfer, 0)).unwrap_err().contains("no module"));
    }
}
