//! Validator keys: key files on disk and the signer the consensus engine signs with.
//!
//! Owns: the key file format (JSON with the 32-byte RFC 8032 seed, written with mode 0600 and never
//! overwritten), and the [`Signer`] seam, so a remote signer or HSM can replace [`LocalSigner`].
//!
//! Must never: log or return a secret seed except to write the key file, or write a key file that
//! other users can read.

pub mod guard;

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::crypto::Keypair;
use crate::types::{Address, PublicKey, Signature};

/// Key file errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("key file {path}: {reason}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
    /// The file is not a valid key file.
    #[error("key file {path} is invalid: {reason}")]
    Invalid {
        /// File.
        path: String,
        /// Cause.
        reason: String,
    },
}

/// The JSON of a key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    address: Address,
    public_key: PublicKey,
    secret_seed: String,
}

/// Writes `key` to `path` (mode 0600). Refuses to overwrite an existing file.
pub fn write_key_file(path: &Path, key: &Keypair) -> Result<(), KeyError> {
    let io = |e: std::io::Error| KeyError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
    }
    let body = KeyFile {
        kind: "ed25519".into(),
        address: key.address(),
        public_key: key.public_key(),
        secret_seed: format!("0x{}", hex::encode(key.seed())),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    let text = serde_json::to_string_pretty(&body).expect("key file serialises");
    f.write_all(text.as_bytes()).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a key file, checking that its address and public key match its seed.
pub fn read_key_file(path: &Path) -> Result<Keypair, KeyError> {
    let p = path.display().to_string();
    let invalid = |reason: String| KeyError::Invalid {
        path: p.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io {
        path: p.clone(),
        reason: e.to_string(),
    })?;
    let kf: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if kf.kind != "ed25519" {
        return Err(invalid(format!("unsupported key type {:?}", kf.kind)));
    }
    let seed_hex = kf.secret_seed.strip_prefix("0x").unwrap_or(&kf.secret_seed);
    let seed: [u8; 32] = hex::decode(seed_hex)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| invalid("secret_seed must be 32 bytes of hex".into()))?;
    let key = Keypair::from_seed(&seed);
    if key.public_key() != kf.public_key || key.address() != kf.address {
        return Err(invalid(
            "public_key or address does not match secret_seed".into(),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                tracing::warn!(target: "batara::validator", path = %p, "key file is readable by other users; chmod 600 it");
            }
        }
    }
    Ok(key)
}

/// Signs consensus messages. Implementations are `Send + Sync`.
pub trait Signer: Send + Sync {
    /// The validator's public key.
    fn public_key(&self) -> PublicKey;
    /// Signs a message.
    fn sign(&self, message: &[u8]) -> Signature;
    /// The validator's address.
    fn address(&self) -> Address {
        self.public_key().address()
    }
}

/// A signer holding the key in memory.
pub struct LocalSigner(pub Keypair);

impl Signer for LocalSigner {
    fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let k = Keypair::from_seed(&[5; 32]);
        write_key_file(&path, &k).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(read_key_file(&path).unwrap().seed(), k.seed());
        assert!(write_key_file(&path, &Keypair::from_seed(&[6; 32])).is_err());
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(&hex::encode([5u8; 32]), &hex::encode([6u8; 32]));
        std::fs::write(&path, text).unwrap();
        assert!(read_key_file(&path)
            .unwrap_err()
            .to_string()
            .contains("does not match"));
    }
}
