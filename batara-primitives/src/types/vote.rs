//! Consensus messages: votes, proposals, and evidence of a validator voting twice.
//!
//! Signed bytes:
//! * a precommit for a block (`Precommit`, `Some(hash)`) signs exactly
//!   [`Commit::sign_message`]`(chain_id, height, round, hash)`, so the precommits that decide a block
//!   are, unchanged, the signatures of its [`Commit`];
//! * every other vote (prevotes, and precommits for nil) signs
//!   `VOTE_DOMAIN ‖ borsh(chain_id, kind as u8, height, round, block_hash)`;
//! * a proposal signs `PROPOSAL_DOMAIN ‖ borsh(chain_id, height, round, pol_round, block_hash)`.
//!
//! The domain tags keep a vote, a proposal, a commit and a transaction from ever being the same
//! bytes, and the chain id keeps them from being replayed on another chain.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::{dec_u64, Address, Commit, Hash, PublicKey, Signature, ValidatorInfo};
use crate::crypto::{self, CryptoError, Keypair};

/// Domain tag of prevotes and nil precommits.
pub const VOTE_DOMAIN: &[u8] = b"batara/vote/v1";

/// Domain tag of proposals.
pub const PROPOSAL_DOMAIN: &[u8] = b"batara/proposal/v1";

/// The two kinds of vote. The borsh tag (and the byte in the signed message) is 0 for a prevote
/// and 1 for a precommit.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// First voting step of a round.
    Prevote,
    /// Second voting step; more than 2/3 of them for one block decide it.
    Precommit,
}

impl VoteKind {
    /// The byte that stands for the kind in signed messages.
    pub fn as_u8(self) -> u8 {
        match self {
            VoteKind::Prevote => 0,
            VoteKind::Precommit => 1,
        }
    }
}

/// A signed prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height voted on.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Round within the height.
    pub round: u32,
    /// The block voted for; `None` is a vote for nil.
    pub block_hash: Option<Hash>,
    /// The voting validator.
    pub validator: Address,
    /// Its signature of [`Vote::sign_message`].
    pub signature: Signature,
}

impl Vote {
    /// The bytes a validator signs for a vote (see the module docs).
    pub fn sign_message(
        chain_id: &str,
        kind: VoteKind,
        height: u64,
        round: u32,
        block_hash: Option<&Hash>,
    ) -> Vec<u8> {
        if let (VoteKind::Precommit, Some(hash)) = (kind, block_hash) {
            return Commit::sign_message(chain_id, height, round, hash);
        }
        let mut m = VOTE_DOMAIN.to_vec();
        borsh::to_writer(&mut m, &(chain_id, kind.as_u8(), height, round, block_hash))
            .expect("borsh into Vec");
        m
    }

    /// The bytes this vote's signature covers.
    pub fn message(&self, chain_id: &str) -> Vec<u8> {
        Self::sign_message(
            chain_id,
            self.kind,
            self.height,
            self.round,
            self.block_hash.as_ref(),
        )
    }

    /// Checks the signature under `public_key`.
    pub fn verify(&self, chain_id: &str, public_key: &PublicKey) -> Result<(), CryptoError> {
        crypto::verify(public_key, &self.message(chain_id), &self.signature)
    }

    /// A vote signed with `key` directly. A validator node signs through its double-sign guard
    /// instead; this is for tools and tests that play a validator.
    pub fn new_signed(
        key: &Keypair,
        chain_id: &str,
        kind: VoteKind,
        height: u64,
        round: u32,
        block_hash: Option<Hash>,
    ) -> Self {
        Self {
            kind,
            height,
            round,
            block_hash,
            validator: key.address(),
            signature: key.sign(&Self::sign_message(
                chain_id,
                kind,
                height,
                round,
                block_hash.as_ref(),
            )),
        }
    }
}

/// A signed proposal of a block for a round. The block itself travels beside it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// Height.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The round in which more than 2/3 prevoted for this block (Tendermint's `validRound`), when
    /// the proposer re-proposes such a block; `None` for a fresh block.
    pub pol_round: Option<u32>,
    /// Hash of the proposed block.
    pub block_hash: Hash,
    /// The proposer.
    pub proposer: Address,
    /// Its signature of [`Proposal::sign_message`].
    pub signature: Signature,
}

impl Proposal {
    /// A proposal signed with `key` directly (see [`Vote::new_signed`]).
    pub fn new_signed(
        key: &Keypair,
        chain_id: &str,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block_hash: Hash,
    ) -> Self {
        Self {
            height,
            round,
            pol_round,
            block_hash,
            proposer: key.address(),
            signature: key.sign(&Self::sign_message(
                chain_id,
                height,
                round,
                pol_round,
                &block_hash,
            )),
        }
    }

    /// The bytes a proposer signs.
    pub fn sign_message(
        chain_id: &str,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block_hash: &Hash,
    ) -> Vec<u8> {
        let mut m = PROPOSAL_DOMAIN.to_vec();
        borsh::to_writer(&mut m, &(chain_id, height, round, pol_round, block_hash))
            .expect("borsh into Vec");
        m
    }

    /// The bytes this proposal's signature covers.
    pub fn message(&self, chain_id: &str) -> Vec<u8> {
        Self::sign_message(
            chain_id,
            self.height,
            self.round,
            self.pol_round,
            &self.block_hash,
        )
    }

    /// Checks the signature under `public_key`.
    pub fn verify(&self, chain_id: &str, public_key: &PublicKey) -> Result<(), CryptoError> {
        crypto::verify(public_key, &self.message(chain_id), &self.signature)
    }
}

/// Why duplicate-vote evidence is not valid.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EvidenceError {
    /// The two votes are by different validators.
    #[error("the votes are by different validators ({a} and {b})")]
    DifferentValidators {
        /// Signer of `vote_a`.
        a: Address,
        /// Signer of `vote_b`.
        b: Address,
    },
    /// The votes are not for the same height, round and kind.
    #[error("the votes are not for the same height, round and kind")]
    DifferentSlot,
    /// Both votes are for the same block: no offence.
    #[error("both votes are for the same block")]
    SameBlock,
    /// `vote_a`'s block hash does not sort before `vote_b`'s.
    #[error("votes are not in canonical order (vote_a's block hash must sort first, nil first)")]
    NotCanonical,
    /// The validator is not in the given set.
    #[error("{0} is not in the validator set")]
    UnknownValidator(Address),
    /// A signature does not verify.
    #[error("signature of {which} does not verify")]
    BadSignature {
        /// `"vote_a"` or `"vote_b"`.
        which: &'static str,
    },
}

/// Proof that a validator signed two different votes of the same kind for the same height and
/// round. The votes are in canonical order (`vote_a.block_hash < vote_b.block_hash`, nil first),
/// so one offence has exactly one encoding and one [`hash`](Self::hash).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateVoteEvidence {
    /// The vote whose block hash sorts first.
    pub vote_a: Vote,
    /// The other vote.
    pub vote_b: Vote,
}

impl DuplicateVoteEvidence {
    /// Evidence from two conflicting votes, in either order; puts them in canonical order.
    /// Does not check them: see [`verify`](Self::verify).
    pub fn new(v1: Vote, v2: Vote) -> Self {
        if v2.block_hash < v1.block_hash {
            Self {
                vote_a: v2,
                vote_b: v1,
            }
        } else {
            Self {
                vote_a: v1,
                vote_b: v2,
            }
        }
    }

    /// The offending validator.
    pub fn validator(&self) -> Address {
        self.vote_a.validator
    }

    /// Checks the evidence against the validator set of its height.
    pub fn verify(
        &self,
        chain_id: &str,
        validators: &[ValidatorInfo],
    ) -> Result<(), EvidenceError> {
        let (a, b) = (&self.vote_a, &self.vote_b);
        if a.validator != b.validator {
            return Err(EvidenceError::DifferentValidators {
                a: a.validator,
                b: b.validator,
            });
        }
        if a.height != b.height || a.round != b.round || a.kind != b.kind {
            return Err(EvidenceError::DifferentSlot);
        }
        if a.block_hash == b.block_hash {
            return Err(EvidenceError::SameBlock);
        }
        if a.block_hash > b.block_hash {
            return Err(EvidenceError::NotCanonical);
        }
        let v = validators
            .iter()
            .find(|v| v.address == a.validator)
            .ok_or(EvidenceError::UnknownValidator(a.validator))?;
        a.verify(chain_id, &v.pubkey)
            .map_err(|_| EvidenceError::BadSignature { which: "vote_a" })?;
        b.verify(chain_id, &v.pubkey)
            .map_err(|_| EvidenceError::BadSignature { which: "vote_b" })?;
        Ok(())
    }

    /// SHA-256 of the borsh bytes of the (canonically ordered) evidence.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&borsh::to_vec(self).expect("borsh into Vec"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;

    const CHAIN: &str = "batara-test";

    fn vote(k: &Keypair, kind: VoteKind, hash: Option<Hash>) -> Vote {
        let signature = k.sign(&Vote::sign_message(CHAIN, kind, 7, 2, hash.as_ref()));
        Vote {
            kind,
            height: 7,
            round: 2,
            block_hash: hash,
            validator: k.address(),
            signature,
        }
    }

    fn set(k: &Keypair) -> Vec<ValidatorInfo> {
        vec![ValidatorInfo {
            address: k.address(),
            pubkey: k.public_key(),
            power: 10,
        }]
    }

    #[test]
    fn precommit_for_a_block_signs_the_commit_message() {
        let h = Hash([9; 32]);
        assert_eq!(
            Vote::sign_message(CHAIN, VoteKind::Precommit, 5, 1, Some(&h)),
            Commit::sign_message(CHAIN, 5, 1, &h)
        );
        let prevote = Vote::sign_message(CHAIN, VoteKind::Prevote, 5, 1, Some(&h));
        assert!(prevote.starts_with(VOTE_DOMAIN));
        let mut expected = VOTE_DOMAIN.to_vec();
        expected.extend(borsh::to_vec(&(CHAIN, 0u8, 5u64, 1u32, Some(h))).unwrap());
        assert_eq!(prevote, expected);
        let nil_pc = Vote::sign_message(CHAIN, VoteKind::Precommit, 5, 1, None);
        let mut expected = VOTE_DOMAIN.to_vec();
        expected.extend(borsh::to_vec(&(CHAIN, 1u8, 5u64, 1u32, None::<Hash>)).unwrap());
        assert_eq!(nil_pc, expected);
        // Kinds, rounds and chains all change the bytes.
        assert_ne!(
            nil_pc,
            Vote::sign_message(CHAIN, VoteKind::Prevote, 5, 1, None)
        );
        assert_ne!(
            prevote,
            Vote::sign_message("other", VoteKind::Prevote, 5, 1, Some(&h))
        );
        let p = Proposal::sign_message(CHAIN, 5, 1, Some(0), &h);
        let mut expected = PROPOSAL_DOMAIN.to_vec();
        expected.extend(borsh::to_vec(&(CHAIN, 5u64, 1u32, Some(0u32), h)).unwrap());
        assert_eq!(p, expected);
    }

    #[test]
    fn vote_json_and_borsh_round_trip() {
        let k = Keypair::from_seed(&[1; 32]);
        let v = vote(&k, VoteKind::Precommit, Some(Hash([3; 32])));
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["kind"], "precommit");
        assert_eq!(j["height"], "7");
        assert_eq!(serde_json::from_value::<Vote>(j).unwrap(), v);
        let nil = vote(&k, VoteKind::Prevote, None);
        assert!(serde_json::to_value(&nil).unwrap()["block_hash"].is_null());
        assert_eq!(
            Vote::try_from_slice(&borsh::to_vec(&nil).unwrap()).unwrap(),
            nil
        );
        assert!(v.verify(CHAIN, &k.public_key()).is_ok());
        assert!(v.verify("other-chain", &k.public_key()).is_err());
    }

    #[test]
    fn duplicate_vote_evidence_checks() {
        let k = Keypair::from_seed(&[1; 32]);
        let other = Keypair::from_seed(&[2; 32]);
        let vals = set(&k);
        let nil = vote(&k, VoteKind::Prevote, None);
        let x = vote(&k, VoteKind::Prevote, Some(Hash([1; 32])));
        let y = vote(&k, VoteKind::Prevote, Some(Hash([2; 32])));

        // Either argument order gives the same, canonical evidence.
        let e1 = DuplicateVoteEvidence::new(y.clone(), x.clone());
        let e2 = DuplicateVoteEvidence::new(x.clone(), y.clone());
        assert_eq!(e1, e2);
        assert_eq!(e1.hash(), e2.hash());
        assert_eq!(e1.vote_a, x);
        assert_eq!(e1.verify(CHAIN, &vals), Ok(()));
        assert_eq!(e1.validator(), k.address());
        // nil sorts first.
        let e = DuplicateVoteEvidence::new(x.clone(), nil.clone());
        assert_eq!(e.vote_a, nil);
        assert_eq!(e.verify(CHAIN, &vals), Ok(()));

        let swapped = DuplicateVoteEvidence {
            vote_a: y.clone(),
            vote_b: x.clone(),
        };
        assert_eq!(
            swapped.verify(CHAIN, &vals),
            Err(EvidenceError::NotCanonical)
        );
        let same = DuplicateVoteEvidence {
            vote_a: x.clone(),
            vote_b: x.clone(),
        };
        assert_eq!(same.verify(CHAIN, &vals), Err(EvidenceError::SameBlock));
        let pc = vote(&k, VoteKind::Precommit, Some(Hash([2; 32])));
        assert_eq!(
            DuplicateVoteEvidence::new(x.clone(), pc).verify(CHAIN, &vals),
            Err(EvidenceError::DifferentSlot)
        );
        let by_other = vote(&other, VoteKind::Prevote, Some(Hash([2; 32])));
        assert!(matches!(
            DuplicateVoteEvidence::new(x.clone(), by_other).verify(CHAIN, &vals),
            Err(EvidenceError::DifferentValidators { .. })
        ));
        assert_eq!(
            e1.verify(CHAIN, &set(&other)),
            Err(EvidenceError::UnknownValidator(k.address()))
        );
        let mut forged = y.clone();
        forged.signature = x.signature;
        assert_eq!(
            DuplicateVoteEvidence::new(x.clone(), forged).verify(CHAIN, &vals),
            Err(EvidenceError::BadSignature { which: "vote_b" })
        );
        assert_eq!(
            e1.verify("other-chain", &vals),
            Err(EvidenceError::BadSignature { which: "vote_a" })
        );
    }
}
