//! [`NodeHandle`]: a running node, as the CLI, the RPC servers and every binding see it.
//!
//! Grouped as: lifecycle and identity (this `impl`), the [`NodeApi`] (reads, submission, waiting,
//! dev controls: the surface JSON-RPC serves too), and the network (`network`,
//! `broadcast_consensus`). Submission path: decode → size, chain and module checks → batch
//! signature verification on all cores → mempool → gossip.
//!
//! Must never: hold a lock across a wait, or let a binding reach into the chain other than through
//! this handle. Servers hold a [`WeakNodeHandle`], so dropping every `NodeHandle` stops the node.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::api::{
    BackupView, ChainReader, Error, NodeApi, NodeInfo, Result, SubmitResult, TxInfo, WeakNode,
};
use crate::app::Genesis;
use crate::consensus::bft::ConsensusMsg;
use crate::consensus::{DevControls, MessageVerdict};
use crate::crypto::{self, BatchItem, Keypair};
use crate::mempool::{PoolStats, PoolTx, Rejection};
use crate::p2p::{NetworkHost, P2pHandle};
use crate::runtime::{Chain, CommittedBlock};
use crate::types::{Address, Amount, DuplicateVoteEvidence, Hash, SignedTransaction, TxKind};

use super::Inner;

/// A running node. Cheap to clone; every clone is the same node. The node stops on
/// [`NodeHandle::stop`] or when the last handle is dropped.
#[derive(Clone)]
pub struct NodeHandle {
    pub(super) inner: Arc<Inner>,
}

/// A reference to a node that does not keep it alive (what the RPC server and the network hold).
#[derive(Clone)]
pub struct WeakNodeHandle(pub(super) Weak<Inner>);

impl WeakNode for WeakNodeHandle {
    type Node = NodeHandle;

    fn upgrade(&self) -> Option<NodeHandle> {
        self.0
            .upgrade()
            .filter(|i| !i.stopped.load(Ordering::SeqCst))
            .map(|inner| NodeHandle { inner })
    }
}

impl NetworkHost for WeakNodeHandle {
    fn gossiped_txs(&self, txs: Vec<Vec<u8>>) -> MessageVerdict {
        let Some(n) = self.upgrade() else {
            return MessageVerdict::Ignore;
        };
        let results = n.admit(&txs);
        if let Some((i, e)) = results.iter().enumerate().find_map(|(i, r)| {
            r.as_ref()
                .err()
                .filter(|e| e.is_invalid_everywhere())
                .map(|e| (i, e))
        }) {
            return MessageVerdict::Reject(format!("transaction {i} of {}: {e}", txs.len()));
        }
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            tracing::trace!(target: "batara::p2p", %e, "gossiped tx not admitted");
        }
        // Relaying vouches for every transaction of the batch, so only a batch whose every
        // transaction was checked in full (a peer with lower limits would otherwise find a bad
        // signature behind one this node stopped at, and ban this node).
        let checked = results
            .iter()
            .all(|r| r.as_ref().err().is_none_or(|e| !e.is_unchecked()));
        if checked && results.iter().any(Result::is_ok) {
            MessageVerdict::Accept
        } else {
            MessageVerdict::Ignore
        }
    }

    fn consensus_message(&self, data: &[u8]) -> MessageVerdict {
        match self.upgrade() {
            Some(n) => n.inner.engine.network_message(data),
            None => MessageVerdict::Ignore,
        }
    }
}

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
        &self.inner.chain.spec().chain_id
    }

    /// The genesis this node was started with.
    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// The chain (read access for tools such as the benchmark and tests).
    pub fn chain(&self) -> &Arc<Chain> {
        &self.inner.chain
    }

    /// The JSON-RPC address, when serving.
    pub fn rpc_addr(&self) -> Option<SocketAddr> {
        self.inner.rpc_addr.get().copied()
    }

    /// Mempool counts.
    pub fn mempool_stats(&self) -> PoolStats {
        self.inner.mempool.stats()
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
        let nonce = self.next_nonce(&key.address())?;
        let tx = crate::api::parse::sign(
            TxKind::Transfer { to, amount },
            fee,
            nonce,
            self.chain_id(),
            key,
        );
        let hash = self.submit(&tx.to_bytes())?;
        if wait {
            self.wait_for_tx(&hash, Duration::from_secs(60))?;
        }
        Ok(hash)
    }

    /// Stops the node: RPC, then consensus (finishing a block being written). Idempotent.
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// What a timeout waiting for a pending transaction adds to its message: on a dev chain, that
    /// blocks may be waiting for `mine` (manual mode); nothing on other chains.
    pub fn pending_hint(&self) -> &'static str {
        if self.inner.genesis.dev {
            " (it is still pending: a dev chain in manual mode makes blocks only on mine / dev_mine)"
        } else {
            " (it is still pending)"
        }
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// The network service (peer id, listen addresses, peers, bans, sync), if the node joined one.
    pub fn network(&self) -> Option<&P2pHandle> {
        self.inner.p2p.get()
    }

    /// What this node's consensus holds in memory, counted by what peers can make it keep, each
    /// with a bound that does not grow with what they send ([`crate::consensus::bft::BftFootprint`]); `None` for the
    /// dev engines. For tests and the metrics.
    pub fn consensus_footprint(&self) -> Option<crate::consensus::bft::BftFootprint> {
        self.inner.engine.footprint()
    }

    /// Relays a signed consensus message (borsh `ConsensusMsg`: a proposal, vote or evidence) to
    /// this node's engine and, when the engine accepts it, to its peers — as if a peer had gossiped
    /// it. For remote signers and test tools.
    pub fn broadcast_consensus(&self, data: &[u8]) -> MessageVerdict {
        let v = self.inner.engine.network_message(data);
        if v == MessageVerdict::Accept {
            if let Some(p2p) = self.network() {
                p2p.publish_consensus(data.to_vec());
            }
        }
        v
    }

    /// [`NodeApi::submit_batch`] over any byte slices (the benchmark submits borrowed ones).
    pub(crate) fn submit_slices<B: AsRef<[u8]>>(&self, txs: &[B]) -> Vec<SubmitResult> {
        let results = self.admit(txs);
        if let Some(p2p) = self.network() {
            for (raw, r) in txs.iter().zip(&results) {
                if r.is_ok() {
                    p2p.publish_tx(raw.as_ref().to_vec());
                }
            }
        }
        results
    }

    /// Checks transactions and puts them in the mempool (no gossip).
    pub(super) fn admit<B: AsRef<[u8]>>(&self, txs: &[B]) -> Vec<SubmitResult> {
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
                    PoolTx::new(tx, hash, raw.len(), mempool.rules())
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
}

impl NodeApi for NodeHandle {
    /// Node status.
    fn info(&self) -> NodeInfo {
        let head = self.inner.chain.head();
        NodeInfo {
            chain_id: self.chain_id().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            height: head.header.height,
            latest_hash: head.hash,
            genesis_hash: self.inner.chain.genesis_hash(),
            peers: self.network().map_or(0, |p| p.peers() as u32),
            peer_id: self.network().map(|p| p.peer_id().to_string()),
            listen_addrs: self.network().map_or_else(Vec::new, |p| {
                p.listen_addrs().iter().map(|a| a.to_string()).collect()
            }),
            is_validator: self.inner.engine.is_validator(),
            syncing: self.network().is_some_and(|p| p.syncing().is_some()),
            engine: self.inner.engine.name().to_owned(),
            mempool_txs: self.inner.mempool.stats().txs,
            min_fee: self.inner.mempool.min_fee(),
            min_gas_price: self
                .inner
                .chain
                .rules()
                .map_or(self.inner.chain.spec().rules.min_gas_price, |r| {
                    r.min_gas_price
                }),
        }
    }

    fn reader(&self) -> &ChainReader {
        &self.inner.reader
    }

    fn submit(&self, bytes: &[u8]) -> Result<Hash> {
        self.live()?;
        let mut r = self.submit_batch(&[bytes.to_vec()]);
        Ok(r.pop().expect("one result per transaction")?)
    }

    /// Signatures are batch-verified on all cores; accepted transactions are gossiped to peers.
    fn submit_batch(&self, txs: &[Vec<u8>]) -> Vec<SubmitResult> {
        self.submit_slices(txs)
    }

    /// Waits until transaction `hash` is in a committed block, at most `timeout`.
    fn wait_for_tx(&self, hash: &Hash, timeout: Duration) -> Result<TxInfo> {
        // A timeout too long to add to now (u64::MAX ms from C) waits for a century instead.
        let timeout = timeout.min(crate::api::MAX_WAIT);
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
                    "transaction {hash} not committed within {timeout:?}{}",
                    self.pending_hint()
                )));
            }
            self.inner.sink.wait_head_change(seen, deadline - now);
        }
    }

    fn next_nonce(&self, address: &Address) -> Result<u64> {
        let state = self.inner.chain.state();
        Ok(self
            .inner
            .mempool
            .next_nonce_with(address, |a| state.account(a))?)
    }

    fn subscribe_blocks(&self) -> broadcast::Receiver<CommittedBlock> {
        self.inner.blocks.subscribe()
    }

    fn submit_evidence(&self, evidence: DuplicateVoteEvidence) -> Result<Hash> {
        self.live()?;
        let engine = self.inner.engine.name();
        if engine != "bft" {
            return Err(Error::InvalidInput(format!(
                "this node runs the {engine} engine, which takes no evidence (evidence is for BFT \
                 networks)"
            )));
        }
        let head = self.inner.chain.head().header.height;
        if let Some(problem) = self.inner.chain.evidence_problem(head + 1, &evidence) {
            return Err(Error::InvalidInput(format!(
                "evidence not usable: {problem}"
            )));
        }
        let hash = evidence.hash();
        let msg = borsh::to_vec(&ConsensusMsg::Evidence(evidence)).expect("borsh into Vec");
        match self.inner.engine.network_message(&msg) {
            MessageVerdict::Accept => {}
            MessageVerdict::Ignore => {
                return Err(Error::InvalidInput(
                    "evidence not usable now: its height's validator set is not known here".into(),
                ))
            }
            MessageVerdict::Reject(why) => return Err(Error::InvalidInput(why)),
        }
        if let Some(p2p) = self.network() {
            p2p.publish_consensus(msg);
        }
        tracing::warn!(target: "batara::node", evidence = %hash, "evidence submitted");
        Ok(hash)
    }

    fn backup(&self, dir: Option<&std::path::Path>) -> Result<BackupView> {
        self.live()?;
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => {
                let base = self.inner.backup_dir.as_ref().ok_or_else(|| {
                    Error::InvalidInput(
                        "backups over JSON-RPC are off: set backup_dir in config.toml".into(),
                    )
                })?;
                std::fs::create_dir_all(base).map_err(|source| Error::Io {
                    context: format!("creating {}", base.display()),
                    source,
                })?;
                // Unique within this process even for two calls in one millisecond.
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                base.join(format!("backup-{ms}-{n}"))
            }
        };
        super::backup::write(&self.inner.chain, &self.inner.genesis, &dir)
    }

    fn dev(&self, what: &'static str) -> Result<&dyn DevControls> {
        self.live()?;
        self.inner.engine.dev_controls().ok_or(Error::Consensus(
            crate::consensus::ConsensusError::NotDev(what),
        ))
    }
}
