//! The peer-to-peer network (libp2p): TCP + noise + yamux; identify; gossipsub topics per chain for
//! transactions, blocks and consensus messages; request-response for status and block sync;
//! Kademlia discovery from the configured bootnodes (peers it learns of are dialed while there is
//! room under `max_peers`; a bootstrap query runs 2 s after start, then every 10 s).
//!
//! Owns: the swarm and its event loop (one tokio task), peer limits and bans, the chain check at
//! handshake, gossip of local transactions and committed blocks, and block sync: a node behind
//! its peers fetches blocks in batches, and each one goes through [`BlockSink::import`] (commit
//! checked against that height's validator set, block re-executed, state root compared) — so a
//! synced node reaches the same state root as the network or stops with an error.
//!
//! Choices (where the design is silent):
//! * Chain check: identify's protocol version is `/batara/1/<chain id>/<genesis hash>`; a peer
//!   with another one is disconnected and banned, and the sync protocol name and gossip topics
//!   carry the genesis hash, so two chains never exchange data.
//! * Peer scoring is binary, as in CometBFT's early switch: a peer that sends an invalid block or
//!   transaction batch it vouches for (sync), a malformed message, or belongs to another chain is
//!   disconnected and banned for `ban_seconds`.
//! * Transactions are gossiped in batches (see [`TX_GOSSIP_BATCH`]): one gossip message (and one
//!   libp2p signature) per batch instead of per transaction, and the receiver admits a batch with
//!   one batch signature verification, off the event loop. A batch is relayed only after that
//!   (issue 10, finding 2): with a transaction no node of this chain could accept (undecodable,
//!   badly signed, another chain id, failing a stateless rule) it is rejected and its sender
//!   banned — honest nodes relay only what they verified, so the sender made it; with nothing
//!   new (duplicates, stale nonces) it is dropped without blame; otherwise relayed. The work
//!   waits in a bounded, per-peer fair queue ([`txqueue`]); a batch of more than
//!   [`TX_GOSSIP_BATCH`] transactions is rejected before any of it is verified.
//! * Sync asks one peer at a time for up to [`SYNC_BATCH`] blocks (at most [`SYNC_BYTES`] per
//!   response) after a `Status` exchange, and logs height, target and rate once a second. A
//!   peer's height is a claim: peers that withhold, answer with nothing or with the wrong blocks
//!   are struck, rotated out and banned at the third strike, and serving is budgeted per peer
//!   and runs off the event loop ([`syncpeers`], issue 10 findings 5 and 6). Gossiped blocks are
//!   imported while a sync request is out.
//!
//! Must never: commit a block other than through [`BlockSink`], block the event loop on block
//! execution (imports run on the blocking pool), or trust a peer's block without its commit.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identify, identity, kad, Multiaddr, PeerId, StreamProtocol, Swarm};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::consensus::{BlockSink, MessageVerdict};
use crate::runtime::CommittedBlock;
use crate::types::{Block, Commit, Hash};

mod bytes;
mod syncpeers;
mod txqueue;

pub use bytes::Bytes;

/// Local transactions are gossiped in batches (borsh `Vec<Vec<u8>>`) of at most this many, or
/// [`TX_GOSSIP_BYTES`], or whatever collected in [`TX_GOSSIP_EVERY`].
pub const TX_GOSSIP_BATCH: usize = 1_024;
/// Most bytes in one transaction gossip message.
pub const TX_GOSSIP_BYTES: usize = 1 << 20;
/// How long a transaction waits for its gossip batch to fill.
pub const TX_GOSSIP_EVERY: Duration = Duration::from_millis(20);

/// Most blocks one sync response carries.
pub const SYNC_BATCH: u32 = 64;
/// Most bytes of blocks one sync response carries (at least one block is always sent).
pub const SYNC_BYTES: usize = 8 << 20;

/// Network settings (`[p2p]` in `config.toml`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct P2pConfig {
    /// Join the network at all (a dev chain does not).
    pub enabled: bool,
    /// Listen address (port 0 picks a free port).
    pub listen: std::net::SocketAddr,
    /// Peers to dial at start and to seed discovery: `/ip4/…/tcp/…/p2p/<peer id>` multiaddrs.
    pub bootnodes: Vec<String>,
    /// Most connected peers.
    pub max_peers: usize,
    /// Largest gossip message, in bytes.
    pub max_message_bytes: usize,
    /// How long a misbehaving peer stays banned.
    pub ban_seconds: u64,
    /// Key file of this node's network identity (its peer id); relative paths are resolved
    /// against the home. Unset: `<home>/node_key.json` if it exists, else a new identity per start.
    pub node_key: Option<std::path::PathBuf>,
}

impl Default for P2pConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "0.0.0.0:26656".parse().expect("valid address"),
            bootnodes: vec![],
            max_peers: 50,
            max_message_bytes: 20 << 20,
            ban_seconds: 600,
            node_key: None,
        }
    }
}

/// Network errors.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// A bootnode address does not parse.
    #[error("bad bootnode {addr:?}: {reason}")]
    BadBootnode {
        /// The address given.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The swarm could not start (listen address in use, ...).
    #[error("p2p: {0}")]
    Start(String),
}

/// Sync protocol requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Your head.
    Status,
    /// Committed blocks from `from`, at most `max`.
    Blocks {
        /// First height.
        from: u64,
        /// Most blocks wanted.
        max: u32,
    },
}

/// Sync protocol responses.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder's head.
    Status {
        /// Height.
        height: u64,
        /// Hash.
        hash: Hash,
    },
    /// borsh `(Block, Commit)` per height, in order.
    Blocks(Vec<Bytes>),
    /// Not now (the responder's serving budget for the asker, or its serving slots, are used
    /// up): ask another peer.
    Busy,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

/// What the network delivers to the rest of the node.
pub trait NetworkHost: Send + Sync + 'static {
    /// Transactions gossiped by peers (canonical bytes); the host puts them in its mempool
    /// without gossiping them again.
    /// Returns whether the batch may be relayed: [`MessageVerdict::Reject`] when a transaction
    /// in it is invalid for every node of the chain (the sender's fault),
    /// [`MessageVerdict::Ignore`] when nothing in it was new.
    fn gossiped_txs(&self, txs: Vec<Vec<u8>>) -> MessageVerdict;
    /// A consensus message gossiped by a peer.
    fn consensus_message(&self, data: &[u8]) -> MessageVerdict;
}

/// Counters the node reports (`node_info`).
#[derive(Default)]
struct Stats {
    peers: AtomicUsize,
    banned: AtomicUsize,
    stopping: AtomicBool,
    syncing: AtomicBool,
    target: AtomicU64,
}

enum Command {
    PublishTx(Vec<u8>),
    PublishConsensus(Vec<u8>),
    Stop,
}

/// Counts the service task and its block imports while they hold the node's [`BlockSink`] (and
/// through it the database), so [`P2pHandle::stop`] can wait until they let go.
#[derive(Clone, Default)]
struct Holders(Arc<AtomicUsize>);

/// One holder; counted while it lives.
struct Held(Arc<AtomicUsize>);

impl Holders {
    fn hold(&self) -> Held {
        self.0.fetch_add(1, Ordering::SeqCst);
        Held(self.0.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running network service. Dropping it does not stop it: call [`P2pHandle::stop`].
pub struct P2pHandle {
    commands: mpsc::UnboundedSender<Command>,
    stats: Arc<Stats>,
    peer_id: PeerId,
    listen: Arc<Mutex<Vec<Multiaddr>>>,
    holders: Holders,
}

impl P2pHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on (with `/p2p/<peer id>`), once known.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen.lock().clone()
    }

    /// Connected peers.
    pub fn peers(&self) -> usize {
        self.stats.peers.load(Ordering::Relaxed)
    }

    /// Peers banned now.
    pub fn banned(&self) -> usize {
        self.stats.banned.load(Ordering::Relaxed)
    }

    /// Whether it is catching up with its peers, and to which height.
    pub fn syncing(&self) -> Option<u64> {
        self.stats
            .syncing
            .load(Ordering::Relaxed)
            .then(|| self.stats.target.load(Ordering::Relaxed))
    }

    /// Gossips a transaction this node accepted.
    pub fn publish_tx(&self, raw: Vec<u8>) {
        let _ = self.commands.send(Command::PublishTx(raw));
    }

    /// Gossips a consensus message someone handed this node (see
    /// `NodeHandle::broadcast_consensus`).
    pub fn publish_consensus(&self, data: Vec<u8>) {
        let _ = self.commands.send(Command::PublishConsensus(data));
    }

    /// Stops the event loop (closing every connection) and waits, up to 10 s, until it and any
    /// block import it started have finished — then the node's database can be closed. Called
    /// from inside the runtime (where it must not block) it only asks.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
        self.stats.stopping.store(true, Ordering::SeqCst);
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.holders.0.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Reads a libp2p identity from a 32-byte ed25519 seed.
pub fn identity_from_seed(seed: [u8; 32]) -> identity::Keypair {
    identity::Keypair::ed25519_from_bytes(seed).expect("32-byte ed25519 seed")
}

fn multiaddr_of(addr: std::net::SocketAddr) -> Multiaddr {
    let mut m = Multiaddr::empty();
    match addr.ip() {
        std::net::IpAddr::V4(ip) => m.push(libp2p::multiaddr::Protocol::Ip4(ip)),
        std::net::IpAddr::V6(ip) => m.push(libp2p::multiaddr::Protocol::Ip6(ip)),
    }
    m.push(libp2p::multiaddr::Protocol::Tcp(addr.port()));
    m
}

fn parse_bootnode(s: &str) -> Result<(PeerId, Multiaddr), P2pError> {
    let bad = |reason: String| P2pError::BadBootnode {
        addr: s.to_owned(),
        reason,
    };
    let addr: Multiaddr = s.parse().map_err(|e| bad(format!("{e}")))?;
    let peer = addr
        .iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .ok_or_else(|| bad("no /p2p/<peer id> part".into()))?;
    Ok((peer, addr))
}

/// Starts the network on `rt`. `sink` is where synced and gossiped blocks go; `blocks` are the
/// node's committed blocks (gossiped to peers).
pub fn start(
    rt: &tokio::runtime::Handle,
    cfg: &P2pConfig,
    key: identity::Keypair,
    sink: Arc<BlockSink>,
    blocks: broadcast::Receiver<CommittedBlock>,
    consensus_out: Option<mpsc::UnboundedReceiver<Vec<u8>>>,
    host: Arc<dyn NetworkHost>,
) -> Result<P2pHandle, P2pError> {
    let bootnodes = cfg
        .bootnodes
        .iter()
        .map(|b| parse_bootnode(b))
        .collect::<Result<Vec<_>, _>>()?;
    let chain = sink.chain().clone();
    let genesis_hash = chain.genesis_hash();
    let chain_id = chain.spec().chain_id.clone();
    let short = hex::encode(&genesis_hash.0[..8]);
    let protocol_version = format!("/batara/1/{chain_id}/{genesis_hash}");
    let topics = Topics {
        txs: IdentTopic::new(format!("/batara/{short}/txs/1")),
        blocks: IdentTopic::new(format!("/batara/{short}/blocks/1")),
        consensus: IdentTopic::new(format!("/batara/{short}/consensus/1")),
    };
    let sync_protocol = StreamProtocol::try_from_owned(format!("/batara/{short}/sync/1"))
        .map_err(|e| P2pError::Start(e.to_string()))?;
    let max_msg = cfg.max_message_bytes;
    let peer_id = key.public().to_peer_id();
    let _guard = rt.enter();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| P2pError::Start(e.to_string()))?
        .with_behaviour(|key| {
            let gossip_cfg = gossipsub::ConfigBuilder::default()
                .max_transmit_size(max_msg)
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .heartbeat_interval(Duration::from_millis(500))
                .build()
                .map_err(|e| e.to_string())?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_cfg,
            )?;
            let codec = request_response::cbor::codec::Codec::default()
                .set_request_size_maximum(1 << 16)
                .set_response_size_maximum((SYNC_BYTES + max_msg) as u64);
            let sync = request_response::Behaviour::with_codec(
                codec,
                [(sync_protocol.clone(), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
            );
            let pid = key.public().to_peer_id();
            let kad_cfg = kad::Config::new(
                StreamProtocol::try_from_owned(format!("/batara/{short}/kad/1"))
                    .map_err(|e| e.to_string())?,
            );
            let mut kad =
                kad::Behaviour::with_config(pid, kad::store::MemoryStore::new(pid), kad_cfg);
            // Answer queries even without a confirmed external address (loopback and LAN
            // networks have none).
            kad.set_mode(Some(kad::Mode::Server));
            Ok(Behaviour {
                identify: identify::Behaviour::new(identify::Config::new(
                    protocol_version.clone(),
                    key.public(),
                )),
                gossipsub,
                sync,
                kad,
            })
        })
        .map_err(|e| P2pError::Start(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    for t in [&topics.txs, &topics.blocks, &topics.consensus] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(t)
            .map_err(|e| P2pError::Start(e.to_string()))?;
    }
    swarm
        .listen_on(multiaddr_of(cfg.listen))
        .map_err(|e| P2pError::Start(format!("listening on {}: {e}", cfg.listen)))?;
    for (peer, addr) in &bootnodes {
        swarm.behaviour_mut().kad.add_address(peer, addr.clone());
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(target: "batara::p2p", %addr, %e, "cannot dial bootnode");
        }
    }
    let (commands, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(Stats::default());
    let listen = Arc::new(Mutex::new(Vec::new()));
    let holders = Holders::default();
    let (tx_checked, checked_rx) = mpsc::unbounded_channel();
    let (served, served_rx) = mpsc::unbounded_channel();
    let service = Service {
        tx_buf: Vec::new(),
        tx_bytes: 0,
        tx_queue: Default::default(),
        tx_checked,
        _held: holders.hold(),
        holders: holders.clone(),
        swarm,
        sink,
        host,
        topics,
        protocol_version,
        peer_id,
        max_peers: cfg.max_peers,
        banned: BanList::new(Duration::from_secs(cfg.ban_seconds), MAX_BANNED),
        peers: Default::default(),
        served,
        connected: HashSet::new(),
        sync: SyncState::default(),
        stats: stats.clone(),
        listen: listen.clone(),
        bootnodes,
    };
    rt.spawn(service.run(checked_rx, served_rx, rx, blocks, consensus_out));
    tracing::info!(target: "batara::p2p", %peer_id, listen = %cfg.listen, "p2p started");
    Ok(P2pHandle {
        commands,
        stats,
        peer_id,
        listen,
        holders,
    })
}

struct Topics {
    txs: IdentTopic,
    blocks: IdentTopic,
    consensus: IdentTopic,
}

/// The one outstanding sync request: who was asked, since when, from which height, and whether
/// its blocks arrived and are being imported.
#[derive(Clone, Copy)]
struct InFlight {
    peer: PeerId,
    since: Instant,
    from: u64,
    importing: bool,
}

#[derive(Default)]
struct SyncState {
    in_flight: Option<InFlight>,
    /// A gossiped block is being imported.
    gossip_import: bool,
    /// When catching up began, and the head then (for the rate).
    began: Option<(Instant, u64)>,
    last_log: Option<Instant>,
    ticks: u64,
}

/// What a finished import tells the event loop.
struct Imported {
    /// The peer the blocks came from.
    peer: PeerId,
    /// They answered a sync request (else: gossip).
    sync: bool,
    /// Imported up to this height, or why the peer's block is invalid.
    result: Result<u64, String>,
}

/// A sync response built off the event loop, to send.
type Served = (
    PeerId,
    request_response::ResponseChannel<SyncResponse>,
    SyncResponse,
    usize,
);

struct Service {
    holders: Holders,
    /// Local transactions waiting for their gossip batch.
    tx_buf: Vec<Vec<u8>>,
    tx_bytes: usize,
    swarm: Swarm<Behaviour>,
    sink: Arc<BlockSink>,
    host: Arc<dyn NetworkHost>,
    topics: Topics,
    protocol_version: String,
    peer_id: PeerId,
    max_peers: usize,
    banned: BanList,
    /// What block sync knows of each peer.
    peers: syncpeers::SyncPeers,
    /// Where sync responses built off the loop come back.
    served: mpsc::UnboundedSender<Served>,
    connected: HashSet<PeerId>,
    sync: SyncState,
    stats: Arc<Stats>,
    listen: Arc<Mutex<Vec<Multiaddr>>>,
    bootnodes: Vec<(PeerId, Multiaddr)>,
    /// Gossiped transaction batches waiting for verification, and their running jobs.
    tx_queue: txqueue::TxQueue,
    /// Where finished verifications report.
    tx_checked: mpsc::UnboundedSender<(txqueue::TxJob, MessageVerdict)>,
    /// Last field: fields drop in order, so the count falls only after `sink` is gone.
    _held: Held,
}

fn decode_block(bytes: &[u8]) -> Result<(Block, Commit), String> {
    borsh::from_slice(bytes).map_err(|e| format!("undecodable block: {e}"))
}

/// The committed blocks `from..` (at most `max`, [`SYNC_BATCH`] and about [`SYNC_BYTES`]; at
/// least one if there is one) and their size.
fn read_blocks(chain: &crate::runtime::Chain, from: u64, max: u32) -> (SyncResponse, usize) {
    let mut out = Vec::new();
    let mut size = 0;
    let head = chain.head().header.height;
    let last = from
        .saturating_add(u64::from(max.min(SYNC_BATCH)))
        .min(head + 1);
    for h in from.max(1)..last {
        let (Ok(Some(b)), Ok(Some(c))) = (chain.block(h), chain.commit_at(h)) else {
            break;
        };
        let bytes = borsh::to_vec(&(b, c)).expect("borsh into Vec");
        size += bytes.len();
        out.push(Bytes(bytes));
        if size >= SYNC_BYTES {
            break;
        }
    }
    (SyncResponse::Blocks(out), size)
}

impl Service {
    async fn run(
        mut self,
        checked_rx: mpsc::UnboundedReceiver<(txqueue::TxJob, MessageVerdict)>,
        mut served_rx: mpsc::UnboundedReceiver<Served>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut blocks: broadcast::Receiver<CommittedBlock>,
        consensus_out: Option<mpsc::UnboundedReceiver<Vec<u8>>>,
    ) {
        // A node without a consensus outbox never gets a message from this one; a closed outbox
        // (its engine gone) is not polled again.
        let mut outbox_open = consensus_out.is_some();
        let (_keep, idle) = mpsc::unbounded_channel();
        let mut consensus_out = consensus_out.unwrap_or(idle);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Imported>();
        let mut checked_rx = checked_rx;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut flush = tokio::time::interval(TX_GOSSIP_EVERY);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev, &done_tx),
                cmd = commands.recv() => match cmd {
                    Some(Command::PublishTx(raw)) => {
                        self.tx_bytes += raw.len();
                        self.tx_buf.push(raw);
                        if self.tx_buf.len() >= TX_GOSSIP_BATCH || self.tx_bytes >= TX_GOSSIP_BYTES {
                            self.flush_txs();
                        }
                    }
                    Some(Command::PublishConsensus(m)) => {
                        self.publish(self.topics.consensus.clone(), m)
                    }
                    Some(Command::Stop) | None => break,
                },
                b = blocks.recv() => match b {
                    Ok(cb) => {
                        let bytes = borsh::to_vec(&(&*cb.block, &cb.commit)).expect("borsh into Vec");
                        self.publish(self.topics.blocks.clone(), bytes);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                done = done_rx.recv() => if let Some(d) = done { self.on_imported(d) },
                checked = checked_rx.recv() => if let Some((job, verdict)) = checked {
                    self.on_txs_checked(job, verdict)
                },
                served = served_rx.recv() => if let Some((peer, channel, resp, bytes)) = served {
                    self.peers.served(peer, bytes, Instant::now());
                    let _ = self.swarm.behaviour_mut().sync.send_response(channel, resp);
                },
                m = consensus_out.recv(), if outbox_open => match m {
                    Some(m) => self.publish(self.topics.consensus.clone(), m),
                    None => outbox_open = false,
                },
                _ = tick.tick() => self.on_tick(),
                _ = flush.tick() => self.flush_txs(),
            }
        }
        tracing::info!(target: "batara::p2p", "p2p stopped");
    }

    fn flush_txs(&mut self) {
        if self.tx_buf.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.tx_buf);
        self.tx_bytes = 0;
        let data = borsh::to_vec(&batch).expect("borsh into Vec");
        self.publish(self.topics.txs.clone(), data);
    }

    fn publish(&mut self, topic: IdentTopic, data: Vec<u8>) {
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_)
            | Err(gossipsub::PublishError::NoPeersSubscribedToTopic)
            | Err(gossipsub::PublishError::Duplicate) => {}
            Err(e) => tracing::debug!(target: "batara::p2p", %e, "publish failed"),
        }
    }

    fn head(&self) -> u64 {
        self.sink.chain().head().header.height
    }

    fn ban(&mut self, peer: PeerId, reason: &str) {
        tracing::warn!(target: "batara::p2p", %peer, reason, "banning peer");
        self.banned.ban(peer, Instant::now());
        self.stats
            .banned
            .store(self.banned.len(), Ordering::Relaxed);
        self.peers.remove(&peer);
        if self
            .sync
            .in_flight
            .is_some_and(|f| f.peer == peer && !f.importing)
        {
            self.sync.in_flight = None;
        }
        let _ = self.swarm.disconnect_peer_id(peer);
        self.forget_txs(peer);
    }

    /// Drops the transaction batches of `peer` still waiting for verification (unrelayed).
    fn forget_txs(&mut self, peer: PeerId) {
        for id in self.tx_queue.forget(&peer) {
            let _ = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&id, &peer, MessageAcceptance::Ignore);
        }
    }

    fn is_banned(&mut self, peer: &PeerId) -> bool {
        let banned = self.banned.is_banned(peer, Instant::now());
        self.stats
            .banned
            .store(self.banned.len(), Ordering::Relaxed);
        banned
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>, done: &mpsc::UnboundedSender<Imported>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                let mut full = address.clone();
                full.push(libp2p::multiaddr::Protocol::P2p(self.peer_id));
                tracing::info!(target: "batara::p2p", addr = %full, "listening");
                self.listen.lock().push(full);
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.is_banned(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if !self.connected.contains(&peer_id) && self.connected.len() >= self.max_peers {
                    tracing::debug!(target: "batara::p2p", %peer_id, "peer limit reached");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.connected.insert(peer_id);
                self.stats
                    .peers
                    .store(self.connected.len(), Ordering::Relaxed);
                self.swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer_id, SyncRequest::Status);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.connected.remove(&peer_id);
                self.peers.remove(&peer_id);
                self.forget_txs(peer_id);
                self.stats
                    .peers
                    .store(self.connected.len(), Ordering::Relaxed);
                if self
                    .sync
                    .in_flight
                    .is_some_and(|f| f.peer == peer_id && !f.importing)
                {
                    self.sync.in_flight = None;
                }
                self.maybe_request();
            }
            // Discovery: dial peers Kademlia learns about while there is room.
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) if peer != self.peer_id
                && !self.connected.contains(&peer)
                && self.connected.len() < self.max_peers
                && !self.is_banned(&peer) =>
            {
                let _ = self.swarm.dial(
                    libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                        .addresses(addresses.into_vec())
                        .build(),
                );
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != self.protocol_version {
                    self.ban(peer_id, "another chain (identify protocol version differs)");
                    return;
                }
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message, done),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.answer(peer, request, channel),
                request_response::Message::Response { response, .. } => {
                    self.on_response(peer, response, done)
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, error, .. },
            )) => {
                tracing::debug!(target: "batara::p2p", %peer, %error, "sync request failed");
                if self
                    .sync
                    .in_flight
                    .is_some_and(|f| f.peer == peer && !f.importing)
                {
                    self.sync.in_flight = None;
                    self.strike(peer, "its sync request failed");
                }
            }
            _ => {}
        }
    }

    /// Answers a sync request: `Status` at once; blocks off the event loop, within the
    /// asker's serving budget (bound: at most [`SYNC_BATCH`] blocks / [`SYNC_BYTES`] read per
    /// request, `syncpeers::MAX_SERVE_JOBS` requests at once), else `Busy`.
    fn answer(
        &mut self,
        peer: PeerId,
        req: SyncRequest,
        channel: request_response::ResponseChannel<SyncResponse>,
    ) {
        let resp = match req {
            SyncRequest::Status => {
                let head = self.sink.chain().head();
                SyncResponse::Status {
                    height: head.header.height,
                    hash: head.hash,
                }
            }
            SyncRequest::Blocks { from, max } => {
                if !self.peers.start_serving(peer, Instant::now()) {
                    SyncResponse::Busy
                } else {
                    let sink = self.sink.clone();
                    let served = self.served.clone();
                    let held = self.holders.hold();
                    tokio::task::spawn_blocking(move || {
                        let _held = held;
                        let (resp, bytes) = read_blocks(sink.chain(), from, max);
                        drop(sink);
                        let _ = served.send((peer, channel, resp, bytes));
                    });
                    return;
                }
            }
        };
        let _ = self.swarm.behaviour_mut().sync.send_response(channel, resp);
    }

    fn on_gossip(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        msg: gossipsub::Message,
        done: &mpsc::UnboundedSender<Imported>,
    ) {
        let verdict = if msg.topic == self.topics.txs.hash() {
            // Bound: decoding one message of at most `max_message_bytes`; the verification of
            // at most TX_GOSSIP_BATCH signatures runs later, off this loop, under the queue's
            // bounds. The validation result is reported when it is done.
            match borsh::from_slice::<Vec<Vec<u8>>>(&msg.data) {
                Ok(txs) if txs.len() > TX_GOSSIP_BATCH => {
                    let n = txs.len();
                    self.ban(
                        source,
                        &format!("transaction batch of {n} (most {TX_GOSSIP_BATCH})"),
                    );
                    MessageAcceptance::Reject
                }
                Ok(txs) => {
                    let job = txqueue::TxJob {
                        peer: source,
                        id: id.clone(),
                        txs,
                    };
                    if self.tx_queue.push(job, msg.data.len()) {
                        self.start_tx_jobs();
                        return;
                    }
                    tracing::debug!(target: "batara::p2p", peer = %source, "transaction batch dropped: the peer's queue is full");
                    MessageAcceptance::Ignore
                }
                Err(e) => {
                    self.ban(source, &format!("undecodable transaction batch: {e}"));
                    MessageAcceptance::Reject
                }
            }
        } else if msg.topic == self.topics.blocks.hash() {
            // Bound: decoding one message, hashing its body and verifying its commit (one batch
            // verification of at most the set's signatures); only a block for head + 1 gets
            // that far, and only a checked one is imported (one gossip import at a time).
            match decode_block(&msg.data) {
                Ok((block, commit)) => self.check_gossiped_block(source, block, commit, done),
                Err(reason) => {
                    self.ban(source, &reason);
                    MessageAcceptance::Reject
                }
            }
        } else if msg.topic == self.topics.consensus.hash() {
            // Bound: decoding, one signature verification (a proposal also hashes its block and
            // checks its body), before anything is kept; what the state machine keeps per
            // validator, round and height is bounded there (`consensus::bft`).
            match self.host.consensus_message(&msg.data) {
                MessageVerdict::Accept => MessageAcceptance::Accept,
                MessageVerdict::Ignore => MessageAcceptance::Ignore,
                MessageVerdict::Reject(reason) => {
                    self.ban(source, &format!("bad consensus message: {reason}"));
                    MessageAcceptance::Reject
                }
            }
        } else {
            MessageAcceptance::Ignore
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&id, &source, verdict);
    }

    /// Starts verification jobs for waiting transaction batches while slots are free.
    fn start_tx_jobs(&mut self) {
        while let Some(mut job) = self.tx_queue.next() {
            let host = self.host.clone();
            let report = self.tx_checked.clone();
            tokio::task::spawn_blocking(move || {
                let txs = std::mem::take(&mut job.txs);
                // A panic must still free the job's slot and report the message.
                let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    host.gossiped_txs(txs)
                }))
                .unwrap_or(MessageVerdict::Ignore);
                let _ = report.send((job, verdict));
            });
        }
    }

    /// A transaction batch was verified: relay it, drop it, or ban its sender.
    fn on_txs_checked(&mut self, job: txqueue::TxJob, verdict: MessageVerdict) {
        self.tx_queue.done(&job.peer);
        let acceptance = match verdict {
            MessageVerdict::Accept => MessageAcceptance::Accept,
            MessageVerdict::Ignore => MessageAcceptance::Ignore,
            MessageVerdict::Reject(reason) => {
                self.ban(job.peer, &format!("invalid transaction batch: {reason}"));
                MessageAcceptance::Reject
            }
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&job.id, &job.peer, acceptance);
        self.start_tx_jobs();
    }

    /// A gossiped committed block is relayed only once checked: for the next height, its body
    /// must match its header and its commit verify against our validator set of that height
    /// (then it is imported); blocks we have, or cannot check yet (further ahead: sync fetches
    /// them from a peer that says it has them), are dropped without blame. Since nodes relay only
    /// what they checked, the peer that sent a bad one made it.
    fn check_gossiped_block(
        &mut self,
        source: PeerId,
        block: Block,
        commit: Commit,
        done: &mpsc::UnboundedSender<Imported>,
    ) -> MessageAcceptance {
        let h = block.header.height;
        if h != self.head() + 1 {
            return MessageAcceptance::Ignore;
        }
        let checked = block.check_body().and_then(|()| {
            self.sink
                .chain()
                .verify_commit(&commit, h, &block.hash())
                .map_err(|e| e.to_string())
        });
        match checked {
            Ok(()) => {
                self.peers.saw(source, h, Instant::now());
                // Imported even while a sync request is out (a liar's slow answer must not
                // stop a node from following the chain); one gossip import at a time.
                if !self.sync.gossip_import {
                    self.sync.gossip_import = true;
                    self.spawn_import(source, vec![(block, commit)], false, done);
                }
                MessageAcceptance::Accept
            }
            Err(reason) => {
                self.ban(source, &format!("invalid gossiped block {h}: {reason}"));
                MessageAcceptance::Reject
            }
        }
    }

    fn on_response(
        &mut self,
        peer: PeerId,
        resp: SyncResponse,
        done: &mpsc::UnboundedSender<Imported>,
    ) {
        let now = Instant::now();
        match resp {
            SyncResponse::Status { height, .. } => {
                self.peers.claim(peer, height, now);
                self.maybe_request();
            }
            SyncResponse::Busy => {
                if self
                    .sync
                    .in_flight
                    .is_some_and(|f| f.peer == peer && !f.importing)
                {
                    self.sync.in_flight = None;
                    self.peers.busy(peer, now);
                    self.maybe_request();
                }
            }
            SyncResponse::Blocks(list) => {
                let Some(f) = self
                    .sync
                    .in_flight
                    .filter(|f| f.peer == peer && !f.importing)
                else {
                    return; // late (it timed out), or not asked
                };
                self.sync.in_flight = None;
                let mut blocks = Vec::with_capacity(list.len());
                for b in list {
                    match decode_block(&b.0) {
                        Ok(x) => blocks.push(x),
                        Err(reason) => {
                            self.ban(peer, &reason);
                            self.maybe_request();
                            return;
                        }
                    }
                }
                let first = blocks.first().map(|(b, _)| b.header.height);
                if first.is_none() || first.is_some_and(|h| h != f.from) {
                    // Nothing (after claiming more), or not the blocks asked for.
                    self.strike(peer, "its sync answer did not have the blocks asked for");
                    self.maybe_request();
                    return;
                }
                self.spawn_import(peer, blocks, true, done);
            }
        }
    }

    /// Counts a strike against `peer` (see [`syncpeers`]); the third in a row bans it.
    fn strike(&mut self, peer: PeerId, why: &str) {
        tracing::debug!(target: "batara::sync", %peer, why, "strike");
        if self.peers.strike(peer, self.head(), Instant::now()) {
            self.ban(
                peer,
                &format!("{} sync strikes in a row: {why}", syncpeers::MAX_STRIKES),
            );
        }
    }

    /// Imports blocks in order on the blocking pool; the result comes back through `done`.
    fn spawn_import(
        &mut self,
        peer: PeerId,
        blocks: Vec<(Block, Commit)>,
        sync: bool,
        done: &mpsc::UnboundedSender<Imported>,
    ) {
        if sync {
            self.sync.in_flight = Some(InFlight {
                peer,
                since: Instant::now(),
                from: blocks.first().map_or(0, |(b, _)| b.header.height),
                importing: true,
            });
        }
        let sink = self.sink.clone();
        let done = done.clone();
        let held = self.holders.hold();
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || {
            // Locals drop in reverse order: `sink` before `_held`.
            let _held = held;
            let sink = sink;
            let mut last = sink.chain().head().header.height;
            for (block, commit) in blocks {
                let h = block.header.height;
                if h <= last {
                    continue;
                }
                if stats.stopping.load(Ordering::SeqCst) {
                    return;
                }
                match sink.import(&block, commit) {
                    Ok(_) => last = h,
                    Err(e) => {
                        // Someone else (consensus, another import) may have committed it meanwhile.
                        if sink.chain().head().header.height >= h {
                            last = sink.chain().head().header.height;
                            continue;
                        }
                        let _ = done.send(Imported {
                            peer,
                            sync,
                            result: Err(e.to_string()),
                        });
                        return;
                    }
                }
            }
            let _ = done.send(Imported {
                peer,
                sync,
                result: Ok(last),
            });
        });
    }

    fn on_imported(&mut self, d: Imported) {
        if d.sync {
            self.sync.in_flight = None;
        } else {
            self.sync.gossip_import = false;
        }
        match d.result {
            Ok(h) => {
                tracing::trace!(target: "batara::sync", height = h, "imported");
                if d.sync {
                    self.peers.delivered(d.peer, Instant::now());
                }
            }
            Err(reason) => self.ban(d.peer, &format!("invalid block: {reason}")),
        }
        self.maybe_request();
    }

    /// Asks the best candidate for the next blocks if we are behind and nothing is in flight.
    fn maybe_request(&mut self) {
        if self.sync.in_flight.is_some() {
            return;
        }
        let head = self.head();
        let now = Instant::now();
        let connected = &self.connected;
        match self.peers.pick(head, |p| connected.contains(p), now) {
            Some((peer, _)) => {
                let target = self.peers.best_claim(|p| connected.contains(p));
                if !self.stats.syncing.swap(true, Ordering::Relaxed) {
                    self.sync.began = Some((now, head));
                    tracing::info!(target: "batara::sync", height = head, target, "catching up");
                }
                self.stats.target.store(target, Ordering::Relaxed);
                self.sync.in_flight = Some(InFlight {
                    peer,
                    since: now,
                    from: head + 1,
                    importing: false,
                });
                self.swarm.behaviour_mut().sync.send_request(
                    &peer,
                    SyncRequest::Blocks {
                        from: head + 1,
                        max: SYNC_BATCH,
                    },
                );
            }
            None => {
                if self.stats.syncing.swap(false, Ordering::Relaxed) {
                    tracing::info!(target: "batara::sync", height = head, "caught up");
                }
            }
        }
    }

    fn on_tick(&mut self) {
        // A request unanswered for SYNC_TIMEOUT was withheld: a strike, and the next peer.
        if let Some(f) = self
            .sync
            .in_flight
            .filter(|f| !f.importing && f.since.elapsed() > syncpeers::SYNC_TIMEOUT)
        {
            self.sync.in_flight = None;
            self.strike(f.peer, "it withheld the blocks asked for");
        }
        if self.stats.syncing.load(Ordering::Relaxed) {
            let now = Instant::now();
            if self
                .sync
                .last_log
                .is_none_or(|t| now - t >= Duration::from_secs(1))
            {
                self.sync.last_log = Some(now);
                let head = self.head();
                let (t0, h0) = self.sync.began.unwrap_or((now, head));
                let rate = head.saturating_sub(h0) as f64 / (now - t0).as_secs_f64().max(1e-3);
                tracing::info!(
                    target: "batara::sync",
                    height = head,
                    target = self.stats.target.load(Ordering::Relaxed),
                    rate = format!("{rate:.0} blocks/s"),
                    "syncing"
                );
            }
        }
        // Ask everyone for their head every few seconds: a quiet network still converges.
        self.sync.ticks += 1;
        if self.sync.ticks.is_multiple_of(3) {
            let peers: Vec<PeerId> = self.connected.iter().copied().collect();
            for p in peers {
                self.swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&p, SyncRequest::Status);
            }
        }
        if self.connected.is_empty() {
            for (_, addr) in self.bootnodes.clone() {
                let _ = self.swarm.dial(addr);
            }
        } else if self.sync.ticks % 10 == 2 && self.connected.len() < self.max_peers {
            // Look for more peers through the ones we have.
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        self.maybe_request();
    }
}

/// The most peer identities banned at once ([`BanList`]).
const MAX_BANNED: usize = 10_000;

/// Banned peers and when each ban ends. Bounded (issue 10, finding 8): expired bans are dropped
/// at every new ban, and at [`MAX_BANNED`] the ban ending soonest makes room, so identities an
/// attacker mints by the thousand cost bounded memory (the map used to keep every one for ever).
struct BanList {
    until: HashMap<PeerId, Instant>,
    ttl: Duration,
    max: usize,
}

impl BanList {
    fn new(ttl: Duration, max: usize) -> Self {
        Self {
            until: HashMap::new(),
            ttl,
            max,
        }
    }

    fn ban(&mut self, peer: PeerId, now: Instant) {
        self.until.retain(|_, until| *until > now);
        if self.until.len() >= self.max && !self.until.contains_key(&peer) {
            let soonest = self.until.iter().min_by_key(|(_, u)| **u).map(|(p, _)| *p);
            if let Some(p) = soonest {
                self.until.remove(&p);
            }
        }
        self.until.insert(peer, now + self.ttl);
    }

    /// True while `peer`'s ban lasts; an expired ban is forgotten.
    fn is_banned(&mut self, peer: &PeerId, now: Instant) -> bool {
        match self.until.get(peer) {
            Some(until) if *until > now => true,
            Some(_) => {
                self.until.remove(peer);
                false
            }
            None => false,
        }
    }

    fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod ban_tests {
    use super::*;

    #[test]
    fn the_ban_list_forgets_expired_bans_and_stays_bounded() {
        let ttl = Duration::from_secs(600);
        let max = 100;
        let mut bans = BanList::new(ttl, max);
        let t0 = Instant::now();
        let first = PeerId::random();
        bans.ban(first, t0);
        assert!(bans.is_banned(&first, t0 + ttl / 2));
        // An attacker minting identities: the list never grows past its bound, and the oldest
        // bans make room for the newest.
        let mut last = first;
        for i in 0..max + 50 {
            last = PeerId::random();
            bans.ban(last, t0 + Duration::from_millis(i as u64 + 1));
        }
        assert_eq!(bans.len(), max);
        assert!(bans.is_banned(&last, t0 + ttl / 2));
        assert!(
            !bans.is_banned(&first, t0 + ttl / 2),
            "the oldest ban made room"
        );
        // Every ban expired: the next ban drops them all.
        let later = t0 + ttl * 2;
        bans.ban(PeerId::random(), later);
        assert_eq!(bans.len(), 1);
        assert!(!bans.is_banned(&last, later));
    }
}
