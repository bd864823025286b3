//! The node: [`Node::start`] wires storage, state, mempool, consensus and RPC together and returns
//! a [`NodeHandle`] — the one API the CLI, the RPC servers and every language binding wrap.
//!
//! Owns: start-up order, shutdown (explicit [`NodeHandle::stop`], or the last handle dropped), the
//! transaction submission path (decode → size/chain checks → batch signature verification on all
//! cores → mempool), waiting for a transaction to commit, and the read API.
//!
//! Must never: hold a lock across a wait, or let a binding reach into the chain other than through
//! this handle. RPC holds only a weak reference, so dropping every `NodeHandle` stops the node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Errors of a block subscription ([`NodeHandle::subscribe_blocks`]).
pub use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// A subscription to committed blocks ([`NodeHandle::subscribe_blocks`]).
pub type BlockReceiver = broadcast::Receiver<CommittedBlock>;

use crate::chain::{Chain, CommittedBlock};
use crate::config::{DevMode, NodeConfig};
use crate::consensus::{
    BlockSink, Clock, ConsensusEngine, ConsensusError, DevControls, DevEngine, FollowerEngine,
    MessageVerdict, SystemClock,
};
use crate::crypto::{self, BatchItem, Keypair};
use crate::error::{Error, Result};
use crate::genesis::{self, Genesis};
use crate::mempool::{Mempool, PoolStats, PoolTx, Rejection};
use crate::p2p::{NetworkHost, P2pHandle};
/// The read-side views, re-exported where the node API uses them.
pub use crate::reader::{
    AccountInfo, AccountPage, BlockId, BlockView, ChainReader, TxInfo, TxView, ValidatorDetail,
    ValidatorView,
};
use crate::state::AccountProof;
use crate::storage::{RocksStore, Storage};
use crate::types::{
    dec_u64, Address, Amount, Hash, Header, Receipt, SignedTransaction, TxBody, TxKind,
};
use crate::validator::{LocalSigner, Signer};

/// Everything [`Node::start`] needs.
pub struct NodeOptions {
    /// Configuration.
    pub config: NodeConfig,
    /// The chain's genesis.
    pub genesis: Genesis,
    /// This node's validator key, if it has one.
    pub validator_key: Option<Keypair>,
}

/// File names in a node's home directory (written by `batara init` and `batara dev`).
pub mod home {
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
    pub fn data_dir(
        dir: &std::path::Path,
        config: &crate::config::NodeConfig,
    ) -> std::path::PathBuf {
        match &config.data_dir {
            Some(d) if d.is_relative() => dir.join(d),
            Some(d) => d.clone(),
            None => dir.join(DATA),
        }
    }
}

impl NodeOptions {
    /// Reads a home directory: `config.toml` (with `BATARA_*` overrides; a relative `data_dir` is
    /// resolved against the home), `genesis.json`, and `validator_key.json` if present.
    pub fn from_home(dir: &std::path::Path) -> Result<Self> {
        let mut config = NodeConfig::load(&dir.join(home::CONFIG))?;
        config.data_dir = Some(home::data_dir(dir, &config));
        config.p2p.node_key = Some(match config.p2p.node_key.take() {
            Some(k) if k.is_relative() => dir.join(k),
            Some(k) => k,
            None => dir.join(home::NODE_KEY),
        });
        let genesis = Genesis::load(&dir.join(home::GENESIS))?;
        let key_path = dir.join(home::VALIDATOR_KEY);
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

/// Options of [`Node::dev`]: a one-validator chain with funded, well-known accounts.
#[derive(Clone, Debug)]
pub struct DevOptions {
    /// Chain id.
    pub chain_id: String,
    /// Number of funded accounts ([`genesis::dev_account_key`]).
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

/// What `node_info` reports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// Chain id.
    pub chain_id: String,
    /// Software version.
    pub version: String,
    /// Head height.
    #[serde(with = "dec_u64")]
    pub height: u64,
    /// Head hash.
    pub latest_hash: Hash,
    /// Genesis header hash.
    pub genesis_hash: Hash,
    /// Connected peers.
    pub peers: u32,
    /// This node's peer id on the network (none without p2p).
    pub peer_id: Option<String>,
    /// Where it listens for peers (`/ip4/…/tcp/…/p2p/<peer id>`: usable as bootnodes).
    pub listen_addrs: Vec<String>,
    /// Whether this node signs blocks.
    pub is_validator: bool,
    /// Whether it is catching up.
    pub syncing: bool,
    /// Consensus engine name.
    pub engine: String,
    /// Pending transactions.
    pub mempool_txs: usize,
}

/// Starts nodes.
pub struct Node;

struct Inner {
    chain: Arc<Chain>,
    reader: ChainReader,
    mempool: Arc<Mempool>,
    sink: Arc<BlockSink>,
    engine: Box<dyn ConsensusEngine>,
    blocks: broadcast::Sender<CommittedBlock>,
    rpc: Mutex<Option<crate::rpc::RpcServer>>,
    p2p: Option<P2pHandle>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    rpc_addr: Option<SocketAddr>,
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
        if let Some(p2p) = &self.p2p {
            p2p.stop();
        }
        self.engine.stop();
        self.sink.close();
        if let Some(rt) = self.runtime.lock().take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running node. Cheap to clone; every clone is the same node. The node stops on
/// [`NodeHandle::stop`] or when the last handle is dropped.
#[derive(Clone)]
pub struct NodeHandle {
    inner: Arc<Inner>,
}

/// A reference to a node that does not keep it alive (what the RPC server holds).
#[derive(Clone)]
pub struct WeakNodeHandle(Weak<Inner>);

impl NetworkHost for WeakNodeHandle {
    fn gossiped_txs(&self, txs: Vec<Vec<u8>>) {
        if let Some(n) = self.upgrade() {
            for r in n.admit(&txs) {
                if let Err(e) = r {
                    tracing::trace!(target: "batara::p2p", %e, "gossiped tx not admitted");
                }
            }
        }
    }

    fn consensus_message(&self, data: &[u8]) -> MessageVerdict {
        match self.upgrade() {
            Some(n) => n.inner.engine.network_message(data),
            None => MessageVerdict::Ignore,
        }
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

impl WeakNodeHandle {
    /// The node, if it is still running.
    pub fn upgrade(&self) -> Option<NodeHandle> {
        self.0
            .upgrade()
            .filter(|i| !i.stopped.load(Ordering::SeqCst))
            .map(|inner| NodeHandle { inner })
    }
}

impl Node {
    /// Starts a node: opens (or creates) its chain, starts consensus and, if enabled, JSON-RPC.
    pub fn start(opts: NodeOptions) -> Result<NodeHandle> {
        let NodeOptions {
            config,
            genesis,
            validator_key,
        } = opts;
        genesis.validate()?;
        let store: Arc<dyn Storage> = if config.storage.ephemeral {
            Arc::new(RocksStore::ephemeral(&config.storage)?)
        } else {
            let dir = config.data_dir.clone().ok_or_else(|| {
                Error::InvalidInput("data_dir is required unless storage.ephemeral is set".into())
            })?;
            std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                context: format!("creating {}", dir.display()),
                source,
            })?;
            Arc::new(RocksStore::open(&dir.join("db"), &config.storage)?)
        };
        let chain = Arc::new(Chain::open(store, genesis)?);
        // A transaction larger than a block could never be included: refuse it at the door.
        let mut pool_cfg = config.mempool.clone();
        let max_block_bytes =
            usize::try_from(chain.genesis().params.max_block_bytes).unwrap_or(usize::MAX);
        pool_cfg.max_tx_bytes = pool_cfg.max_tx_bytes.min(max_block_bytes);
        let mempool = Arc::new(Mempool::new(pool_cfg, chain.genesis().chain_id.clone()));
        let (blocks, _) = broadcast::channel(1024);
        let sink = Arc::new(BlockSink::new(
            chain.clone(),
            mempool.clone(),
            blocks.clone(),
        ));
        let (outbox, mut consensus_out) = if config.p2p.enabled {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let engine = Self::engine(&chain, &sink, validator_key, &config, outbox)?;
        let head = chain.head();
        tracing::info!(target: "batara::node", chain_id = %chain.genesis().chain_id, height = head.header.height, hash = %head.hash, "node started");
        let runtime = if config.rpc.enabled || config.p2p.enabled {
            Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("batara-net")
                    .enable_all()
                    .build()
                    .map_err(|source| Error::Io {
                        context: "starting the RPC runtime".into(),
                        source,
                    })?,
            )
        } else {
            None
        };
        let mut rpc_err = None;
        let network_key = if config.p2p.enabled {
            Some(network_identity(&config)?)
        } else {
            None
        };
        // The RPC server and the network hold only a weak handle, so dropping the last NodeHandle
        // stops the node.
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let p2p = match (&runtime, network_key) {
                (Some(rt), Some(key)) => match crate::p2p::start(
                    rt.handle(),
                    &config.p2p,
                    key,
                    sink.clone(),
                    blocks.subscribe(),
                    consensus_out.take(),
                    Arc::new(WeakNodeHandle(weak.clone())),
                ) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        rpc_err = Some(Error::Network(e));
                        None
                    }
                },
                _ => None,
            };
            let (rpc, rpc_addr) = match &runtime {
                Some(rt) if config.rpc.enabled && rpc_err.is_none() => {
                    match crate::rpc::RpcServer::start(
                        rt.handle(),
                        &config.rpc,
                        WeakNodeHandle(weak.clone()),
                    ) {
                        Ok((server, addr)) => (Some(server), Some(addr)),
                        Err(e) => {
                            rpc_err = Some(e);
                            (None, None)
                        }
                    }
                }
                _ => (None, None),
            };
            Inner {
                reader: ChainReader::new(chain.clone()),
                chain,
                mempool,
                sink,
                engine,
                blocks,
                rpc: Mutex::new(rpc),
                p2p,
                runtime: Mutex::new(runtime),
                rpc_addr,
                stopped: AtomicBool::new(false),
            }
        });
        if let Some(e) = rpc_err {
            inner.stop();
            return Err(e);
        }
        if let Some(addr) = inner.rpc_addr {
            tracing::info!(target: "batara::node", %addr, "JSON-RPC listening");
        }
        Ok(NodeHandle { inner })
    }

    /// Picks the engine: the dev engine when this node holds the key of the chain's only
    /// validator; otherwise, on a network, the BFT engine (voting if it has a validator key) — or
    /// the follower engine when the only validator is a dev engine elsewhere.
    fn engine(
        chain: &Arc<Chain>,
        sink: &Arc<BlockSink>,
        key: Option<Keypair>,
        config: &NodeConfig,
        outbox: Option<crate::consensus::bft::Outbox>,
    ) -> Result<Box<dyn ConsensusEngine>> {
        let validators = chain.validators()?;
        let sole = |k: &Keypair| validators.len() == 1 && validators[0].pubkey == k.public_key();
        let key = match (key, outbox) {
            (Some(k), _) if sole(&k) => k,
            (None, Some(_)) if validators.len() == 1 => return Ok(Box::new(FollowerEngine)),
            (key, Some(outbox)) => {
                let guard_path = match &config.data_dir {
                    Some(d) if !config.storage.ephemeral => d.join("sign_state.json"),
                    _ => std::env::temp_dir().join(format!(
                        "batara-sign-state-{}-{}.json",
                        std::process::id(),
                        crypto::sha256(&SystemClock.now_ms().to_le_bytes())
                    )),
                };
                let engine = crate::consensus::bft::BftEngine::start(
                    sink.clone(),
                    crate::consensus::bft::BftSetup {
                        signer: key.map(|k| Arc::new(LocalSigner(k)) as Arc<dyn Signer>),
                        guard_path,
                        timeouts: config.consensus.bft.clone(),
                        clock: Box::new(SystemClock),
                        outbox,
                    },
                )
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
                return Ok(Box::new(engine));
            }
            _ => {
                return Err(Error::InvalidInput(format!(
                    "no consensus engine for this node: the dev engine needs the key of the chain's only \
                     validator ({} validators), and a node without it must join a network to follow \
                     one (p2p.enabled)",
                    validators.len()
                )))
            }
        };
        Ok(Box::new(DevEngine::start(
            sink.clone(),
            Box::new(LocalSigner(key)),
            Box::new(SystemClock),
            &config.consensus,
        )))
    }

    /// Starts a dev chain: [`DevOptions::accounts`] funded accounts ([`genesis::dev_account_key`]),
    /// the well-known dev validator, in memory unless a data directory is given.
    ///
    /// ```
    /// use batara_core::genesis::dev_account_key;
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

/// The result of submitting one transaction of a batch.
pub type SubmitResult = std::result::Result<Hash, Rejection>;

impl NodeHandle {
    fn live(&self) -> Result<()> {
        if self.inner.stopped.load(Ordering::SeqCst) {
            Err(Error::Stopped)
        } else {
            Ok(())
        }
    }

    /// A handle that does not keep the node alive.
    pub fn downgrade(&self) -> WeakNodeHandle {
        WeakNodeHandle(Arc::downgrade(&self.inner))
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.inner.chain.genesis().chain_id
    }

    /// The chain (read access for tools such as the benchmark and tests).
    pub fn chain(&self) -> &Arc<Chain> {
        &self.inner.chain
    }

    /// The JSON-RPC address, when serving.
    pub fn rpc_addr(&self) -> Option<SocketAddr> {
        self.inner.rpc_addr
    }

    /// Node status.
    pub fn info(&self) -> NodeInfo {
        let head = self.inner.chain.head();
        NodeInfo {
            chain_id: self.chain_id().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            height: head.header.height,
            latest_hash: head.hash,
            genesis_hash: self.inner.chain.genesis_hash(),
            peers: self.inner.p2p.as_ref().map_or(0, |p| p.peers() as u32),
            peer_id: self.inner.p2p.as_ref().map(|p| p.peer_id().to_string()),
            listen_addrs: self.inner.p2p.as_ref().map_or_else(Vec::new, |p| {
                p.listen_addrs().iter().map(|a| a.to_string()).collect()
            }),
            is_validator: self.inner.engine.is_validator(),
            syncing: self
                .inner
                .p2p
                .as_ref()
                .is_some_and(|p| p.syncing().is_some()),
            engine: self.inner.engine.name().to_owned(),
            mempool_txs: self.inner.mempool.stats().txs,
        }
    }

    /// Mempool counts.
    pub fn mempool_stats(&self) -> PoolStats {
        self.inner.mempool.stats()
    }

    /// Submits one signed transaction (canonical bytes). Returns its hash once it is in the mempool.
    pub fn submit(&self, bytes: &[u8]) -> Result<Hash> {
        self.live()?;
        let mut r = self.submit_batch(&[bytes]);
        Ok(r.pop().expect("one result per transaction")?)
    }

    /// Submits many signed transactions; signatures are batch-verified on all cores. One result per
    /// transaction, in order. Accepted ones are gossiped to peers.
    pub fn submit_batch<B: AsRef<[u8]>>(&self, txs: &[B]) -> Vec<SubmitResult> {
        let results = self.admit(txs);
        if let Some(p2p) = &self.inner.p2p {
            for (raw, r) in txs.iter().zip(&results) {
                if r.is_ok() {
                    p2p.publish_tx(raw.as_ref().to_vec());
                }
            }
        }
        results
    }

    /// Relays a signed consensus message (borsh `ConsensusMsg`: a proposal, vote or evidence) to
    /// this node's engine and, when the engine accepts it, to its peers — as if a peer had gossiped
    /// it. For remote signers and test tools.
    pub fn broadcast_consensus(&self, data: &[u8]) -> MessageVerdict {
        let v = self.inner.engine.network_message(data);
        if v == MessageVerdict::Accept {
            if let Some(p2p) = &self.inner.p2p {
                p2p.publish_consensus(data.to_vec());
            }
        }
        v
    }

    /// The network service (peer id, listen addresses, peers, bans, sync), if the node joined one.
    pub fn network(&self) -> Option<&P2pHandle> {
        self.inner.p2p.as_ref()
    }

    /// Checks transactions and puts them in the mempool (no gossip).
    fn admit<B: AsRef<[u8]>>(&self, txs: &[B]) -> Vec<SubmitResult> {
        if self.live().is_err() {
            return txs
                .iter()
                .map(|_| Err(Rejection::Unavailable("node stopped".into())))
                .collect();
        }
        let mempool = &self.inner.mempool;
        let mut results: Vec<Option<SubmitResult>> = vec![None; txs.len()];
        let mut decoded: Vec<(usize, PoolTx)> = Vec::with_capacity(txs.len());
        for (i, raw) in txs.iter().enumerate() {
            let raw = raw.as_ref();
            let parsed = SignedTransaction::from_bytes(raw)
                .map_err(|e| Rejection::Malformed(e.to_string()))
                .and_then(|tx| {
                    mempool.precheck(&tx, raw.len())?;
                    let hash = crypto::sha256(raw);
                    PoolTx::new(tx, hash, raw.len())
                        .ok_or_else(|| Rejection::Malformed("amount + fee overflows".into()))
                });
            match parsed {
                Ok(p) if mempool.contains(&p.hash) => {
                    results[i] = Some(Err(Rejection::Duplicate(p.hash)))
                }
                Ok(p) => decoded.push((i, p)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let messages: Vec<Vec<u8>> = decoded
            .iter()
            .map(|(_, p)| p.tx.body.signing_message())
            .collect();
        let items: Vec<BatchItem> = decoded
            .iter()
            .zip(&messages)
            .map(|((_, p), m)| p.tx.batch_item(m))
            .collect();
        let verdicts = crypto::verify_batch(&items);
        let mut good = Vec::with_capacity(decoded.len());
        let mut good_idx = Vec::with_capacity(decoded.len());
        for ((i, p), v) in decoded.into_iter().zip(verdicts) {
            match v {
                Ok(()) => {
                    good_idx.push((i, p.hash));
                    good.push(p);
                }
                Err(_) => results[i] = Some(Err(Rejection::BadSignature)),
            }
        }
        let state = self.inner.chain.state();
        let inserted = mempool.insert_batch(good, |a| state.account(a).map_err(|e| e.to_string()));
        let mut any = false;
        for ((i, hash), r) in good_idx.into_iter().zip(inserted) {
            any |= r.is_ok();
            results[i] = Some(r.map(|()| hash));
        }
        if any {
            self.inner.engine.notify_txs();
        }
        results
            .into_iter()
            .map(|r| r.expect("every transaction has a result"))
            .collect()
    }

    /// Waits until transaction `hash` is in a committed block, at most `timeout`.
    pub fn wait_for_tx(&self, hash: &Hash, timeout: Duration) -> Result<TxInfo> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.inner.chain.head().header.height;
            if let Some(t) = self.inner.chain.transaction(hash)? {
                return Ok(t.into());
            }
            self.live()?;
            if !self.inner.mempool.contains(hash) {
                if let Some(t) = self.inner.chain.transaction(hash)? {
                    return Ok(t.into());
                }
                return Err(Error::NotFound(format!(
                    "transaction {hash} is neither pending nor committed (dropped, reverted or never submitted)"
                )));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout(format!(
                    "transaction {hash} not committed within {timeout:?}"
                )));
            }
            self.inner.sink.wait_head_change(seen, deadline - now);
        }
    }

    /// The next nonce for `address`, counting its pending transactions.
    pub fn next_nonce(&self, address: &Address) -> Result<u64> {
        let state = self.inner.chain.state();
        Ok(self
            .inner
            .mempool
            .next_nonce_with(address, |a| state.account(a))?)
    }

    /// Builds, signs (next nonce) and submits a transfer; with `wait`, returns after it commits.
    pub fn transfer(
        &self,
        key: &Keypair,
        to: Address,
        amount: Amount,
        fee: Amount,
        wait: bool,
    ) -> Result<Hash> {
        let tx = TxBody {
            chain_id: self.chain_id().to_owned(),
            signer: key.public_key(),
            nonce: self.next_nonce(&key.address())?,
            fee,
            kind: TxKind::Transfer { to, amount },
        }
        .sign(key);
        let hash = self.submit(&tx.to_bytes())?;
        if wait {
            self.wait_for_tx(&hash, Duration::from_secs(60))?;
        }
        Ok(hash)
    }

    /// The read API (also what a read-only [`ChainReader::open_home`] gives).
    pub fn reader(&self) -> &ChainReader {
        &self.inner.reader
    }

    /// A block with its commit and transaction hashes.
    pub fn block(&self, id: BlockId) -> Result<BlockView> {
        self.inner.reader.block(id)
    }

    /// A header.
    pub fn header(&self, id: BlockId) -> Result<Header> {
        self.inner.reader.header(id)
    }

    /// The receipts of a block's transactions, in block order.
    pub fn receipts(&self, id: BlockId) -> Result<Vec<Receipt>> {
        self.inner.reader.receipts(id)
    }

    /// A committed transaction with its receipt.
    pub fn transaction(&self, hash: &Hash) -> Result<TxInfo> {
        self.inner.reader.transaction(hash)
    }

    /// An account, at the head or after block `height`.
    pub fn account(&self, address: &Address, height: Option<u64>) -> Result<AccountInfo> {
        self.inner.reader.account(address, height)
    }

    /// A page of accounts in address order ([`ChainReader::accounts`]).
    pub fn accounts(&self, after: Option<&Address>, limit: usize) -> Result<AccountPage> {
        self.inner.reader.accounts(after, limit)
    }

    /// An account with a proof against the state root of block `height` (default: head).
    pub fn proof(&self, address: &Address, height: Option<u64>) -> Result<AccountProof> {
        self.inner.reader.proof(address, height)
    }

    /// The validator set of block `height`, or of the next block (`None`).
    pub fn validators(&self, height: Option<u64>) -> Result<Vec<ValidatorView>> {
        self.inner.reader.validators(height)
    }

    /// A validator's staking record, unbonding funds and current power.
    pub fn validator(&self, address: &Address) -> Result<ValidatorDetail> {
        self.inner.reader.validator(address)
    }

    /// A stream of committed blocks from now on.
    pub fn subscribe_blocks(&self) -> BlockReceiver {
        self.inner.blocks.subscribe()
    }

    fn dev(&self, what: &'static str) -> Result<&dyn DevControls> {
        self.live()?;
        self.inner
            .engine
            .dev_controls()
            .ok_or(Error::Consensus(ConsensusError::NotDev(what)))
    }

    /// Makes `count` blocks now (dev chains).
    pub fn mine(&self, count: u32) -> Result<Vec<BlockView>> {
        Ok(self
            .dev("dev_mine")?
            .mine(count)?
            .iter()
            .map(BlockView::from_committed)
            .collect())
    }

    /// Remembers the head; returns a snapshot id (dev chains).
    pub fn snapshot(&self) -> Result<u64> {
        Ok(self.dev("dev_snapshot")?.snapshot())
    }

    /// Returns to a snapshot (dev chains).
    pub fn revert(&self, id: u64) -> Result<()> {
        Ok(self.dev("dev_revert")?.revert(id)?)
    }

    /// Sets a balance in a new block (dev chains).
    pub fn set_balance(&self, address: &Address, amount: Amount) -> Result<BlockView> {
        Ok(BlockView::from_committed(
            &self.dev("dev_setBalance")?.set_balance(*address, amount)?,
        ))
    }

    /// Moves block time forward; returns the total offset in ms (dev chains).
    pub fn increase_time(&self, ms: u64) -> Result<u64> {
        Ok(self.dev("dev_increaseTime")?.increase_time(ms))
    }

    /// Stops the node: RPC, then consensus (finishing a block being written). Idempotent.
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }
}
