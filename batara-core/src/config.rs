//! Node configuration: one serde struct per component, gathered in [`NodeConfig`].
//!
//! Owns: defaults, reading `config.toml`, and `BATARA_*` environment overrides. An override names a
//! field by its TOML path with `__` between levels: `BATARA_RPC__ADDR=127.0.0.1:9000`,
//! `BATARA_MEMPOOL__MAX_TXS=1000`. Its value is read as a TOML value when it parses as one, else as
//! a string. Unknown fields are errors, so a typo never silently falls back to a default.
//!
//! Must never: hold consensus-critical parameters (block limits live in the genesis, which every
//! node of a chain shares).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// TOML syntax error or a field of the wrong type.
    #[error("invalid config {origin}: {reason}")]
    Invalid {
        /// Where the config came from.
        origin: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Storage settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Keep everything in memory (RocksDB's in-memory environment); nothing survives the process.
    pub ephemeral: bool,
    /// fsync each committed block (survives power loss, not only a killed process).
    pub sync_writes: bool,
    /// Block cache size in MiB.
    pub cache_mb: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            ephemeral: false,
            sync_writes: true,
            cache_mb: 128,
        }
    }
}

/// Mempool limits. Defaults follow CometBFT's spirit (1 MB per tx) with room for the
/// `batara bench` load (tens of thousands of pending transfers).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (sum of transaction sizes).
    pub max_bytes: usize,
    /// Largest transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// Most transactions held for one sender.
    pub max_per_sender: usize,
    /// How far past the sender's next nonce a transaction may be (future queue).
    pub max_nonce_gap: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_bytes: 64 << 20,
            max_tx_bytes: 1 << 20,
            max_per_sender: 1_000,
            max_nonce_gap: 1_000,
        }
    }
}

/// JSON-RPC server settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// Serve JSON-RPC at all.
    pub enabled: bool,
    /// HTTP and WebSocket address (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most concurrent connections.
    pub max_connections: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            max_request_bytes: 4 << 20,
            max_response_bytes: 32 << 20,
            max_connections: 256,
        }
    }
}

/// When the dev engine makes blocks.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DevMode {
    /// A block as soon as transactions wait.
    Auto,
    /// A block every `block_time_ms`, even when empty.
    Interval,
    /// Only on `dev_mine`.
    Manual,
}

impl std::str::FromStr for DevMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DevMode::Auto),
            "interval" => Ok(DevMode::Interval),
            "manual" => Ok(DevMode::Manual),
            other => Err(format!(
                "mode must be 'auto', 'interval' or 'manual', got {other:?}"
            )),
        }
    }
}

/// Consensus engine settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    /// Dev engine block mode.
    pub mode: DevMode,
    /// Block interval for `interval` mode, in milliseconds.
    pub block_time_ms: u64,
    /// BFT engine timeouts (`commit_ms` is the block interval of a healthy network).
    pub bft: crate::consensus::bft::BftTimeouts,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        Self {
            mode: DevMode::Auto,
            block_time_ms: 1_000,
            bft: Default::default(),
        }
    }
}

/// Everything a node needs besides its genesis and key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Human-readable node name.
    pub moniker: String,
    /// Data directory (RocksDB lives in `<data_dir>/db`). Unset with `storage.ephemeral`.
    pub data_dir: Option<PathBuf>,
    /// Storage.
    pub storage: StorageConfig,
    /// Mempool.
    pub mempool: MempoolConfig,
    /// JSON-RPC.
    pub rpc: RpcConfig,
    /// Consensus.
    pub consensus: ConsensusConfig,
    /// Peer-to-peer network.
    pub p2p: crate::p2p::P2pConfig,
}

impl NodeConfig {
    /// Reads `path` (TOML), then applies `BATARA_*` overrides from the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses TOML text and applies overrides from `env` (pairs of name and value).
    pub fn from_toml(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            reason,
        };
        let mut value: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        for (name, raw) in env {
            let Some(path) = name.strip_prefix("BATARA_") else {
                continue;
            };
            // BATARA_HOME and friends are CLI settings, not config fields.
            if !path.contains("__") && !matches!(path, "MONIKER" | "DATA_DIR") {
                continue;
            }
            let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
            let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(raw.clone()));
            set_path(&mut value, &keys, parsed).map_err(|r| invalid(format!("{name}: {r}")))?;
        }
        toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))
    }

    /// Parses a config given as JSON (the bindings' dicts and objects); same fields and defaults
    /// as the TOML file, no environment overrides.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Invalid {
            origin: "config object".into(),
            reason: e.to_string(),
        })
    }

    /// The TOML text of this config (what `batara init` writes).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], v: toml::Value) -> Result<(), String> {
    match keys {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), v);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, v),
                _ => Err(format!("{first} is not a section")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_overrides() {
        let c = NodeConfig::default();
        let back = NodeConfig::from_toml(&c.to_toml(), "t", []).unwrap();
        assert_eq!(back, c);
        let env = vec![
            ("BATARA_RPC__ADDR".to_string(), "127.0.0.1:9999".to_string()),
            ("BATARA_MEMPOOL__MAX_TXS".to_string(), "7".to_string()),
            ("BATARA_CONSENSUS__MODE".to_string(), "manual".to_string()),
            ("BATARA_HOME".to_string(), "/x".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = NodeConfig::from_toml("[storage]\nsync_writes = false\n", "t", env).unwrap();
        assert_eq!(c.rpc.addr.port(), 9999);
        assert_eq!(c.mempool.max_txs, 7);
        assert_eq!(c.consensus.mode, DevMode::Manual);
        assert!(!c.storage.sync_writes);
        assert_eq!(c.storage.cache_mb, StorageConfig::default().cache_mb);
    }

    #[test]
    fn json_configs_use_the_same_fields() {
        let c =
            NodeConfig::from_json(r#"{"rpc": {"enabled": false}, "storage": {"ephemeral": true}}"#)
                .unwrap();
        assert!(!c.rpc.enabled && c.storage.ephemeral);
        assert_eq!(c.mempool, MempoolConfig::default());
        assert!(NodeConfig::from_json(r#"{"rpcc": {}}"#)
            .unwrap_err()
            .to_string()
            .contains("rpcc"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = NodeConfig::from_toml("[mempool]\nmax_txz = 1\n", "cfg.toml", [])
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_txz") && e.contains("cfg.toml"), "{e}");
        let e = NodeConfig::from_toml("", "t", [("BATARA_MEMPOOL__MAX_TXS".into(), "lots".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_txs") || e.contains("invalid type"), "{e}");
    }
}
