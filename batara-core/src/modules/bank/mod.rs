//! The bank: balances and transfers.
//!
//! Owns: the `transfer` kind (move `amount` from the signer to `to`; a `transfer` event with
//! from, to and amount; a transfer of 0 creates no account), the genesis's funded `accounts`, and accounts under the `acct/` state key
//! prefix (written through `TxContext::set_account`, proven by `batara_primitives::proof`).
//!
//! Must never: create or destroy value (a transfer moves exactly `amount`; fees are the
//! runtime's).

use serde::{Deserialize, Serialize};

use crate::runtime::{Module, TxContext, TxFailure};
use crate::state::{Account, StateError};
use crate::types::{dec_u128, Address, Amount, Event, SignedTransaction, TxKind};

/// Balances: transfers, and the funded accounts of the genesis.
pub struct BankModule {
    accounts: Vec<GenesisAccount>,
}

impl BankModule {
    /// The bank of a chain whose genesis funds `accounts`.
    pub fn new(accounts: Vec<GenesisAccount>) -> Self {
        Self { accounts }
    }
}

/// A funded account at genesis (an entry of `accounts` in `genesis.json`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Address.
    pub address: Address,
    /// Initial balance.
    #[serde(with = "dec_u128")]
    pub balance: Amount,
}

/// Checks the bank's genesis fragment: no account twice, a total supply that fits in u128.
pub fn validate_genesis(accounts: &[GenesisAccount]) -> Result<(), String> {
    let mut addrs = std::collections::HashSet::new();
    let mut supply: Amount = 0;
    for a in accounts {
        if !addrs.insert(a.address) {
            return Err(format!("account {} listed twice", a.address));
        }
        supply = supply
            .checked_add(a.balance)
            .ok_or("total supply overflows u128")?;
    }
    Ok(())
}

impl Module for BankModule {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn handles(&self, kind: &TxKind) -> bool {
        matches!(kind, TxKind::Transfer { .. })
    }

    fn spend(&self, kind: &TxKind) -> Amount {
        match kind {
            TxKind::Transfer { amount, .. } => *amount,
            _ => 0,
        }
    }

    fn init_genesis(&self, ctx: &mut TxContext<'_, '_>) -> Result<(), StateError> {
        for a in &self.accounts {
            ctx.set_account(
                a.address,
                Account {
                    balance: a.balance,
                    nonce: 0,
                },
            );
        }
        Ok(())
    }

    fn apply(&self, ctx: &mut TxContext<'_, '_>, tx: &SignedTransaction) -> Result<(), TxFailure> {
        let TxKind::Transfer { to, amount } = &tx.body.kind else {
            return Err(TxFailure::Rule("not a transfer".into()));
        };
        let from = tx.sender();
        let mut sender = ctx.account(&from)?;
        if sender.balance < *amount {
            return Err(TxFailure::Rule(format!(
                "insufficient balance: need {amount}, have {}",
                sender.balance
            )));
        }
        sender.balance -= amount;
        ctx.set_account(from, sender);
        // A transfer of nothing writes no recipient, so it cannot create an empty account (as
        // Ethereum's EIP-161): new state comes only with value, and every transaction pays at
        // least the chain's minimum fee.
        if *amount > 0 {
            let mut recipient = ctx.account(to)?;
            recipient.balance = recipient
                .balance
                .checked_add(*amount)
                .ok_or_else(|| TxFailure::Rule("recipient balance overflow".into()))?;
            ctx.set_account(*to, recipient);
        }
        ctx.events.push(Event {
            kind: "transfer".into(),
            attributes: vec![
                ("from".into(), from.to_string()),
                ("to".into(), to.to_string()),
                ("amount".into(), amount.to_string()),
            ],
        });
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
