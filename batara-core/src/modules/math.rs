//! Integer arithmetic the modules share: 256- and 512-bit products, `a × b / c` rounded either
//! way, and parts-per-million fractions (rates, thresholds, slashes).
//!
//! Must never: round in a caller's favour silently — every function says which way it rounds.

use crate::types::Amount;

/// Wide integers from the `uint` crate (its macro's expansion trips a clippy style lint and has
/// undocumented methods).
#[allow(clippy::manual_div_ceil, missing_docs)]
mod wide {
    uint::construct_uint! {
        /// 256-bit unsigned integer for the reward index and products of two amounts.
        pub struct U256(4);
    }
    uint::construct_uint! {
        /// 512-bit products of an index and a share count.
        pub struct U512(8);
    }
}

pub use wide::{U256, U512};

/// One million: rates and fractions are parts per million.
pub const PPM: u128 = 1_000_000;

/// `a × b / c` rounded down, through 256 bits; `None` if `c` is 0 or the result needs more than
/// 128 bits.
pub fn mul_div(a: Amount, b: Amount, c: Amount) -> Option<Amount> {
    if c == 0 {
        return None;
    }
    let q = U256::from(a) * U256::from(b) / U256::from(c);
    (q.bits() <= 128).then(|| q.low_u128())
}

/// `a × b / c` rounded up (same limits as [`mul_div`]).
pub fn mul_div_up(a: Amount, b: Amount, c: Amount) -> Option<Amount> {
    if c == 0 {
        return None;
    }
    let p = U256::from(a) * U256::from(b);
    let c = U256::from(c);
    let q = (p + c - U256::one()) / c;
    (q.bits() <= 128).then(|| q.low_u128())
}

/// `amount × ppm / 10⁶`, rounded down.
pub fn ppm_of(amount: Amount, ppm: u32) -> Amount {
    mul_div(amount, Amount::from(ppm), PPM).expect("a fraction of at most 1 fits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_goes_through_256_bits() {
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), Some(u128::MAX));
        assert_eq!(mul_div(u128::MAX, 2, 1), None);
        assert_eq!(mul_div(7, 3, 2), Some(10));
        assert_eq!(mul_div_up(7, 3, 2), Some(11));
        assert_eq!(mul_div_up(6, 3, 2), Some(9));
        assert_eq!(mul_div(1, 1, 0), None);
        assert_eq!(ppm_of(1_000_000_000, 25_000), 25_000_000);
    }
}
