//! Helpers the modules share for their state keys and records: keys built of parts, borsh
//! records read through a [`TxContext`], fixed-width fields read back out of keys, and moving
//! funds in and out of balances (the bank's transfer keeps its own, stricter, hot path).
//!
//! Must never: know a module's prefixes (each module owns its `<prefix>/…` keys).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::runtime::{TxContext, TxFailure};
use crate::state::StateError;
use crate::storage::decode;
use crate::types::{Address, Amount};

/// `prefix` followed by `parts`.
pub fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// The borsh bytes of `v`.
pub fn enc<T: BorshSerialize>(v: &T) -> Vec<u8> {
    borsh::to_vec(v).expect("borsh into Vec")
}

/// The record at `k` (`None`: absent); `what` names it in a decoding error.
pub fn get<T: BorshDeserialize>(
    ctx: &TxContext<'_, '_>,
    what: &'static str,
    k: &[u8],
) -> Result<Option<T>, StateError> {
    match ctx.object(k)? {
        Some(b) => Ok(Some(decode(what, &b)?)),
        None => Ok(None),
    }
}

fn bad_key(k: &[u8]) -> StateError {
    StateError::Tree(format!("bad module key of {} bytes", k.len()))
}

/// The address at byte `at` of key `k`.
pub fn address_at(k: &[u8], at: usize) -> Result<Address, StateError> {
    k.get(at..at + 20)
        .and_then(|b| b.try_into().ok())
        .map(Address)
        .ok_or_else(|| bad_key(k))
}

/// The big-endian u64 (a height, an id, a time) at byte `at` of key `k`.
pub fn u64_at(k: &[u8], at: usize) -> Result<u64, StateError> {
    k.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| bad_key(k))
}

/// Takes `amount` from `who`'s balance; refused (naming both amounts) when it holds less.
pub fn debit(ctx: &mut TxContext<'_, '_>, who: &Address, amount: Amount) -> Result<(), TxFailure> {
    let mut acct = ctx.account(who)?;
    if acct.balance < amount {
        return Err(TxFailure::Rule(format!(
            "insufficient balance: need {amount}, have {}",
            acct.balance
        )));
    }
    acct.balance -= amount;
    ctx.set_account(*who, acct);
    Ok(())
}

/// Adds `amount` to `to`'s balance (nothing written for 0).
pub fn credit(ctx: &mut TxContext<'_, '_>, to: &Address, amount: Amount) -> Result<(), StateError> {
    if amount > 0 {
        let mut a = ctx.account(to)?;
        a.balance = a.balance.saturating_add(amount);
        ctx.set_account(*to, a);
    }
    Ok(())
}
