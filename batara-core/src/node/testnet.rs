//! A local network's homes: what `batara testnet` writes and `batara bench flood` runs.
//!
//! Owns: the testnet layout — one genesis (the well-known dev accounts and each validator's own
//! account funded, `params.min_fee` = [`genesis::DEFAULT_MIN_FEE`], every validator bonded with
//! [`genesis::GENESIS_VALIDATOR_POWER`]) and, per node, `config.toml` (RPC on `rpc_port + i`,
//! p2p on `p2p_port + i` on loopback, the others as bootnodes), `validator_key.json` and
//! `node_key.json`, in `<out>/node<i>`.
//!
//! Must never: overwrite a file (an existing one is an error), or start a node.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::api::{Error, Result};
use crate::app::genesis::{self, Genesis, GenesisAccount, GenesisValidator};
use crate::crypto::Keypair;
use crate::types::Address;
use crate::validator::write_key_file;

use super::config::NodeConfig;
use super::home::{CONFIG, DATA, GENESIS, NODE_KEY, VALIDATOR_KEY};

/// What [`write_testnet`] writes.
#[derive(Clone, Debug)]
pub struct TestnetSpec {
    /// Number of validators (at least 1).
    pub validators: u8,
    /// Directory to write `node0`, `node1`, … into.
    pub out: PathBuf,
    /// Chain id.
    pub chain_id: String,
    /// P2P port of node0 (node i listens on this + i).
    pub p2p_port: u16,
    /// JSON-RPC port of node0 (node i serves on this + i).
    pub rpc_port: u16,
    /// Funded well-known dev accounts ([`genesis::dev_account_key`]).
    pub accounts: u32,
    /// Block interval of a healthy network, ms (the BFT commit wait).
    pub block_time_ms: u64,
    /// More genesis accounts, after the dev and validator accounts (`batara testnet` adds none).
    pub extra_accounts: Vec<GenesisAccount>,
}

/// One node of a written testnet.
#[derive(Clone, Debug)]
pub struct TestnetNode {
    /// Its home directory.
    pub home: PathBuf,
    /// Its validator's address.
    pub validator: Address,
    /// Its JSON-RPC address.
    pub rpc: SocketAddr,
    /// Its p2p multiaddress (with the peer id).
    pub p2p: String,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn io(context: String, source: std::io::Error) -> Error {
    Error::Io { context, source }
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Err(io(
            format!("writing {}", path.display()),
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; refusing to overwrite",
            ),
        ));
    }
    std::fs::write(path, text).map_err(|e| io(format!("writing {}", path.display()), e))
}

fn new_key() -> Result<Keypair> {
    Keypair::generate().map_err(|e| io("generating a key".into(), std::io::Error::other(e)))
}

/// Writes the homes of a local network (fresh keys, one genesis). Bad parameters (no validators,
/// a port past 65535, an invalid genesis) are [`Error::InvalidInput`] / [`Error::Genesis`].
pub fn write_testnet(t: &TestnetSpec) -> Result<Vec<TestnetNode>> {
    if t.validators == 0 {
        return Err(Error::InvalidInput(
            "--validators must be at least 1".into(),
        ));
    }
    let n = usize::from(t.validators);
    let port = |base: u16, i: usize| -> Result<u16> {
        base.checked_add(i as u16)
            .ok_or_else(|| Error::InvalidInput(format!("port {base} + {i} is past 65535")))
    };
    let keys: Vec<Keypair> = (0..n).map(|_| new_key()).collect::<Result<_>>()?;
    let node_keys: Vec<Keypair> = (0..n).map(|_| new_key()).collect::<Result<_>>()?;
    let peer_addrs: Vec<String> = node_keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let peer = crate::p2p::identity_from_seed(k.seed())
                .public()
                .to_peer_id();
            Ok(format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{peer}",
                port(t.p2p_port, i)?
            ))
        })
        .collect::<Result<_>>()?;
    let mut accounts: Vec<GenesisAccount> = (0..t.accounts)
        .map(|i| GenesisAccount {
            address: genesis::dev_account_key(i).address(),
            balance: genesis::DEV_BALANCE,
        })
        .collect();
    // Validators' own accounts get coins too, to pay for staking transactions.
    accounts.extend(keys.iter().map(|k| GenesisAccount {
        address: k.address(),
        balance: genesis::DEV_BALANCE,
    }));
    accounts.extend(t.extra_accounts.iter().cloned());
    let genesis = Genesis {
        chain_id: t.chain_id.clone(),
        genesis_time: now_ms(),
        params: genesis::ChainParams {
            min_fee: genesis::DEFAULT_MIN_FEE,
            min_gas_price: genesis::DEFAULT_MIN_GAS_PRICE,
            ..Default::default()
        },
        accounts,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator {
                pubkey: k.public_key(),
                power: genesis::GENESIS_VALIDATOR_POWER,
                name: format!("node{i}"),
            })
            .collect(),
        dev: false,
    };
    genesis.validate()?;
    let mut nodes = Vec::new();
    for i in 0..n {
        let home = t.out.join(format!("node{i}"));
        std::fs::create_dir_all(&home)
            .map_err(|e| io(format!("creating {}", home.display()), e))?;
        let mut config = NodeConfig {
            moniker: format!("node{i}"),
            data_dir: Some(DATA.into()),
            ..Default::default()
        };
        config.rpc.addr = SocketAddr::from(([127, 0, 0, 1], port(t.rpc_port, i)?));
        config.p2p.enabled = true;
        config.p2p.listen = SocketAddr::from(([127, 0, 0, 1], port(t.p2p_port, i)?));
        config.p2p.node_key = Some(NODE_KEY.into());
        config.p2p.bootnodes = peer_addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| a.clone())
            .collect();
        config.consensus.bft.commit_ms = t.block_time_ms;
        write_new(&home.join(CONFIG), &config.to_toml())?;
        write_new(&home.join(GENESIS), &genesis.to_json())?;
        write_key_file(&home.join(VALIDATOR_KEY), &keys[i])?;
        write_key_file(&home.join(NODE_KEY), &node_keys[i])?;
        nodes.push(TestnetNode {
            home,
            validator: keys[i].address(),
            rpc: config.rpc.addr,
            p2p: peer_addrs[i].clone(),
        });
    }
    Ok(nodes)
}
