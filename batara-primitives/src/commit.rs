//! When a commit finalizes a block: the one rule every full node and every light client applies.
//!
//! Owns: [`verify_commit`] — more than 2/3 of the voting power of the block's validator set signed
//! the block's precommit message (the signatures batch-verified with the rule of [`crate::crypto`]),
//! each signer a member of the set, none twice.
//!
//! Must never: look up the validator set itself (the caller passes the set of the committed
//! height), or count power with an overflowing sum (u128 over u64 powers).

use std::collections::HashSet;

use crate::crypto::{self, BatchItem};
use crate::types::{Commit, Hash, ValidatorInfo};

/// Why a commit does not finalize a block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The commit names another height or block.
    #[error("commit is for another block")]
    OtherBlock,
    /// A signer is not in the set.
    #[error("commit signed by non-validator {0}")]
    NotValidator(crate::types::Address),
    /// A validator appears twice.
    #[error("validator {0} signed twice")]
    Duplicate(crate::types::Address),
    /// A signature does not verify.
    #[error("bad commit signature from {0}")]
    BadSignature(crate::types::Address),
    /// Not more than 2/3 of the power signed.
    #[error("commit has {signed} of {total} voting power")]
    NotEnoughPower {
        /// Power that signed.
        signed: u128,
        /// Total power of the set.
        total: u128,
    },
}

/// Checks that `commit` finalizes block `hash` at `height` of chain `chain_id`, given `set`, the
/// validator set of that height.
pub fn verify_commit(
    chain_id: &str,
    set: &[ValidatorInfo],
    commit: &Commit,
    height: u64,
    hash: &Hash,
) -> Result<(), CommitError> {
    if commit.height != height || commit.block_hash != *hash {
        return Err(CommitError::OtherBlock);
    }
    let msg = Commit::sign_message(chain_id, height, commit.round, hash);
    let total: u128 = set.iter().map(|v| v.power as u128).sum();
    let mut signed: u128 = 0;
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(commit.signatures.len());
    for s in &commit.signatures {
        let Some(v) = set.iter().find(|v| v.address == s.validator) else {
            return Err(CommitError::NotValidator(s.validator));
        };
        if !seen.insert(s.validator) {
            return Err(CommitError::Duplicate(s.validator));
        }
        items.push(BatchItem {
            public_key: &v.pubkey,
            message: &msg,
            signature: &s.signature,
        });
        signed += v.power as u128;
    }
    if let Some(i) = crypto::verify_batch(&items).iter().position(|r| r.is_err()) {
        return Err(CommitError::BadSignature(commit.signatures[i].validator));
    }
    if signed * 3 <= total * 2 {
        return Err(CommitError::NotEnoughPower { signed, total });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::types::CommitSig;

    fn setup(n: u8) -> (Vec<Keypair>, Vec<ValidatorInfo>) {
        let keys: Vec<Keypair> = (1..=n).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let set = keys
            .iter()
            .map(|k| ValidatorInfo {
                address: k.address(),
                pubkey: k.public_key(),
                power: 10,
            })
            .collect();
        (keys, set)
    }

    fn commit(keys: &[Keypair], hash: Hash) -> Commit {
        let msg = Commit::sign_message("c", 5, 0, &hash);
        Commit {
            height: 5,
            round: 0,
            block_hash: hash,
            signatures: keys
                .iter()
                .map(|k| CommitSig {
                    validator: k.address(),
                    signature: k.sign(&msg),
                })
                .collect(),
        }
    }

    #[test]
    fn more_than_two_thirds_finalizes() {
        let (keys, set) = setup(4);
        let h = Hash([7; 32]);
        assert_eq!(
            verify_commit("c", &set, &commit(&keys[..3], h), 5, &h),
            Ok(())
        );
        assert_eq!(
            verify_commit("c", &set, &commit(&keys[..2], h), 5, &h),
            Err(CommitError::NotEnoughPower {
                signed: 20,
                total: 40
            })
        );
        assert_eq!(
            verify_commit("c", &set, &commit(&keys[..3], h), 6, &h),
            Err(CommitError::OtherBlock)
        );
        // Signed for another chain: the message differs, the signature fails.
        assert!(matches!(
            verify_commit("d", &set, &commit(&keys[..3], h), 5, &h),
            Err(CommitError::BadSignature(_))
        ));
        let mut twice = commit(&keys[..3], h);
        twice.signatures.push(twice.signatures[0].clone());
        assert_eq!(
            verify_commit("c", &set, &twice, 5, &h),
            Err(CommitError::Duplicate(keys[0].address()))
        );
        let outsider = Keypair::from_seed(&[9; 32]);
        let c = commit(std::slice::from_ref(&outsider), h);
        assert_eq!(
            verify_commit("c", &set, &c, 5, &h),
            Err(CommitError::NotValidator(outsider.address()))
        );
    }
}
