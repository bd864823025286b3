//! Distribution: fees and block rewards to validators, their commission to the operator, the
//! rest to delegators through one reward index per validator, and the community pool.
//!
//! Owns: the reward index of each validator (rewards per share since genesis, scaled by
//! [`INDEX_SCALE`], 256 bits), each delegation's index at its last withdrawal, and three totals
//! under `stk/`: the community pool, the rewards credited to delegators but not yet withdrawn
//! (`outstanding`), and the supply counters (minted and burned).
//!
//! Keeps: the cost of a block does not depend on how many delegators a validator has (F1 fee
//! distribution, Ojha 2019, as Cosmos x/distribution, but indexed per share rather than per
//! token: a slash lowers every share of a validator alike, so the index needs no slash events).
//! A delegation's pending rewards are `shares × (index now − index at withdrawal) / scale`,
//! rounded down; the rounding stays in `outstanding`, so no unit is created or lost:
//! Σ balances + Σ validator stake + Σ unbonding + pool + outstanding = genesis + minted − burned.
//!
//! Must never: pay a delegation rewards for a period its shares did not exist (every change of a
//! delegation's shares withdraws its pending rewards first), or loop over delegators in a block.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;

use crate::modules::math::{U256, U512};
use crate::modules::store::credit;
use crate::runtime::TxContext;
use crate::state::StateError;
use crate::types::{dec_u128, Address, Amount};

/// Scale of the reward index: rewards per share × 10³⁶ (a share is 10⁻¹⁸ of a coin's worth, so
/// 10¹⁸ would round a validator's reward to whole units per coin of shares; an amount × 10³⁶
/// still fits 256 bits).
pub const INDEX_SCALE: u128 = 1_000_000_000_000_000_000_000_000_000_000_000_000;

pub(super) const POOL_KEY: &[u8] = b"stk/pool";
pub(super) const OUTSTANDING_KEY: &[u8] = b"stk/outstanding";
pub(super) const SUPPLY_KEY: &[u8] = b"stk/supply";

/// A reward index: rewards per share since genesis × [`INDEX_SCALE`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RewardIndex(pub [u64; 4]);

impl RewardIndex {
    fn get(self) -> U256 {
        U256(self.0)
    }

    /// The index after `amount` more rewards over `shares` shares.
    pub fn add(self, amount: Amount, shares: Amount) -> Self {
        let step = U256::from(amount) * U256::from(INDEX_SCALE) / U256::from(shares.max(1));
        Self(self.get().saturating_add(step).0)
    }

    /// Rewards of `shares` shares between `since` and this index, rounded down.
    pub fn rewards_since(self, since: Self, shares: Amount) -> Amount {
        let delta = self.get().saturating_sub(since.get());
        let mut wide = [0u64; 8];
        wide[..4].copy_from_slice(&delta.0);
        let r = U512(wide) * U512::from(shares) / U512::from(INDEX_SCALE);
        if r.bits() <= 128 {
            r.low_u128()
        } else {
            Amount::MAX
        }
    }
}

/// Tokens minted and burned since genesis (`stk/supply`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct Supply {
    /// Block rewards minted.
    #[serde(with = "dec_u128")]
    pub minted: Amount,
    /// Stake burned by slashing (and, later, burned deposits).
    #[serde(with = "dec_u128")]
    pub burned: Amount,
}

pub(super) fn read_amount(ctx: &TxContext<'_, '_>, k: &[u8]) -> Result<Amount, StateError> {
    Ok(super::get(ctx, "amount", k)?.unwrap_or(0))
}

/// Adds `delta` to (or, with `add` false, takes it from) the amount stored at `k`.
pub(super) fn change_amount(
    ctx: &mut TxContext<'_, '_>,
    k: &[u8],
    delta: Amount,
    add: bool,
) -> Result<(), StateError> {
    if delta > 0 {
        let cur = read_amount(ctx, k)?;
        let new = if add {
            cur.saturating_add(delta)
        } else {
            cur.saturating_sub(delta)
        };
        ctx.set_object(k.to_vec(), super::enc(&new));
    }
    Ok(())
}

/// Adds `delta` to the amount stored at `k`.
pub(super) fn add_amount(
    ctx: &mut TxContext<'_, '_>,
    k: &[u8],
    delta: Amount,
) -> Result<(), StateError> {
    change_amount(ctx, k, delta, true)
}

/// Counts `minted` and `burned` into `stk/supply`.
pub(super) fn count_supply(
    ctx: &mut TxContext<'_, '_>,
    minted: Amount,
    burned: Amount,
) -> Result<(), StateError> {
    if minted == 0 && burned == 0 {
        return Ok(());
    }
    let mut s: Supply = super::get(ctx, "supply", SUPPLY_KEY)?.unwrap_or_default();
    s.minted = s.minted.saturating_add(minted);
    s.burned = s.burned.saturating_add(burned);
    ctx.set_object(SUPPLY_KEY.to_vec(), super::enc(&s));
    Ok(())
}

/// Settles delegation `d` of `delegator` to `validator` at the validator's reward index `index`:
/// pays the rewards its shares earned since its own index (taken out of `outstanding`) and moves
/// its index to `index`. Returns what was paid. The caller writes `d` back (or deletes it).
pub(super) fn settle_rewards(
    ctx: &mut TxContext<'_, '_>,
    delegator: &Address,
    validator: &Address,
    index: RewardIndex,
    d: &mut super::Delegation,
) -> Result<Amount, StateError> {
    let due = index.rewards_since(d.reward_index, d.shares);
    d.reward_index = index;
    if due == 0 {
        return Ok(0);
    }
    // Never more than was credited: `outstanding` holds at least every pending reward.
    let outstanding = read_amount(ctx, OUTSTANDING_KEY)?;
    let due = due.min(outstanding);
    ctx.set_object(OUTSTANDING_KEY.to_vec(), super::enc(&(outstanding - due)));
    credit(ctx, delegator, due)?;
    ctx.emit(
        "withdraw_rewards",
        &[
            ("delegator", &delegator),
            ("validator", &validator),
            ("amount", &due),
        ],
    );
    Ok(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_pays_each_share_alike_and_never_more_than_credited() {
        let i0 = RewardIndex::default();
        // 1000 units over 3 shares: each share earns 333.33…, 3 shares earn 999 (1 stays).
        let i1 = i0.add(1000, 3);
        assert_eq!(i1.rewards_since(i0, 1), 333);
        assert_eq!(i1.rewards_since(i0, 3), 999);
        assert_eq!(i1.rewards_since(i1, 3), 0);
        // Huge rewards over one share do not overflow the index.
        let big = i0.add(u128::MAX, 1).add(u128::MAX, 1);
        assert_eq!(big.rewards_since(i0, 1), u128::MAX);
        assert_eq!(big.rewards_since(i0.add(u128::MAX, 1), 1), u128::MAX);
    }
}
