//! The node: [`Node::start`] wires storage, the runtime, the mempool, consensus, the network and
//! JSON-RPC together and returns a [`NodeHandle`] — the one API the CLI, the RPC servers and every
//! language binding wrap.
//!
//! Owns: start-up order (open the chain → mempool → engine → network and RPC, which hold only a
//! weak handle), shutdown (explicit [`NodeHandle::stop`], or the last handle dropped), the node's
//! configuration ([`NodeConfig`], gathering every component's own) and home directory layout
//! ([`home`]) and a local network's homes ([`testnet`]). Files: `handle.rs` (the handle and its API
//! groups), `config.rs`, `home.rs`, `testnet.rs`.
//!
//! Must never: hold chain logic. This is the only layer that starts the node's RocksDB store, the
//! libp2p network, the tokio runtimes (`batara-net` for p2p, `batara-rpc` for JSON-RPC) and the
//! RPC server (`api` opens read-only followers only).

pub mod backup;
mod config;
mod handle;
pub mod home;
pub mod testnet;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::sync::broadcast;

pub use config::NodeConfig;
pub use handle::{NodeHandle, WeakNodeHandle};
/// Errors of a block subscription ([`NodeApi::subscribe_blocks`]).
pub use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// The API every binding uses, re-exported where the node hands it out.
pub use crate::api::{
    AccountInfo, AccountPage, BlockId, BlockView, ChainReader, NodeApi, NodeInfo, SubmitResult,
    TxInfo, TxView, ValidatorDetail, ValidatorView,
};
use crate::api::{Error, Result};
use crate::app::{self, genesis, Genesis};
use crate::consensus::{
    BlockSink, Clock, ConsensusEngine, DevEngine, DevMode, FollowerEngine, SystemClock,
};
use crate::crypto::{self, Keypair};
use crate::mempool::Mempool;
use crate::modules::vm::VmModule;
use crate::p2p::P2pHandle;
use crate::rpc::RpcServer;
use crate::runtime::{Chain, CommittedBlock};
use crate::storage::{RocksStore, Storage};
use crate::validator::{LocalSigner, Signer};

/// A subscription to committed blocks ([`NodeApi::subscribe_blocks`]).
pub type BlockReceiver = broadcast::Receiver<CommittedBlock>;

/// Everything [`Node::start`] needs.
pub struct NodeOptions {
    /// Configuration.
    pub config: NodeConfig,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// This node's validator key, if it has one.
    pub validator_key: Option<Keypair>,
}

/// The most funded accounts a dev chain has ([`DevOptions::accounts`]); more is `InvalidInput`.
/// Each one is a key derivation and a genesis entry at start, so an out-of-range count (a negative
/// number wrapped to 2³²−1 by a binding) would otherwise exhaust memory instead of failing.
pub const MAX_DEV_ACCOUNTS: u32 = 10_000;

/// Options of [`Node::dev`]: a one-validator chain with funded, well-known accounts.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// Chain id.
    pub chain_id: String,
    /// Number of funded accounts ([`genesis::dev_account_key`]), at most [`MAX_DEV_ACCOUNTS`].
    pub accounts: u32,
    /// Block mode.
    pub mode: DevMode,
    /// Interval for [`DevMode::Interval`].
    pub block_time_ms: u64,
    /// Data directory; `None` keeps the chain in memory.
    pub data_dir: Option<PathBuf>,
    /// Serve JSON-RPC here (port 0 picks a free port); `None` serves none.
    pub rpc_addr: Option<SocketAddr>,
}

impl Default for DevOptions {
    fn default() -> Self {
        Self {
            chain_id: "batara-dev".into(),
            accounts: 10,
            mode: DevMode::Auto,
            block_time_ms: 1_000,
            data_dir: None,
            rpc_addr: None,
        }
    }
}

/// Starts nodes.
pub struct Node;

/// The running parts of a node, shared by its handles.
struct Inner {
    genesis: Genesis,
    /// Where JSON-RPC `node_backup` writes (`backup_dir`).
    backup_dir: Option<PathBuf>,
    chain: Arc<Chain>,
    reader: ChainReader,
    mempool: Arc<Mempool>,
    sink: Arc<BlockSink>,
    engine: Box<dyn ConsensusEngine>,
    blocks: broadcast::Sender<CommittedBlock>,
    /// Set once while starting (the network and RPC need a weak handle to the node first).
    p2p: OnceLock<P2pHandle>,
    rpc: Mutex<Option<RpcServer>>,
    rpc_addr: OnceLock<SocketAddr>,
    /// The network's runtime (`batara-net`).
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    /// JSON-RPC's own runtime (`batara-rpc`): RPC load never delays consensus or p2p tasks.
    rpc_runtime: Mutex<Option<tokio::runtime::Runtime>>,
    stopped: AtomicBool,
}

impl Inner {
    fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(target: "batara::node", "stopping");
        if let Some(rpc) = self.rpc.lock().take() {
            rpc.stop();
        }
        if let Some(p2p) = self.p2p.get() {
            p2p.stop();
        }
        self.engine.stop();
        self.sink.close();
        for rt in [&self.rpc_runtime, &self.runtime] {
            if let Some(rt) = rt.lock().take() {
                rt.shutdown_background();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// This node's network identity: the key file `p2p.node_key` names (generated there if
/// missing), else a new random one.
fn network_identity(config: &NodeConfig) -> Result<libp2p::identity::Keypair> {
    let key = match &config.p2p.node_key {
        Some(path) if path.exists() => crate::validator::read_key_file(path)?,
        Some(path) => {
            let k = Keypair::generate().map_err(|e| Error::InvalidInput(e.to_string()))?;
            crate::validator::write_key_file(path, &k)?;
            k
        }
        None => Keypair::generate().map_err(|e| Error::InvalidInput(e.to_string()))?,
    };
    Ok(crate::p2p::identity_from_seed(key.seed()))
}

/// Opens the store the config names: RocksDB in `<data_dir>/db`, or in memory.
fn open_store(config: &NodeConfig) -> Result<Arc<dyn Storage>> {
    if config.storage.ephemeral {
        return Ok(Arc::new(RocksStore::ephemeral(&config.storage)?));
    }
    let dir = config.data_dir.clone().ok_or_else(|| {
        Error::InvalidInput("data_dir is required unless storage.ephemeral is set".into())
    })?;
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    Ok(Arc::new(RocksStore::open(
        &dir.join("db"),
        &config.storage,
    )?))
}

/// The mempool of `chain`; a transaction larger than a block, or paying less than the chain's
/// minimum fee, could never be included, so it is refused at the door (the consensus engine
/// keeps the pool on the rules in force after every block).
fn open_mempool(chain: &Chain, config: &NodeConfig) -> Mempool {
    let pool = Mempool::new(
        config.mempool.clone(),
        chain.spec().chain_id.clone(),
        Arc::new(chain.registry().clone()),
    );
    let rules = chain.rules().unwrap_or_else(|_| chain.spec().rules.clone());
    pool.follow_rules(rules.min_fee, rules.max_block_bytes);
    pool
}

/// A multi-threaded tokio runtime of two workers named `name`.
fn runtime(name: &str, what: &str) -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            context: format!("starting the {what} runtime"),
            source,
        })
}

/// The tokio runtimes of the network (`batara-net`) and of JSON-RPC (`batara-rpc`), each only
/// when enabled: RPC has its own threads, so a flood of calls cannot delay consensus messages.
struct Runtimes {
    net: Option<tokio::runtime::Runtime>,
    rpc: Option<tokio::runtime::Runtime>,
}

fn net_runtime(config: &NodeConfig) -> Result<Runtimes> {
    Ok(Runtimes {
        net: match config.p2p.enabled {
            true => Some(runtime("batara-net", "network")?),
            false => None,
        },
        rpc: match config.rpc.enabled {
            true => Some(runtime("batara-rpc", "JSON-RPC")?),
            false => None,
        },
    })
}

impl Node {
    /// Starts a node: opens (or creates) its chain, starts consensus and, if enabled, the network
    /// and JSON-RPC.
    pub fn start(opts: NodeOptions) -> Result<NodeHandle> {
        let NodeOptions {
            config,
            genesis,
            validator_key,
        } = opts;
        genesis.validate()?;
        let chain = Arc::new(app::open_chain(open_store(&config)?, &genesis)?);
        // Dev chains keep traces for `vm_traceTransaction`, as Anvil does.
        if let Some(vm) = chain.registry().module::<VmModule>() {
            vm.keep_traces(genesis.dev && config.consensus.keep_traces);
        }
        let mempool = Arc::new(open_mempool(&chain, &config));
        let (blocks, _) = broadcast::channel(1024);
        let sink = Arc::new(BlockSink::new(
            chain.clone(),
            mempool.clone(),
            blocks.clone(),
        ));
        let (outbox, consensus_out) = if config.p2p.enabled {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let engine = Self::engine(&chain, &sink, validator_key, genesis.dev, &config, outbox)?;
        let head = chain.head();
        tracing::info!(target: "batara::node", chain_id = %chain.spec().chain_id, height = head.header.height, hash = %head.hash, "node started");
        let runtime = net_runtime(&config)?;
        let network_key = if config.p2p.enabled {
            Some(network_identity(&config)?)
        } else {
            None
        };
        let inner = Arc::new(Inner {
            genesis,
            backup_dir: config.backup_dir.clone(),
            reader: ChainReader::new(chain.clone()),
            chain,
            mempool,
            sink,
            engine,
            blocks,
            p2p: OnceLock::new(),
            rpc: Mutex::new(None),
            rpc_addr: OnceLock::new(),
            runtime: Mutex::new(None),
            rpc_runtime: Mutex::new(None),
            stopped: AtomicBool::new(false),
        });
        let node = NodeHandle { inner };
        let served = Self::serve(&node, &runtime, &config, network_key, consensus_out);
        *node.inner.runtime.lock() = runtime.net;
        *node.inner.rpc_runtime.lock() = runtime.rpc;
        if let Err(e) = served {
            node.stop();
            return Err(e);
        }
        Ok(node)
    }

    /// Joins the network and serves JSON-RPC, each on its own runtime, both holding only a weak
    /// handle of `node`.
    fn serve(
        node: &NodeHandle,
        runtimes: &Runtimes,
        config: &NodeConfig,
        network_key: Option<libp2p::identity::Keypair>,
        consensus_out: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>>,
    ) -> Result<()> {
        let inner = &node.inner;
        if let (Some(rt), Some(key)) = (&runtimes.net, network_key) {
            let p2p = crate::p2p::start(
                rt.handle(),
                &config.p2p,
                key,
                inner.sink.clone(),
                inner.blocks.subscribe(),
                consensus_out,
                Arc::new(node.downgrade()),
            )?;
            let _ = inner.p2p.set(p2p);
        }
        if let Some(rt) = &runtimes.rpc {
            // Local pages may drive a dev chain (its node or a follower), as Anvil's.
            let dev = inner.genesis.dev;
            let (server, addr) = RpcServer::start(rt.handle(), &config.rpc, node.downgrade(), dev)?;
            tracing::info!(target: "batara::node", %addr, dev, "JSON-RPC listening");
            *inner.rpc.lock() = Some(server);
            let _ = inner.rpc_addr.set(addr);
        }
        Ok(())
    }

    /// Picks the engine. A dev chain ([`Genesis::dev`]) runs the dev engine on the node holding
    /// its validator's key and the follower engine on the network's other nodes. Every other
    /// chain runs the BFT engine — voting with a validator key, following without — even with one
    /// validator, as CometBFT does: a lone validator decides each block alone (its own votes are
    /// more than 2/3), and one that joins later only needs the network to vote too.
    fn engine(
        chain: &Arc<Chain>,
        sink: &Arc<BlockSink>,
        key: Option<Keypair>,
        dev: bool,
        config: &NodeConfig,
        outbox: Option<crate::consensus::bft::Outbox>,
    ) -> Result<Box<dyn ConsensusEngine>> {
        let validators = chain.validators()?;
        if dev {
            return match key {
                Some(k) if validators.len() == 1 && validators[0].pubkey == k.public_key() => {
                    Ok(Box::new(DevEngine::start(
                        sink.clone(),
                        Box::new(LocalSigner(k)),
                        Box::new(SystemClock),
                        &config.consensus,
                    )))
                }
                None if outbox.is_some() => Ok(Box::new(FollowerEngine)),
                _ => Err(Error::InvalidInput(format!(
                    "no consensus engine for this dev chain: the dev engine needs the key of its only \
                     validator ({} validators), and a node without a key must join a network to \
                     follow it (p2p.enabled)",
                    validators.len()
                ))),
            };
        }
        let outbox = match outbox {
            Some(o) => o,
            // A lone validator needs no network: its messages go nowhere and come back to it.
            None if validators.len() == 1
                && key
                    .as_ref()
                    .is_some_and(|k| validators[0].pubkey == k.public_key()) =>
            {
                tokio::sync::mpsc::unbounded_channel().0
            }
            None => {
                return Err(Error::InvalidInput(format!(
                    "this chain has {} validator(s) and this node cannot commit blocks alone: \
                     enable p2p (p2p.enabled, p2p.bootnodes) to join the network",
                    validators.len()
                )))
            }
        };
        // A validator's guard and WAL must outlive the process, or a restart could sign what it
        // signed before (or forget its lock): they live in the data directory in every storage
        // mode. Only a lone validator with no network (its chain is its own) may go without.
        let (guard_path, wal_path) =
            match (&config.data_dir, &key) {
                (Some(d), _) => (d.join("sign_state.json"), d.join("consensus.wal")),
                (None, Some(_)) if config.p2p.enabled => return Err(Error::InvalidInput(
                    "a validator of a network needs a data directory (data_dir; storage.ephemeral \
                     may stay on): its double-sign guard and consensus WAL must survive restarts"
                        .into(),
                )),
                (None, _) => {
                    let tag = crypto::sha256(&SystemClock.now_ms().to_le_bytes());
                    let tmp = std::env::temp_dir();
                    let pid = std::process::id();
                    (
                        tmp.join(format!("batara-sign-state-{pid}-{tag}.json")),
                        tmp.join(format!("batara-consensus-{pid}-{tag}.wal")),
                    )
                }
            };
        let engine = crate::consensus::bft::BftEngine::start(
            sink.clone(),
            crate::consensus::bft::BftSetup {
                signer: key.map(|k| Arc::new(LocalSigner(k)) as Arc<dyn Signer>),
                guard_path,
                wal_path,
                timeouts: config.consensus.bft.clone(),
                clock: Box::new(SystemClock),
                outbox,
            },
        )
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
        Ok(Box::new(engine))
    }

    /// Starts a dev chain: [`DevOptions::accounts`] funded accounts ([`genesis::dev_account_key`]),
    /// the well-known dev validator, in memory unless a data directory is given.
    ///
    /// ```
    /// use batara_core::api::NodeApi;
    /// use batara_core::app::genesis::dev_account_key;
    /// use batara_core::node::{DevOptions, Node};
    ///
    /// let node = Node::dev(DevOptions::default())?; // in memory, a block as soon as txs wait
    /// let (alice, bob) = (dev_account_key(0), dev_account_key(1));
    /// let hash = node.transfer(&alice, bob.address(), 1_000, 1, true)?; // waits for the commit
    /// assert_eq!(node.transaction(&hash)?.receipt.fee, 1);
    /// node.stop();
    /// # Ok::<(), batara_core::Error>(())
    /// ```
    pub fn dev(opts: DevOptions) -> Result<NodeHandle> {
        if opts.accounts > MAX_DEV_ACCOUNTS {
            return Err(Error::InvalidInput(format!(
                "accounts must be at most {MAX_DEV_ACCOUNTS}, got {}",
                opts.accounts
            )));
        }
        let validator = genesis::dev_validator_key();
        let genesis = Genesis::dev(&opts.chain_id, opts.accounts, validator.public_key(), 0);
        let mut config = NodeConfig::default();
        config.storage.ephemeral = opts.data_dir.is_none();
        config.storage.sync_writes = false;
        config.data_dir = opts.data_dir;
        config.consensus.mode = opts.mode;
        config.consensus.block_time_ms = opts.block_time_ms;
        match opts.rpc_addr {
            Some(a) => config.rpc.addr = a,
            None => config.rpc.enabled = false,
        }
        Node::start(NodeOptions {
            config,
            genesis,
            validator_key: Some(validator),
        })
    }
}
