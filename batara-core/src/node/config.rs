//! The node's configuration: every component's own config struct, gathered.
//!
//! Owns: [`NodeConfig`] (the `config.toml` a node home holds) and its defaults. The loading rules
//! (TOML, `BATARA_*` overrides, JSON from the bindings) are `crate::config`'s.
//!
//! Must never: redefine a component's settings here; a component's fields live with it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{self, ConfigError};
use crate::consensus::ConsensusConfig;
use crate::mempool::MempoolConfig;
use crate::p2p::P2pConfig;
use crate::rpc::RpcConfig;
use crate::storage::StorageConfig;

/// Everything a node needs besides its genesis and key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Human-readable node name.
    pub moniker: String,
    /// Data directory (RocksDB lives in `<data_dir>/db`). Unset with `storage.ephemeral`.
    pub data_dir: Option<PathBuf>,
    /// Where JSON-RPC `node_backup` writes its checkpoints (a relative path is resolved against
    /// the home). Unset: `node_backup` is off (embedded callers name a directory each time).
    pub backup_dir: Option<PathBuf>,
    /// Storage.
    pub storage: StorageConfig,
    /// Mempool.
    pub mempool: MempoolConfig,
    /// JSON-RPC.
    pub rpc: RpcConfig,
    /// Consensus.
    pub consensus: ConsensusConfig,
    /// Peer-to-peer network.
    pub p2p: P2pConfig,
}

impl NodeConfig {
    /// Reads `path` (TOML), then applies `BATARA_*` overrides from the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        config::load_toml(path)
    }

    /// Parses TOML text and applies overrides from `env` (pairs of name and value).
    pub fn from_toml(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        config::from_toml(text, origin, env)
    }

    /// Parses a config given as JSON (the bindings' dicts and objects); same fields and defaults
    /// as the TOML file, no environment overrides.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        config::from_json(text)
    }

    /// The TOML text of this config (what `batara init` writes).
    pub fn to_toml(&self) -> String {
        config::to_toml(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::DevMode;

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
