//! Keys, signatures and hashes: everything cryptographic the node relies on.
//!
//! Owns: ed25519 key pairs (RFC 8032 signing through `ed25519-dalek`), signature verification for
//! one signature and for a batch, SHA-256, and the Merkle root of a list of hashes.
//!
//! Must never: accept a signature in a batch that single verification rejects, or the reverse. A
//! node that batch-verifies a block and one that checks the same transaction alone must agree, or
//! the network forks on a crafted signature.
//!
//! ## The verification rule (chosen here, and the same in both paths)
//! * `A` (public key) and `R` must be canonical encodings of curve points (re-compressing the
//!   decoded point gives the same 32 bytes) and must not be of small order;
//! * `S` must be canonical (`S < ℓ`);
//! * the **cofactored** equation `[8]([S]B − R − [k]A) = 0` must hold, with
//!   `k = SHA-512(R ‖ A ‖ M)`.
//!
//! This is `verify_strict`'s decoding (canonical and not small order, as RFC 8032 and Wycheproof
//! expect) with ZIP-215's cofactored equation. Cofactorless single verification and a random-linear
//! -combination batch can disagree on points with a torsion component (the batch accepts with
//! probability 1/8 what the single check rejects). With the cofactored equation in both, a batch
//! passes only when every member passes alone (a random combination hides a bad member with
//! probability about 2⁻¹²⁸), and a failing batch falls back to single checks, so the answer for
//! each signature is exactly the single answer. Every honest RFC 8032 signature passes, and all
//! 151 Wycheproof cases agree (see `tests/vectors`).
//!
//! ## Decoded public keys are cached
//! Decoding a point costs a field exponentiation — about a third of a batch verification per
//! signature. Senders sign many transactions, so the decoded `A` of each key that passed
//! [`strict_point`] is kept in a fixed table (`KEY_CACHE_SLOTS` slots, direct-mapped by the key's
//! first bytes, a mutex per shard; a colliding key just replaces the slot). Only keys that
//! decoded are stored, under their full 32 bytes, so a hit returns exactly what decoding would:
//! the cache changes the time of a verification, never its answer. `R` is fresh per signature and
//! never cached.
//!
//! The Merkle root is RFC 6962's: leaves hashed as `SHA-256(0x00 ‖ leaf)`, inner nodes as
//! `SHA-256(0x01 ‖ left ‖ right)`, the empty list as `SHA-256("")`.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::Signer as _;
use rayon::prelude::*;
use sha2::{Digest, Sha256, Sha512};

use crate::types::{Address, Hash, PublicKey, Signature};

/// Errors from key handling and signature checks.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The signature does not verify under the rule above.
    #[error("bad signature")]
    BadSignature,
    /// A public key that is not a canonical, non-small-order curve point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// Bytes of the wrong length for a key or signature.
    #[error("invalid length: expected {expected} bytes, got {got}")]
    InvalidLength {
        /// Required length.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The operating system's random source failed.
    #[error("random source unavailable: {0}")]
    Rng(String),
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// SHA-256 over several slices, as if concatenated.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// RFC 6962 Merkle root of `leaves` (each leaf is itself a hash, e.g. a transaction hash).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    fn inner(level: &[Hash]) -> Hash {
        if level.len() == 1 {
            return sha256_parts(&[&[0u8], &level[0].0]);
        }
        // Split at the largest power of two smaller than the length (RFC 6962 §2.1).
        let k = level.len().next_power_of_two() / 2;
        let (l, r) = level.split_at(k);
        sha256_parts(&[&[1u8], &inner(l).0, &inner(r).0])
    }
    if leaves.is_empty() {
        sha256(&[])
    } else {
        inner(leaves)
    }
}

/// An ed25519 key pair. Signing is plain RFC 8032 Ed25519, so any library verifies it.
#[derive(Clone)]
pub struct Keypair {
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.address())
    }
}

impl Keypair {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| CryptoError::Rng(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key whose RFC 8032 secret seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte secret seed (handle with care).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// The account address of this key.
    pub fn address(&self) -> Address {
        self.public_key().address()
    }

    /// Signs `message` (RFC 8032 Ed25519, no pre-hashing).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

/// True when the encoded y coordinate is below p = 2²⁵⁵ − 19. The other way an encoding can be
/// non-canonical — x = 0 with the sign bit set — only happens for y = ±1, points of order 1 and 2,
/// which [`strict_point`] rejects as small order anyway. This spares a field inversion per point.
fn canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    !(top == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed)
}

/// Decodes a point that must be canonically encoded and not of small order.
fn strict_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !canonical_y(bytes) {
        return None;
    }
    let point = CompressedEdwardsY(*bytes).decompress()?;
    if point.is_small_order() {
        return None;
    }
    Some(point)
}

/// Slots of the decoded-key cache (see the module docs): 16,384 × ~200 bytes, about 3 MiB.
const KEY_CACHE_SLOTS: usize = 1 << 14;
/// Mutexes over the slots, so threads verifying different keys seldom wait on each other.
const KEY_CACHE_SHARDS: usize = 64;

type KeySlot = Option<([u8; 32], EdwardsPoint)>;

fn key_cache() -> &'static [std::sync::Mutex<Vec<KeySlot>>] {
    static CACHE: std::sync::OnceLock<Vec<std::sync::Mutex<Vec<KeySlot>>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        (0..KEY_CACHE_SHARDS)
            .map(|_| std::sync::Mutex::new(vec![None; KEY_CACHE_SLOTS / KEY_CACHE_SHARDS]))
            .collect()
    })
}

/// [`strict_point`] of a public key, through the cache of decoded keys.
fn public_point(key: &[u8; 32]) -> Option<EdwardsPoint> {
    let n = u64::from_le_bytes(key[..8].try_into().unwrap_or_default()) as usize;
    let (shard, slot) = (
        n % KEY_CACHE_SHARDS,
        (n / KEY_CACHE_SHARDS) % (KEY_CACHE_SLOTS / KEY_CACHE_SHARDS),
    );
    let lock = |s: usize| key_cache()[s].lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, p)) = &lock(shard)[slot] {
        if k == key {
            return Some(*p);
        }
    }
    let point = strict_point(key)?;
    lock(shard)[slot] = Some((*key, point));
    Some(point)
}

/// Everything one signature contributes to the verification equation, already decoded.
struct Prepared {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn prepare(public_key: &PublicKey, message: &[u8], sig: &Signature) -> Option<Prepared> {
    let a = public_point(&public_key.0)?;
    let r_bytes: [u8; 32] = sig.0[..32].try_into().ok()?;
    let s_bytes: [u8; 32] = sig.0[32..].try_into().ok()?;
    let r = strict_point(&r_bytes)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let mut h = Sha512::new();
    h.update(r_bytes);
    h.update(public_key.0);
    h.update(message);
    let k = Scalar::from_hash(h);
    Some(Prepared { a, r, s, k })
}

/// True when `public_key` is a canonical, non-small-order point (a key that can sign).
pub fn is_valid_public_key(public_key: &PublicKey) -> bool {
    strict_point(&public_key.0).is_some()
}

/// Verifies one signature under the rule in the module docs.
pub fn verify(public_key: &PublicKey, message: &[u8], sig: &Signature) -> Result<(), CryptoError> {
    let p = prepare(public_key, message, sig).ok_or(CryptoError::BadSignature)?;
    // [S]B - [k]A - R, then multiply by the cofactor.
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-p.k), &p.a, &p.s);
    if (sb_minus_ka - p.r).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// One item of a batch: who signed, what, and the signature.
#[derive(Clone, Copy)]
pub struct BatchItem<'a> {
    /// Signer's public key.
    pub public_key: &'a PublicKey,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a Signature,
}

/// Checks one chunk with a random linear combination; true when all verify.
fn verify_chunk(items: &[BatchItem<'_>]) -> Result<bool, CryptoError> {
    // One 128-bit random coefficient per signature, from one call to the OS.
    let mut random = vec![0u8; 16 * items.len()];
    getrandom::getrandom(&mut random).map_err(|e| CryptoError::Rng(e.to_string()))?;
    let mut scalars = Vec::with_capacity(1 + 2 * items.len());
    let mut points = Vec::with_capacity(1 + 2 * items.len());
    let mut b_coeff = Scalar::ZERO;
    for (it, zb) in items.iter().zip(random.chunks_exact(16)) {
        let Some(p) = prepare(it.public_key, it.message, it.signature) else {
            return Ok(false);
        };
        let mut wide = [0u8; 32];
        wide[..16].copy_from_slice(zb);
        let z = Scalar::from_bytes_mod_order(wide);
        b_coeff += z * p.s;
        scalars.push(-z);
        points.push(p.r);
        scalars.push(-(z * p.k));
        points.push(p.a);
    }
    scalars.push(b_coeff);
    points.push(curve25519_dalek::constants::ED25519_BASEPOINT_POINT);
    let sum = EdwardsPoint::vartime_multiscalar_mul(scalars.iter(), points.iter());
    Ok(sum.mul_by_cofactor().is_identity())
}

/// Items per multiscalar multiplication; large enough to amortise, small enough to spread over cores.
const BATCH_CHUNK: usize = 256;

/// Verifies many signatures at once, on all cores. Returns one result per item, in order: a
/// chunk that fails as a whole is re-checked one signature at a time, so the answer for each item
/// is exactly what [`verify`] says.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<Result<(), CryptoError>> {
    items
        .par_chunks(BATCH_CHUNK)
        .flat_map_iter(|chunk| {
            let all_ok = matches!(verify_chunk(chunk), Ok(true));
            chunk
                .iter()
                .map(move |it| {
                    if all_ok {
                        Ok(())
                    } else {
                        verify(it.public_key, it.message, it.signature)
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let kp = Keypair::from_seed(&[7u8; 32]);
        let sig = kp.sign(b"hello");
        assert!(verify(&kp.public_key(), b"hello", &sig).is_ok());
        assert_eq!(
            verify(&kp.public_key(), b"hellp", &sig),
            Err(CryptoError::BadSignature)
        );
        let mut bad = sig;
        bad.0[40] ^= 1;
        assert!(verify(&kp.public_key(), b"hello", &bad).is_err());
    }

    #[test]
    fn batch_flags_exactly_the_bad_ones() {
        let keys: Vec<Keypair> = (0..600u32)
            .map(|i| {
                let mut s = [0u8; 32];
                s[..4].copy_from_slice(&i.to_le_bytes());
                Keypair::from_seed(&s)
            })
            .collect();
        let msgs: Vec<Vec<u8>> = (0..600u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        sigs[3].0[1] ^= 0x55;
        sigs[599] = sigs[598];
        let items: Vec<BatchItem> = (0..600)
            .map(|i| BatchItem {
                public_key: &pks[i],
                message: &msgs[i],
                signature: &sigs[i],
            })
            .collect();
        let res = verify_batch(&items);
        for (i, r) in res.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 3 && i != 599, "item {i}");
        }
    }

    #[test]
    fn cached_keys_answer_as_decoding_does() {
        let kp = Keypair::from_seed(&[9u8; 32]);
        let pk = kp.public_key();
        let sig = kp.sign(b"m");
        // First use decodes and caches, the second hits; both accept, and a wrong message fails
        // with the cached key too.
        for _ in 0..2 {
            assert!(verify(&pk, b"m", &sig).is_ok());
            assert_eq!(public_point(&pk.0), strict_point(&pk.0));
        }
        assert!(verify(&pk, b"n", &sig).is_err());
        // A key sharing the slot (same first eight bytes) is not served the cached point.
        let mut other = pk;
        other.0[20] ^= 1;
        assert_eq!(public_point(&other.0), strict_point(&other.0));
        assert!(verify(&other, b"m", &sig).is_err());
        // A small-order key is never cached into acceptance: refused every time.
        let mut small = [0u8; 32];
        small[0] = 1; // the identity, order 1
        for _ in 0..2 {
            assert!(public_point(&small).is_none());
            assert!(!is_valid_public_key(&PublicKey(small)));
        }
    }

    #[test]
    fn canonical_y_matches_recompression() {
        // Every y in [p, 2^255) is non-canonical; just below p is canonical.
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        for low in 0xedu8..=0xff {
            b[0] = low;
            assert!(!canonical_y(&b), "{low:#x}");
        }
        b[0] = 0xec;
        assert!(canonical_y(&b));
        // The sign bit is not part of y.
        let mut s = Keypair::from_seed(&[3; 32]).public_key().0;
        assert!(canonical_y(&s));
        s[31] ^= 0x80;
        assert!(canonical_y(&s));
    }

    #[test]
    fn merkle_root_shape() {
        let a = sha256(b"a");
        let b = sha256(b"b");
        let c = sha256(b"c");
        assert_eq!(merkle_root(&[]), sha256(b""));
        assert_eq!(merkle_root(&[a]), sha256_parts(&[&[0], &a.0]));
        let ab = sha256_parts(&[&[1], &merkle_root(&[a]).0, &merkle_root(&[b]).0]);
        assert_eq!(merkle_root(&[a, b]), ab);
        let abc = sha256_parts(&[&[1], &ab.0, &merkle_root(&[c]).0]);
        assert_eq!(merkle_root(&[a, b, c]), abc);
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
    }
}
