//! Consensus: who proposes, when a block is final, and what happens around a commit.
//!
//! Owns: the [`ConsensusEngine`] seam, the [`Clock`] seam (block time comes from the host, so a dev
//! chain can warp it), and [`BlockSink`], the one path by which any engine commits a block: write it,
//! re-check the mempool, wake waiters and announce it. The rest of the node never knows which engine
//! runs. [`DevEngine`] is the one-validator engine; the multi-validator BFT engine sits behind the
//! same trait; its pure logic (the Tendermint state machine and proposer selection) is [`bft`].
//!
//! Must never: commit a block by any other path than [`BlockSink::commit`].

pub mod bft;
mod dev;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use dev::{DevEngine, MAX_DEV_TIME_MS};

use crate::mempool::Mempool;
use crate::runtime::{Chain, ChainError, CommittedBlock, Executed};
use crate::types::{Address, Amount, Block, Commit};

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
    pub bft: bft::BftTimeouts,
    /// Dev chains: keep the host calls of the latest contract transactions in memory, for
    /// `vm_traceTransaction` (on by default; `batara bench` turns it off).
    pub keep_traces: bool,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        Self {
            mode: DevMode::Auto,
            block_time_ms: 1_000,
            bft: Default::default(),
            keep_traces: true,
        }
    }
}

/// Wall-clock time for block headers, in ms since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Now.
    fn now_ms(&self) -> u64;
}

/// The operating system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Errors of consensus engines and their controls.
#[derive(Debug, thiserror::Error)]
pub enum ConsensusError {
    /// Committing failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A dev control on an engine that has none.
    #[error("not a dev chain: {0} is only available on a dev chain")]
    NotDev(&'static str),
    /// Unknown snapshot id.
    #[error("unknown snapshot {0}")]
    UnknownSnapshot(u64),
    /// The engine has stopped.
    #[error("consensus engine stopped")]
    Stopped,
}

/// Dev-chain controls (anvil-style). Only dev engines offer them.
pub trait DevControls: Send + Sync {
    /// Makes `count` blocks now (with whatever transactions are ready).
    fn mine(&self, count: u32) -> Result<Vec<CommittedBlock>, ConsensusError>;
    /// Remembers the current head; returns an id for [`DevControls::revert`].
    fn snapshot(&self) -> u64;
    /// Returns the chain to a snapshot (which is then used up, as in anvil); clears the mempool.
    fn revert(&self, id: u64) -> Result<(), ConsensusError>;
    /// Sets a balance (in a new block, outside any transaction).
    fn set_balance(
        &self,
        address: Address,
        amount: Amount,
    ) -> Result<CommittedBlock, ConsensusError>;
    /// Moves block time forward by `ms`; returns the total offset.
    fn increase_time(&self, ms: u64) -> u64;
    /// Moves block time forward, if needed, so the next block's time is at least `ms`; returns
    /// the total offset.
    fn skip_time_to(&self, ms: u64) -> u64;
}

/// A consensus engine. `Send + Sync`; started by the node, stopped once.
pub trait ConsensusEngine: Send + Sync {
    /// Short name (`dev`, `bft`).
    fn name(&self) -> &'static str;
    /// New transactions entered the mempool.
    fn notify_txs(&self);
    /// True when this node signs blocks.
    fn is_validator(&self) -> bool;
    /// Stops the engine and waits for it: a block being written is finished, no new one starts.
    fn stop(&self);
    /// Dev controls, if this engine has them.
    fn dev_controls(&self) -> Option<&dyn DevControls> {
        None
    }
    /// What the engine holds in memory, by what peers can make it keep (BFT only).
    fn footprint(&self) -> Option<bft::BftFootprint> {
        None
    }
    /// A consensus message gossiped by a peer (proposal, vote, evidence). The verdict decides
    /// whether gossip relays it, and a rejected one gets its sender banned.
    fn network_message(&self, _data: &[u8]) -> MessageVerdict {
        MessageVerdict::Ignore
    }
}

/// What an engine says about a consensus message from the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageVerdict {
    /// Valid: relay it.
    Accept,
    /// Not useful now (old height, duplicate): drop it, no blame.
    Ignore,
    /// Malformed or badly signed: drop it and ban the sender.
    Reject(String),
}

/// The engine of a node that does not validate: its blocks arrive through the network (block
/// sync and gossip, see `p2p/`), each checked against its commit and re-executed.
pub struct FollowerEngine;

impl ConsensusEngine for FollowerEngine {
    fn name(&self) -> &'static str {
        "follower"
    }

    fn notify_txs(&self) {}

    fn is_validator(&self) -> bool {
        false
    }

    fn stop(&self) {}
}

/// Where engines deliver blocks: commits, re-checks the mempool, wakes waiters, announces.
pub struct BlockSink {
    chain: Arc<Chain>,
    mempool: Arc<Mempool>,
    blocks: broadcast::Sender<CommittedBlock>,
    head: Mutex<HeadState>,
    head_changed: Condvar,
}

/// What waiters watch: the head height, and whether the node is shutting down (kept under the
/// same mutex so a shutdown can never slip between a waiter's check and its sleep).
struct HeadState {
    height: u64,
    closed: bool,
}

impl BlockSink {
    /// A sink for `chain`; subscribers get blocks through `blocks`.
    pub fn new(
        chain: Arc<Chain>,
        mempool: Arc<Mempool>,
        blocks: broadcast::Sender<CommittedBlock>,
    ) -> Self {
        let h = chain.head().header.height;
        Self {
            chain,
            mempool,
            blocks,
            head: Mutex::new(HeadState {
                height: h,
                closed: false,
            }),
            head_changed: Condvar::new(),
        }
    }

    /// The chain.
    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The mempool.
    pub fn mempool(&self) -> &Arc<Mempool> {
        &self.mempool
    }

    /// Commits an executed block with its commit and tells everyone.
    pub fn commit(&self, mut ex: Executed, commit: Commit) -> Result<CommittedBlock, ChainError> {
        let changed = std::mem::take(&mut ex.changed);
        let cb = self.chain.commit(ex, commit)?;
        self.mempool.recheck(&changed);
        tracing::debug!(target: "batara::consensus", height = cb.block.header.height, txs = cb.block.txs.len(), "committed");
        self.set_head(cb.block.header.height);
        // No subscribers is fine.
        let _ = self.blocks.send(cb.clone());
        Ok(cb)
    }

    /// Imports a block made elsewhere (block sync, gossip): checks its commit against that
    /// height's validator set, re-executes it, and commits it like any other block.
    pub fn import(&self, block: &Block, commit: Commit) -> Result<CommittedBlock, ChainError> {
        let ex = self.chain.check_import(block, &commit)?;
        self.commit(ex, commit)
    }

    /// Records a new head height (after a commit or a revert), puts the mempool on the rules in
    /// force at it, and wakes waiters.
    pub fn set_head(&self, height: u64) {
        // The head has moved whatever happens here: a rules read that fails leaves the pool on
        // the floors it had.
        match self.chain.rules() {
            Ok(r) => self.mempool.follow_rules(r.min_fee, r.max_block_bytes),
            Err(e) => {
                tracing::error!(target: "batara::consensus", "cannot read the chain's rules: {e}")
            }
        }
        self.head.lock().height = height;
        self.head_changed.notify_all();
    }

    /// Waits until the head changes from `seen`, the sink is closed, or `timeout` passes; returns
    /// the head height.
    pub fn wait_head_change(&self, seen: u64, timeout: Duration) -> u64 {
        let mut h = self.head.lock();
        if h.height == seen && !h.closed {
            self.head_changed.wait_for(&mut h, timeout);
        }
        h.height
    }

    /// Closes the sink at shutdown: wakes every waiter, and later waits return at once.
    pub fn close(&self) {
        self.head.lock().closed = true;
        self.head_changed.notify_all();
    }
}
