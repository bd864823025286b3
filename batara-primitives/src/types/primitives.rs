//! Fixed-size byte values and their text forms.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// bech32 human-readable prefix of addresses.
pub const ADDRESS_HRP: &str = "bat";

/// Errors parsing the text form of a value.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TypeError {
    /// Not valid hex, or the wrong number of bytes.
    #[error("invalid hex for {what}: {reason}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// Not a valid bech32 `bat1…` address.
    #[error("invalid address {input:?}: {reason}")]
    Address {
        /// The text given.
        input: String,
        /// Why it failed.
        reason: String,
    },
    /// A byte string of the wrong length.
    #[error("{0}")]
    Length(String),
    /// Not a valid decimal integer in range.
    #[error("invalid number {input:?}: {reason}")]
    Number {
        /// The text given.
        input: String,
        /// Why it failed.
        reason: String,
    },
}

fn parse_hex<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], TypeError> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    let v = hex::decode(h).map_err(|e| TypeError::Hex {
        what,
        reason: e.to_string(),
    })?;
    let len = v.len();
    v.try_into().map_err(|_| TypeError::Hex {
        what,
        reason: format!("expected {N} bytes, got {len}"),
    })
}

macro_rules! hex_bytes {
    ($name:ident, $n:expr, $what:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
        )]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = TypeError;
            fn from_str(s: &str) -> Result<Self, TypeError> {
                parse_hex::<$n>(s, $what).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_bytes!(Hash, 32, "hash", "A SHA-256 hash.");
hex_bytes!(PublicKey, 32, "public key", "An ed25519 public key.");
hex_bytes!(Signature, 64, "signature", "An ed25519 signature (R ‖ S).");

impl Hash {
    /// The all-zero hash (parent of the genesis header).
    pub const ZERO: Hash = Hash([0u8; 32]);
}

impl PublicKey {
    /// The account address of this key: the first 20 bytes of SHA-256(public key).
    pub fn address(&self) -> Address {
        let h = crate::crypto::sha256(&self.0);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h.0[..20]);
        Address(a)
    }
}

/// An account address: 20 bytes, shown as bech32 with prefix `bat`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = bech32::Hrp::parse_unchecked(ADDRESS_HRP);
        match bech32::encode::<bech32::Bech32>(hrp, &self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The bech32 alphabet's values, by ASCII byte (lowercase only; -1: not in the alphabet).
const BECH32_VALUES: [i8; 128] = {
    let mut t = [-1i8; 128];
    let alphabet = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let mut i = 0;
    while i < 32 {
        t[alphabet[i] as usize] = i as i8;
        i += 1;
    }
    t
};

/// For each value of the top 5 bits of bech32's checksum state, the XOR of the generator
/// constants those bits select (BIP 173's `polymod`, one table lookup per step, no branches).
const BECH32_GEN: [u32; 32] = {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut t = [0u32; 32];
    let mut top = 0;
    while top < 32 {
        let mut i = 0;
        while i < 5 {
            if (top >> i) & 1 == 1 {
                t[top] ^= GEN[i];
            }
            i += 1;
        }
        top += 1;
    }
    t
};

/// One step of bech32's checksum.
#[inline]
fn bech32_step(chk: u32, v: u32) -> u32 {
    ((chk & 0x1ff_ffff) << 5) ^ v ^ BECH32_GEN[(chk >> 25) as usize]
}

/// The address of `s` when it is in the form [`Address`]'s `Display` writes: lowercase, prefix
/// `bat1`, 32 data characters (exactly 160 bits, so 20 bytes with no padding) and a bech32 (not
/// bech32m) checksum; `None` for anything else, valid or not, which `from_str` then parses the
/// general way. One pass over a table, no allocation: the read path of every binding call that
/// takes an address.
fn canonical_address(s: &str) -> Option<Address> {
    let b = s.as_bytes();
    let (prefix, rest) = b.split_at_checked(4)?;
    if prefix != b"bat1" || rest.len() != 38 {
        return None;
    }
    // The checksum state after BIP 173's expansion of the prefix "bat".
    let mut chk = ADDRESS_HRP
        .bytes()
        .fold(1, |c, x| bech32_step(c, u32::from(x >> 5)));
    chk = bech32_step(chk, 0);
    chk = ADDRESS_HRP
        .bytes()
        .fold(chk, |c, x| bech32_step(c, u32::from(x & 31)));
    let mut bytes = [0u8; 20];
    let (mut acc, mut bits, mut out) = (0u32, 0u32, 0usize);
    for (i, &c) in rest.iter().enumerate() {
        let v = *BECH32_VALUES.get(usize::from(c))?;
        let v = u32::try_from(v).ok()?;
        chk = bech32_step(chk, v);
        if i < 32 {
            acc = (acc << 5) | v;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes[out] = (acc >> bits) as u8;
                out += 1;
            }
        }
    }
    (chk == 1).then_some(Address(bytes))
}

impl FromStr for Address {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        // The common case, without allocating: see `canonical_address`. The rest goes the long
        // way below, which names what is wrong.
        if let Some(a) = canonical_address(s) {
            return Ok(a);
        }
        let err = |reason: String| TypeError::Address {
            input: s.chars().take(100).collect(),
            reason,
        };
        let (hrp, data) = bech32::decode(s).map_err(|e| err(e.to_string()))?;
        if !hrp.as_str().eq_ignore_ascii_case(ADDRESS_HRP) {
            return Err(err(format!(
                "prefix must be {ADDRESS_HRP:?}, got {:?}",
                hrp.as_str()
            )));
        }
        // Only the original bech32 checksum is produced; refuse bech32m so one address has one text.
        let canonical =
            bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked(ADDRESS_HRP), &data)
                .map_err(|e| err(e.to_string()))?;
        if !canonical.eq_ignore_ascii_case(s) {
            return Err(err("not a bech32 (BIP-173) checksum".into()));
        }
        let len = data.len();
        let bytes: [u8; 20] = data
            .try_into()
            .map_err(|_| err(format!("expected 20 bytes, got {len}")))?;
        Ok(Address(bytes))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A decimal string or a JSON number, for the u64/u128 fields of the JSON forms.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(u64),
    Str(String),
}

fn parse_dec<T: FromStr>(v: NumOrString) -> Result<T, TypeError>
where
    T::Err: fmt::Display,
{
    match v {
        NumOrString::Num(n) => n
            .to_string()
            .parse()
            .map_err(|e: T::Err| TypeError::Number {
                input: n.to_string(),
                reason: e.to_string(),
            }),
        NumOrString::Str(s) => {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TypeError::Number {
                    input: s,
                    reason: "expected a non-negative decimal integer".into(),
                });
            }
            s.parse().map_err(|e: T::Err| TypeError::Number {
                reason: e.to_string(),
                input: s,
            })
        }
    }
}

/// Parses an amount given as a decimal string (what every binding accepts), naming `what` in
/// the error.
pub fn parse_amount(s: &str, what: &str) -> Result<u128, TypeError> {
    parse_dec(NumOrString::Str(s.to_owned())).map_err(|e| match e {
        TypeError::Number { input, reason } => TypeError::Number {
            input,
            reason: format!("{what}: {reason}"),
        },
        other => other,
    })
}

/// Exactly `N` bytes from a slice, naming `what` in the error.
pub fn fixed_bytes<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N], TypeError> {
    b.try_into()
        .map_err(|_| TypeError::Length(format!("{what} must be {N} bytes, got {}", b.len())))
}

/// serde for `u128` as a decimal string (numbers accepted on input).
pub mod dec_u128 {
    use super::*;
    /// Writes the decimal string.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    /// Reads a decimal string or a JSON number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        parse_dec(NumOrString::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// serde for `u64` as a decimal string (numbers accepted on input).
pub mod dec_u64 {
    use super::*;
    /// Writes the decimal string.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    /// Reads a decimal string or a JSON number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        parse_dec(NumOrString::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// serde for an optional u64 as a decimal string or `null`.
pub mod opt_dec_u64 {
    use super::*;
    /// Writes the decimal string, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
    /// Reads a decimal string, a JSON number, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            Some(v) => parse_dec(v).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// serde for byte strings as `0x`-hex (contract code, call arguments, salts).
pub mod hex_bytes {
    use super::*;
    /// Writes `0x`-hex.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{}", hex::encode(v)))
    }
    /// Reads hex, with or without `0x`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        hex::decode(s.strip_prefix("0x").unwrap_or(&s))
            .map_err(|e| serde::de::Error::custom(format!("invalid hex bytes: {e}")))
    }
}

/// serde for optional byte strings as `0x`-hex or `null`.
pub mod opt_hex_bytes {
    use super::*;
    /// Writes `0x`-hex, or `null`.
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => hex_bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }
    /// Reads hex (with or without `0x`), or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match <Option<String> as Deserialize>::deserialize(d)? {
            None => Ok(None),
            Some(s) => hex::decode(s.strip_prefix("0x").unwrap_or(&s))
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid hex bytes: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_parse_agrees_with_bech32_and_catches_every_single_change() {
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        for seed in 0u8..64 {
            let a = Address(std::array::from_fn(|i| {
                seed.wrapping_mul(37).wrapping_add(i as u8 * 11)
            }));
            let s = a.to_string();
            assert_eq!(canonical_address(&s), Some(a), "{s}");
            // Any one character replaced is caught by the checksum (BIP 173 guarantees it).
            for pos in 4..s.len() {
                for c in alphabet.chars() {
                    let mut t = s.clone();
                    t.replace_range(pos..=pos, c.encode_utf8(&mut [0; 4]));
                    if t != s {
                        assert_eq!(canonical_address(&t), None, "{t}");
                        assert!(t.parse::<Address>().is_err(), "{t}");
                    }
                }
            }
        }
        let m = bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("bat").unwrap(), &[1; 20])
            .unwrap();
        assert_eq!(
            canonical_address(&m),
            None,
            "bech32m is not the fast path's"
        );
        assert_eq!(canonical_address("bat1\u{e9}"), None);
    }

    #[test]
    fn address_round_trip_and_errors() {
        let a = Address([0xab; 20]);
        let s = a.to_string();
        assert!(s.starts_with("bat1"), "{s}");
        assert_eq!(s.parse::<Address>().unwrap(), a);
        assert_eq!(s.to_uppercase().parse::<Address>().unwrap(), a);
        let mixed = s[..6].to_uppercase() + &s[6..];
        assert!(
            mixed.parse::<Address>().is_err(),
            "mixed case is not bech32"
        );
        let mut broken = s.clone();
        broken.pop();
        broken.push(if s.ends_with('q') { 'p' } else { 'q' });
        assert!(broken.parse::<Address>().is_err());
        let other =
            bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("cosmos").unwrap(), &[1; 20])
                .unwrap();
        let e = other.parse::<Address>().unwrap_err().to_string();
        assert!(e.contains("prefix"), "{e}");
        let short =
            bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("bat").unwrap(), &[1; 19]).unwrap();
        assert!(short
            .parse::<Address>()
            .unwrap_err()
            .to_string()
            .contains("20 bytes"));
        let m = bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse("bat").unwrap(), &[1; 20])
            .unwrap();
        assert!(m.parse::<Address>().is_err());
    }

    #[test]
    fn hex_and_decimal_json() {
        let h = Hash([1; 32]);
        let j = serde_json::to_string(&h).unwrap();
        assert_eq!(j, format!("\"0x{}\"", "01".repeat(32)));
        assert_eq!(serde_json::from_str::<Hash>(&j).unwrap(), h);
        assert!(serde_json::from_str::<Hash>("\"0x1234\"").is_err());
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "dec_u128")]
            a: u128,
        }
        assert_eq!(
            serde_json::to_string(&T { a: u128::MAX }).unwrap(),
            format!("{{\"a\":\"{}\"}}", u128::MAX)
        );
        assert_eq!(serde_json::from_str::<T>("{\"a\":5}").unwrap(), T { a: 5 });
        assert!(serde_json::from_str::<T>("{\"a\":\"-5\"}").is_err());
        assert!(serde_json::from_str::<T>("{\"a\":\"1e3\"}").is_err());
        assert!(serde_json::from_str::<T>(&format!("{{\"a\":\"{}0\"}}", u128::MAX)).is_err());
        assert_eq!(parse_amount("42", "fee"), Ok(42));
        assert!(parse_amount("-1", "fee")
            .unwrap_err()
            .to_string()
            .contains("fee"));
        assert!(parse_amount(&format!("{}0", u128::MAX), "amount").is_err());
        assert_eq!(fixed_bytes::<2>(&[1, 2], "k"), Ok([1, 2]));
        assert!(fixed_bytes::<3>(&[1], "seed")
            .unwrap_err()
            .to_string()
            .contains("seed must be 3 bytes"));
    }
}
