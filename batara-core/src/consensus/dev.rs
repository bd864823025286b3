//! The dev engine: one validator, blocks when asked.
//!
//! Modes ([`DevMode`]): `auto` makes a block as soon as transactions are ready, taking every ready
//! transaction up to the block limits (and keeps going while more are ready); `interval` makes one
//! every `block_time_ms`, empty or not; `manual` only on [`DevControls::mine`]. `mine` works in every
//! mode. One producer lock serialises every path that makes or removes blocks.
//!
//! Its commits carry the dev key's signature alone. If staking brings other validators to 1/3 of the
//! power or more, those commits no longer verify (`Chain::commit` checks every commit) and the engine
//! stops making blocks with that error: such a chain needs the BFT engine (a network).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::{BlockSink, Clock, ConsensusEngine, ConsensusError, DevControls};
use super::{ConsensusConfig, DevMode};
use crate::runtime::{ChainError, CommittedBlock};
use crate::state::Account;
use crate::types::{Address, Amount};
use crate::validator::Signer;

struct Shared {
    sink: Arc<BlockSink>,
    signer: Box<dyn Signer>,
    clock: Box<dyn Clock>,
    time_offset: Mutex<u64>,
    producer: Mutex<()>,
    snapshots: Mutex<Vec<(u64, u64)>>,
    next_snapshot: std::sync::atomic::AtomicU64,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
}

#[derive(Default)]
struct Wake {
    txs: bool,
    stop: bool,
}

impl Shared {
    /// Refuses to change the chain once the engine is stopping (checked under the producer lock,
    /// so nothing starts after `stop` returns).
    fn check_running(&self) -> Result<(), ConsensusError> {
        if self.wake.lock().stop {
            Err(ConsensusError::Stopped)
        } else {
            Ok(())
        }
    }

    /// Clock plus the `dev_increaseTime` offset, capped at [`MAX_DEV_TIME_MS`] (a huge offset
    /// must not overflow, and blocks after it still get increasing times: parent + 1).
    fn now(&self) -> u64 {
        self.clock
            .now_ms()
            .saturating_add(*self.time_offset.lock())
            .min(MAX_DEV_TIME_MS)
    }

    /// Makes one block from the ready transactions or, given `set_balance`, an empty block that
    /// sets that balance (computed under the producer lock, so no block can slip in between).
    fn produce(
        &self,
        set_balance: Option<(Address, Amount)>,
    ) -> Result<CommittedBlock, ConsensusError> {
        let _p = self.producer.lock();
        let chain = self.sink.chain();
        let rules = chain.rules()?;
        let (candidates, overrides) = match set_balance {
            None => (
                self.sink
                    .mempool()
                    .select(rules.max_block_txs as usize, rules.max_block_bytes),
                None,
            ),
            Some((address, balance)) => {
                let nonce = chain
                    .state()
                    .account(&address)
                    .map_err(ChainError::from)?
                    .nonce;
                (
                    vec![],
                    Some(BTreeMap::from([(address, Account { balance, nonce })])),
                )
            }
        };
        let (ex, left_out) =
            chain.build_block_with(&candidates, self.signer.address(), self.now(), overrides)?;
        self.sink.mempool().remove(&left_out);
        let commit = chain.sign_commit(&ex, self.signer.as_ref());
        Ok(self.sink.commit(ex, commit)?)
    }
}

/// The one-validator engine.
pub struct DevEngine {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The latest block time `dev_increaseTime` can reach: the end of year 9999 (ms since the Unix
/// epoch), far from `u64::MAX`.
pub const MAX_DEV_TIME_MS: u64 = 253_402_300_799_999;

impl DevEngine {
    /// Starts the engine (its thread, in `auto` and `interval` modes).
    pub fn start(
        sink: Arc<BlockSink>,
        signer: Box<dyn Signer>,
        clock: Box<dyn Clock>,
        cfg: &ConsensusConfig,
    ) -> Self {
        let shared = Arc::new(Shared {
            sink,
            signer,
            clock,
            time_offset: Mutex::new(0),
            producer: Mutex::new(()),
            snapshots: Mutex::new(Vec::new()),
            next_snapshot: std::sync::atomic::AtomicU64::new(1),
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
        });
        let thread = match cfg.mode {
            DevMode::Manual => None,
            mode => {
                let s = shared.clone();
                let every = Duration::from_millis(cfg.block_time_ms.max(1));
                Some(
                    std::thread::Builder::new()
                        .name("batara-dev-engine".into())
                        .spawn(move || run(s, mode, every))
                        .expect("spawn engine thread"),
                )
            }
        };
        Self {
            shared,
            thread: Mutex::new(thread),
        }
    }
}

fn run(s: Arc<Shared>, mode: DevMode, every: Duration) {
    let mut next = Instant::now() + every;
    loop {
        {
            let mut w = s.wake.lock();
            match mode {
                DevMode::Interval => {
                    while !w.stop && Instant::now() < next {
                        s.wake_cv.wait_until(&mut w, next);
                    }
                }
                _ => {
                    while !w.stop && !w.txs {
                        s.wake_cv.wait(&mut w);
                    }
                }
            }
            if w.stop {
                return;
            }
            w.txs = false;
        }
        let result = match mode {
            DevMode::Interval => {
                next += every;
                if next < Instant::now() {
                    next = Instant::now() + every;
                }
                s.produce(None).map(|_| ())
            }
            _ => {
                // Keep making blocks while transactions are ready; stop after a block that took
                // none (what is "ready" could not be included), so the loop never spins.
                let mut r = Ok(());
                while s.sink.mempool().has_ready() && !s.wake.lock().stop {
                    match s.produce(None) {
                        Ok(cb) if cb.block.txs.is_empty() => break,
                        Ok(_) => {}
                        Err(e) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                r
            }
        };
        if let Err(e) = result {
            tracing::error!(target: "batara::consensus", %e, "dev engine could not make a block; stopping it");
            return;
        }
    }
}

impl ConsensusEngine for DevEngine {
    fn name(&self) -> &'static str {
        "dev"
    }

    fn notify_txs(&self) {
        self.shared.wake.lock().txs = true;
        self.shared.wake_cv.notify_one();
    }

    fn is_validator(&self) -> bool {
        true
    }

    fn stop(&self) {
        self.shared.wake.lock().stop = true;
        self.shared.wake_cv.notify_all();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
        // Wait for a block being made by another thread (dev_mine) to finish.
        drop(self.shared.producer.lock());
    }

    fn dev_controls(&self) -> Option<&dyn DevControls> {
        Some(self)
    }
}

impl DevControls for DevEngine {
    fn mine(&self, count: u32) -> Result<Vec<CommittedBlock>, ConsensusError> {
        (0..count).map(|_| self.shared.produce(None)).collect()
    }

    fn snapshot(&self) -> u64 {
        let _p = self.shared.producer.lock();
        let height = self.shared.sink.chain().head().header.height;
        let mut snaps = self.shared.snapshots.lock();
        // Ids are never reused, so a used-up id can never name a newer snapshot.
        let id = self
            .shared
            .next_snapshot
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        snaps.push((id, height));
        id
    }

    fn revert(&self, id: u64) -> Result<(), ConsensusError> {
        let _p = self.shared.producer.lock();
        self.shared.check_running()?;
        let mut snaps = self.shared.snapshots.lock();
        let pos = snaps
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(ConsensusError::UnknownSnapshot(id))?;
        let height = snaps[pos].1;
        snaps.truncate(pos);
        let sink = &self.shared.sink;
        sink.chain().revert_to(height)?;
        sink.mempool().clear();
        sink.set_head(height);
        Ok(())
    }

    fn set_balance(
        &self,
        address: Address,
        amount: Amount,
    ) -> Result<CommittedBlock, ConsensusError> {
        self.shared.produce(Some((address, amount)))
    }

    fn increase_time(&self, ms: u64) -> u64 {
        let mut off = self.shared.time_offset.lock();
        *off = off.saturating_add(ms);
        *off
    }

    fn skip_time_to(&self, ms: u64) -> u64 {
        let mut off = self.shared.time_offset.lock();
        let now = self.shared.clock.now_ms().saturating_add(*off);
        *off = off.saturating_add(ms.saturating_sub(now));
        *off
    }
}
