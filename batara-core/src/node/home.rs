//! A node's home directory: its file names, its data directory, and reading it.
//!
//! Owns: the layout `batara init` and `batara dev --home` write (`config.toml`, `genesis.json`,
//! `validator_key.json`, `node_key.json`, `data/`), [`NodeOptions::from_home`], and
//! [`open_reader`] — a running node's chain opened read-only through its home.
//!
//! Must never: write into a home (the CLI's `init` and `dev` do).

use std::path::{Path, PathBuf};

use crate::api::{ChainReader, Result};
use crate::app::Genesis;

use super::config::NodeConfig;
use super::NodeOptions;

/// The node configuration (TOML).
pub const CONFIG: &str = "config.toml";
/// The genesis (JSON).
pub const GENESIS: &str = "genesis.json";
/// The validator key file (mode 0600).
pub const VALIDATOR_KEY: &str = "validator_key.json";
/// The network identity key file (mode 0600; its public key is the peer id).
pub const NODE_KEY: &str = "node_key.json";
/// Default data directory, relative to the home.
pub const DATA: &str = "data";

/// The data directory of the home `dir` with configuration `config`: its `data_dir` (a
/// relative one resolved against the home), else `<dir>/data`.
pub fn data_dir(dir: &Path, config: &NodeConfig) -> PathBuf {
    match &config.data_dir {
        Some(d) if d.is_relative() => dir.join(d),
        Some(d) => d.clone(),
        None => dir.join(DATA),
    }
}

/// Opens the chain of the node home `dir` (as written by `batara init` or `batara dev --home`)
/// read-only; the node may be running. Call [`ChainReader::refresh`] to see newer blocks.
pub fn open_reader(dir: &Path) -> Result<ChainReader> {
    let config = NodeConfig::load(&dir.join(CONFIG))?;
    let genesis = Genesis::load(&dir.join(GENESIS))?;
    ChainReader::open_data_dir(&data_dir(dir, &config), genesis)
}

impl NodeOptions {
    /// Reads a home directory: `config.toml` (with `BATARA_*` overrides; a relative `data_dir` is
    /// resolved against the home), `genesis.json`, and `validator_key.json` if present.
    pub fn from_home(dir: &Path) -> Result<Self> {
        let mut config = NodeConfig::load(&dir.join(CONFIG))?;
        config.data_dir = Some(data_dir(dir, &config));
        config.backup_dir = config.backup_dir.map(|b| dir.join(b));
        config.p2p.node_key = Some(match config.p2p.node_key.take() {
            Some(k) if k.is_relative() => dir.join(k),
            Some(k) => k,
            None => dir.join(NODE_KEY),
        });
        let genesis = Genesis::load(&dir.join(GENESIS))?;
        let key_path = dir.join(VALIDATOR_KEY);
        let validator_key = if key_path.exists() {
            Some(crate::validator::read_key_file(&key_path)?)
        } else {
            None
        };
        Ok(Self {
            config,
            genesis,
            validator_key,
        })
    }
}
