//! The double-sign guard: the only way consensus messages get signed.
//!
//! Owns: the guard file, which records the last `(height, round, step)` this validator signed,
//! with the hash of the signed bytes and the signature; and the rule that decides whether a new
//! message may be signed:
//! * above the last `(height, round, step)` (steps ordered proposal < prevote < precommit): sign;
//! * at the same `(height, round, step)`: only the identical message, and then the stored
//!   signature is returned (a restarted node re-broadcasting its vote);
//! * below it: refuse with [`GuardError::DoubleSignRefused`].
//!
//! Must never: return a signature before the guard file that records it is durable (written to a
//! temporary file, fsynced, renamed over the old one, and the directory fsynced), or treat a guard
//! file it cannot read as absent. A corrupt or foreign file is an error; a missing file means the
//! key has never signed (deleting the file is the operator's decision, as in CometBFT).
//!
//! The file is JSON (like CometBFT's `priv_validator_state.json`) and names the public key, so a
//! guard file cannot silently be reused for another key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Signer;
use crate::crypto;
use crate::storage::file::replace_durably;
use crate::types::{dec_u64, Hash, Proposal, PublicKey, Signature, Vote, VoteKind};

/// The step of a signed message, in signing order within a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignStep {
    /// A proposal.
    Proposal,
    /// A prevote.
    Prevote,
    /// A precommit.
    Precommit,
}

impl From<VoteKind> for SignStep {
    fn from(k: VoteKind) -> Self {
        match k {
            VoteKind::Prevote => SignStep::Prevote,
            VoteKind::Precommit => SignStep::Precommit,
        }
    }
}

/// Errors of the guard.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// Signing this could be double signing.
    #[error(
        "refusing to sign {step:?} at height {height} round {round}: already signed \
         {last_step:?} at height {last_height} round {last_round}{same}",
        same = if *.same_step { " (a different message)" } else { "" }
    )]
    DoubleSignRefused {
        /// Height asked for.
        height: u64,
        /// Round asked for.
        round: u32,
        /// Step asked for.
        step: SignStep,
        /// Last signed height.
        last_height: u64,
        /// Last signed round.
        last_round: u32,
        /// Last signed step.
        last_step: SignStep,
        /// True when the request is at the same height, round and step but for other bytes.
        same_step: bool,
    },
    /// Reading, writing or syncing the guard file failed.
    #[error("guard file {path}: {reason}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The guard file exists but cannot be parsed.
    #[error("guard file {path} is corrupt: {reason}")]
    Corrupt {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The guard file belongs to another key.
    #[error("guard file {path} is for key {found}, not {expected}")]
    WrongKey {
        /// File.
        path: String,
        /// This signer's key.
        expected: PublicKey,
        /// The key named in the file.
        found: PublicKey,
    },
}

/// The last thing signed: the guard file's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastSigned {
    /// The key that signed.
    pub public_key: PublicKey,
    /// Height.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Step.
    pub step: SignStep,
    /// SHA-256 of the signed bytes.
    pub sign_bytes_hash: Hash,
    /// The signature returned.
    pub signature: Signature,
}

/// Signs proposals and votes for one chain, never twice for one `(height, round, step)`.
/// Not `Sync` by design of its `&mut self` methods: the host keeps one guard per key, behind a
/// mutex if several tasks sign.
pub struct SignGuard {
    path: PathBuf,
    chain_id: String,
    signer: Arc<dyn Signer>,
    last: Option<LastSigned>,
}

impl std::fmt::Debug for SignGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignGuard")
            .field("path", &self.path)
            .field("chain_id", &self.chain_id)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl SignGuard {
    /// Opens the guard file at `path` (a missing file: nothing signed yet) for `signer`.
    pub fn open(
        path: impl Into<PathBuf>,
        chain_id: impl Into<String>,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, GuardError> {
        let path = path.into();
        let shown = path.display().to_string();
        let last = match std::fs::read(&path) {
            Ok(bytes) => {
                let last: LastSigned =
                    serde_json::from_slice(&bytes).map_err(|e| GuardError::Corrupt {
                        path: shown.clone(),
                        reason: e.to_string(),
                    })?;
                if last.public_key != signer.public_key() {
                    return Err(GuardError::WrongKey {
                        path: shown,
                        expected: signer.public_key(),
                        found: last.public_key,
                    });
                }
                Some(last)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(GuardError::Io {
                    path: shown,
                    reason: e.to_string(),
                })
            }
        };
        Ok(Self {
            path,
            chain_id: chain_id.into(),
            signer,
            last,
        })
    }

    /// The last signed message's record, if any.
    pub fn last_signed(&self) -> Option<&LastSigned> {
        self.last.as_ref()
    }

    /// Signs a vote, if the rule in the module docs allows it.
    pub fn sign_vote(
        &mut self,
        kind: VoteKind,
        height: u64,
        round: u32,
        block_hash: Option<Hash>,
    ) -> Result<Vote, GuardError> {
        let msg = Vote::sign_message(&self.chain_id, kind, height, round, block_hash.as_ref());
        let signature = self.sign(height, round, kind.into(), &msg)?;
        Ok(Vote {
            kind,
            height,
            round,
            block_hash,
            validator: self.signer.address(),
            signature,
        })
    }

    /// Signs a proposal, if the rule in the module docs allows it.
    pub fn sign_proposal(
        &mut self,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        block_hash: Hash,
    ) -> Result<Proposal, GuardError> {
        let msg = Proposal::sign_message(&self.chain_id, height, round, pol_round, &block_hash);
        let signature = self.sign(height, round, SignStep::Proposal, &msg)?;
        Ok(Proposal {
            height,
            round,
            pol_round,
            block_hash,
            proposer: self.signer.address(),
            signature,
        })
    }

    fn sign(
        &mut self,
        height: u64,
        round: u32,
        step: SignStep,
        msg: &[u8],
    ) -> Result<Signature, GuardError> {
        let sign_bytes_hash = crypto::sha256(msg);
        if let Some(last) = &self.last {
            let asked = (height, round, step);
            let done = (last.height, last.round, last.step);
            if asked == done && last.sign_bytes_hash == sign_bytes_hash {
                return Ok(last.signature);
            }
            if asked <= done {
                return Err(GuardError::DoubleSignRefused {
                    height,
                    round,
                    step,
                    last_height: last.height,
                    last_round: last.round,
                    last_step: last.step,
                    same_step: asked == done,
                });
            }
        }
        let signature = self.signer.sign(msg);
        let record = LastSigned {
            public_key: self.signer.public_key(),
            height,
            round,
            step,
            sign_bytes_hash,
            signature,
        };
        self.persist(&record)?;
        self.last = Some(record);
        Ok(signature)
    }

    /// Writes the record durably ([`replace_durably`]).
    fn persist(&self, record: &LastSigned) -> Result<(), GuardError> {
        let mut text = serde_json::to_vec_pretty(record).expect("guard record serialises");
        text.push(b'\n');
        replace_durably(&self.path, &text).map_err(|e| GuardError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// The guard file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::validator::LocalSigner;

    const CHAIN: &str = "guard-test";

    fn signer(seed: u8) -> Arc<dyn Signer> {
        Arc::new(LocalSigner(Keypair::from_seed(&[seed; 32])))
    }

    fn refused(r: Result<Vote, GuardError>) -> bool {
        matches!(r, Err(GuardError::DoubleSignRefused { .. }))
    }

    #[test]
    fn refuses_regressions_and_conflicts_allows_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guard.json");
        let s = signer(1);
        let mut g = SignGuard::open(&path, CHAIN, s.clone()).unwrap();
        assert!(g.last_signed().is_none());
        let a = Hash([1; 32]);
        let b = Hash([2; 32]);

        let p = g.sign_proposal(5, 0, None, a).unwrap();
        assert!(p.verify(CHAIN, &s.public_key()).is_ok());
        let v = g.sign_vote(VoteKind::Prevote, 5, 0, Some(a)).unwrap();
        assert!(v.verify(CHAIN, &s.public_key()).is_ok());
        // Lower step in the same round: refused (another proposal after prevoting).
        assert!(matches!(
            g.sign_proposal(5, 0, None, a),
            Err(GuardError::DoubleSignRefused {
                step: SignStep::Proposal,
                same_step: false,
                ..
            })
        ));
        // Same HRS, other block or nil: refused.
        let e = g.sign_vote(VoteKind::Prevote, 5, 0, Some(b)).unwrap_err();
        assert!(
            matches!(
                e,
                GuardError::DoubleSignRefused {
                    same_step: true,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("different message"), "{e}");
        assert!(refused(g.sign_vote(VoteKind::Prevote, 5, 0, None)));
        // Same HRS, same message: the same signature.
        assert_eq!(g.sign_vote(VoteKind::Prevote, 5, 0, Some(a)).unwrap(), v);
        // Forward: precommit, next round, next height.
        g.sign_vote(VoteKind::Precommit, 5, 0, Some(a)).unwrap();
        assert!(refused(g.sign_vote(VoteKind::Prevote, 5, 0, Some(a))));
        g.sign_vote(VoteKind::Prevote, 5, 1, None).unwrap();
        assert!(refused(g.sign_vote(VoteKind::Precommit, 5, 0, Some(a))));
        g.sign_vote(VoteKind::Prevote, 6, 0, Some(b)).unwrap();
        // Lower height, even a higher round: refused.
        assert!(refused(g.sign_vote(VoteKind::Precommit, 5, 9, Some(b))));
        let last = g.last_signed().unwrap();
        assert_eq!(
            (last.height, last.round, last.step),
            (6, 0, SignStep::Prevote)
        );
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("guard.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let a = Hash([1; 32]);
        let v = {
            let mut g = SignGuard::open(&path, CHAIN, signer(1)).unwrap();
            g.sign_vote(VoteKind::Precommit, 10, 2, Some(a)).unwrap()
        };
        let mut g = SignGuard::open(&path, CHAIN, signer(1)).unwrap();
        assert!(refused(g.sign_vote(VoteKind::Precommit, 10, 2, None)));
        assert!(refused(g.sign_vote(VoteKind::Prevote, 10, 2, Some(a))));
        assert!(matches!(
            g.sign_proposal(10, 1, None, a),
            Err(GuardError::DoubleSignRefused { .. })
        ));
        assert_eq!(g.sign_vote(VoteKind::Precommit, 10, 2, Some(a)).unwrap(), v);
        g.sign_vote(VoteKind::Prevote, 10, 3, None).unwrap();
        // Another key cannot take the file over.
        assert!(matches!(
            SignGuard::open(&path, CHAIN, signer(2)),
            Err(GuardError::WrongKey { .. })
        ));
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guard.json");
        {
            let mut g = SignGuard::open(&path, CHAIN, signer(1)).unwrap();
            g.sign_vote(VoteKind::Prevote, 3, 0, None).unwrap();
        }
        let good = std::fs::read_to_string(&path).unwrap();
        for bad in [
            String::new(),
            good[..good.len() / 2].to_string(),
            good.replace("\"height\"", "\"hieght\""),
            good.replace("prevote", "prevoted"),
            "{}".to_string(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            let e = SignGuard::open(&path, CHAIN, signer(1)).unwrap_err();
            assert!(matches!(e, GuardError::Corrupt { .. }), "{bad:?}: {e}");
        }
        // A directory where the file should be is an I/O error, also not a reset.
        let d = dir.path().join("isdir");
        std::fs::create_dir(&d).unwrap();
        assert!(matches!(
            SignGuard::open(&d, CHAIN, signer(1)),
            Err(GuardError::Io { .. })
        ));
    }

    #[test]
    fn write_failure_returns_no_signature() {
        let dir = tempfile::tempdir().unwrap();
        // The parent directory does not exist: persisting fails, so no signature comes back and
        // nothing is remembered.
        let path = dir.path().join("missing").join("guard.json");
        let mut g = SignGuard::open(&path, CHAIN, signer(1)).unwrap();
        assert!(matches!(
            g.sign_vote(VoteKind::Prevote, 1, 0, None),
            Err(GuardError::Io { .. })
        ));
        assert!(g.last_signed().is_none());
    }
}
