//! Reading configuration: TOML files with `BATARA_*` environment overrides, and JSON objects.
//!
//! Owns: the loading rules every component's config shares. Each component owns its own serde
//! struct (`StorageConfig` in `storage`, `MempoolConfig` in `mempool`, `ConsensusConfig` in
//! `consensus`, `P2pConfig` in `p2p`, `RpcConfig` in `rpc`); `node::NodeConfig` gathers them.
//! An override names a field by its TOML path with `__` between levels:
//! `BATARA_RPC__ADDR=127.0.0.1:9000`, `BATARA_MEMPOOL__MAX_TXS=1000`. Its value is read as a TOML
//! value when it parses as one, else as a string. Unknown fields are errors (`deny_unknown_fields`
//! on every struct), so a typo never silently falls back to a default.
//!
//! Must never: name a component (this layer sits below all of them), or hold consensus-critical
//! parameters (block limits live in the genesis, which every node of a chain shares).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

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

/// Reads `path` (TOML), then applies `BATARA_*` overrides from the environment.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    from_toml(&text, &path.display().to_string(), std::env::vars())
}

/// Parses TOML text and applies overrides from `env` (pairs of name and value).
pub fn from_toml<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
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

/// Parses a config given as JSON (the bindings' dicts and objects); same fields and defaults as
/// the TOML file, no environment overrides.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    serde_json::from_str(text).map_err(|e| ConfigError::Invalid {
        origin: "config object".into(),
        reason: e.to_string(),
    })
}

/// The TOML text of a config (what `batara init` writes).
pub fn to_toml<T: Serialize>(v: &T) -> String {
    toml::to_string_pretty(v).expect("config serialises")
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
