//! The mempool: signed transactions waiting for a block.
//!
//! Owns: per-sender queues ordered by nonce, split into *ready* (a gap-free run starting at the
//! sender's account nonce) and *future* (after a gap); fee priority across senders when a block is
//! built; same-nonce replacement (only for a strictly higher fee); the limits of [`MempoolConfig`];
//! and the re-check after each block (committed nonces dropped, balances re-checked).
//!
//! Admission checks, in order, each with its own [`Rejection`]: size, chain id, the module's
//! stateless checks ([`TxRules::check`]), duplicate, signature (done by the caller, in batches —
//! see `node/handle.rs`), nonce too low, nonce too far ahead, sender limit, the future-queue limits
//! (a transaction after a nonce gap: at most `max_future_per_sender` of one sender and
//! `max_future` in all, as geth bounds its queue), balance for this and every earlier pending
//! transaction of the sender (its cost: fee + what the kind spends, from [`TxRules::max_cost`]),
//! the minimum fee (the chain's `min_fee` in force, or this node's higher `min_fee`), pool limits.
//! The chain's part of the size and fee floors follows its rules ([`Mempool::follow_rules`], after
//! every block): once governance raises `min_fee`, cheaper transactions are refused at the door;
//! those already pending stay until their TTL (the builder leaves them out of blocks).
//!
//! A full pool makes room for a transaction paying a higher fee than its cheapest one (geth's
//! choice; CometBFT's default refuses instead, which lets junk lock honest senders out): the
//! cheapest transaction of another sender (among equal fees the highest nonce, so usually a
//! sender's last) is evicted together with that sender's later ones (which could no longer
//! execute), until the newcomer fits; when nothing cheaper is held the pool
//! answers `pool_full`. A transaction older than `ttl_secs` is dropped with its sender's later
//! ones at the next block (or when a full pool looks for room), so nothing stays for good.
//!
//! The pool names no module: what a transaction can cost and whether it is well formed come from
//! [`TxRules`], which the runtime's registry implements by asking the module of the kind.
//!
//! Must never: hold a transaction whose signature was not verified, or hand a block builder two
//! transactions of one sender out of nonce order.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::state::Account;
use crate::types::{dec_u128, Address, Amount, Hash, SignedTransaction};
use serde::{Deserialize, Serialize};

/// Mempool limits. Defaults follow CometBFT's spirit (1 MB per tx) with room for the
/// `batara bench` load (tens of thousands of pending transfers).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (sum of transaction sizes).
    pub max_bytes: usize,
    /// Largest transaction accepted, in bytes.
    pub max_tx_bytes: usize,
    /// Most transactions held for one sender.
    pub max_per_sender: usize,
    /// How far past the sender's next nonce a transaction may be (future queue).
    pub max_nonce_gap: u64,
    /// Most future transactions (after a nonce gap: not includable yet) held for one sender
    /// (geth's `AccountQueue`).
    pub max_future_per_sender: usize,
    /// Most future transactions held in all (geth's `GlobalQueue`): junk at far nonces cannot
    /// fill the pool.
    pub max_future: usize,
    /// Seconds a transaction may wait; older ones are dropped (0: no limit).
    pub ttl_secs: u64,
    /// This node's minimum fee; the chain's `params.min_fee` applies when it is higher (a decimal
    /// string, as every amount).
    #[serde(with = "dec_u128")]
    pub min_fee: Amount,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_bytes: 64 << 20,
            max_tx_bytes: 1 << 20,
            max_per_sender: 1_000,
            max_nonce_gap: 1_000,
            max_future_per_sender: 64,
            max_future: 4_096,
            ttl_secs: 600,
            min_fee: 0,
        }
    }
}

/// Why a transaction was refused. The messages are part of the API (JSON-RPC error text).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Bytes that do not decode as a signed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Signed for another chain.
    #[error("wrong chain id: expected {expected}, got {got}")]
    WrongChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// Nonce already used.
    #[error("nonce too low: expected {expected}, got {got}")]
    NonceTooLow {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// Nonce too far past the account's next nonce.
    #[error("nonce too far ahead: expected at most {max}, got {got}")]
    NonceTooHigh {
        /// Largest acceptable nonce.
        max: u64,
        /// The transaction's.
        got: u64,
    },
    /// The sender cannot pay amount + fee (with its earlier pending transactions).
    #[error("insufficient balance for amount + fee: need {need}, have {have}")]
    InsufficientBalance {
        /// Cost of this and the sender's earlier pending transactions.
        need: Amount,
        /// Balance.
        have: Amount,
    },
    /// Already in the pool (or already committed).
    #[error("duplicate transaction {0}")]
    Duplicate(Hash),
    /// Same sender and nonce as a pending transaction, without a higher fee.
    #[error("replacement fee too low: pending transaction pays {pending}, replacement {offered}")]
    ReplacementUnderpriced {
        /// Fee of the pending one.
        pending: Amount,
        /// Fee offered.
        offered: Amount,
    },
    /// Transaction larger than the limit.
    #[error("transaction too large: {size} bytes, limit {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The pool is at its transaction or byte limit.
    #[error("mempool full: {0}")]
    PoolFull(String),
    /// The node could not read the sender's account.
    #[error("node unavailable: {0}")]
    Unavailable(String),
    /// The sender has the most pending transactions allowed.
    #[error("too many pending transactions from {sender}: limit {max}")]
    SenderFull {
        /// The sender.
        sender: Address,
        /// The limit.
        max: usize,
    },
    /// The transaction comes after a nonce gap and the future queue (of its sender, or of the
    /// pool) is full: send the missing nonces first.
    #[error("future queue full: {0}")]
    FutureFull(String),
    /// The fee is below the minimum (the chain's, or this node's).
    #[error("fee too low: the minimum is {min}, got {got}")]
    FeeTooLow {
        /// The minimum.
        min: Amount,
        /// The transaction's fee.
        got: Amount,
    },
}

impl Rejection {
    /// True when no node of this chain could ever accept the transaction, whatever its state
    /// or config: undecodable, badly signed, for another chain, or failing a stateless rule.
    /// (Stale nonces, balances, duplicates, full pools and fee floors depend on the node.) A
    /// peer relaying such a transaction did not verify it, or made it.
    pub fn is_invalid_everywhere(&self) -> bool {
        matches!(
            self,
            Rejection::Malformed(_) | Rejection::BadSignature | Rejection::WrongChainId { .. }
        )
    }

    /// True when the node refused the transaction on its own limits (size, fee floor, or being
    /// stopped) before checking its chain id, rules and signature: it says nothing of whether
    /// the transaction is valid, so the node must not vouch for it by relaying it.
    pub fn is_unchecked(&self) -> bool {
        matches!(
            self,
            Rejection::TooLarge { .. } | Rejection::FeeTooLow { .. } | Rejection::Unavailable(_)
        )
    }

    /// A stable, machine-readable name of the reason (used by the bindings and RPC error data).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::BadSignature => "bad_signature",
            Rejection::WrongChainId { .. } => "wrong_chain_id",
            Rejection::NonceTooLow { .. } => "nonce_too_low",
            Rejection::NonceTooHigh { .. } => "nonce_too_high",
            Rejection::InsufficientBalance { .. } => "insufficient_balance",
            Rejection::Duplicate(_) => "duplicate",
            Rejection::ReplacementUnderpriced { .. } => "replacement_underpriced",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::PoolFull(_) => "pool_full",
            Rejection::SenderFull { .. } => "sender_full",
            Rejection::FutureFull(_) => "future_full",
            Rejection::FeeTooLow { .. } => "fee_too_low",
            Rejection::Unavailable(_) => "unavailable",
        }
    }
}

/// What the pool needs to know of transaction kinds (declared here, where it is used; the runtime's
/// registry implements it).
pub trait TxRules: Send + Sync {
    /// The most the transaction can take from its sender: the fee plus what its kind spends;
    /// `None` when that overflows or no module handles the kind.
    fn max_cost(&self, tx: &SignedTransaction) -> Option<Amount>;
    /// The checks of the transaction's kind that need no state.
    fn check(&self, tx: &SignedTransaction) -> Result<(), String>;
}

/// A verified transaction in the pool.
#[derive(Debug)]
pub struct PoolTx {
    /// The transaction.
    pub tx: SignedTransaction,
    /// Its hash.
    pub hash: Hash,
    /// Its sender.
    pub sender: Address,
    /// Encoded size in bytes.
    pub size: usize,
    /// Amount + fee.
    pub cost: Amount,
    /// When it arrived (its time to live counts from here).
    pub arrived: Instant,
}

impl PoolTx {
    /// Wraps a transaction whose signature the caller verified. `None` if its cost (from
    /// `rules`) overflows.
    pub fn new(
        tx: SignedTransaction,
        hash: Hash,
        size: usize,
        rules: &dyn TxRules,
    ) -> Option<Self> {
        let cost = rules.max_cost(&tx)?;
        Some(Self {
            sender: tx.sender(),
            tx,
            hash,
            size,
            cost,
            arrived: Instant::now(),
        })
    }

    fn fee(&self) -> Amount {
        self.tx.body.fee
    }

    fn fee_key(&self) -> (Amount, std::cmp::Reverse<u64>, Hash) {
        (self.fee(), std::cmp::Reverse(self.nonce()), self.hash)
    }

    fn nonce(&self) -> u64 {
        self.tx.body.nonce
    }
}

#[derive(Default)]
struct SenderQueue {
    /// The account nonce when last checked (the first ready nonce).
    base_nonce: u64,
    txs: BTreeMap<u64, Arc<PoolTx>>,
    /// How many of `txs` come after the first nonce gap (kept by [`Inner::recount`]).
    future: usize,
}

/// The first nonce past the gap-free run of `txs` that starts at `base`.
fn ready_end(txs: &BTreeMap<u64, Arc<PoolTx>>, base: u64) -> u64 {
    let mut next = base;
    for n in txs.range(base..).map(|(n, _)| *n) {
        if n != next {
            break;
        }
        next += 1;
    }
    next
}

impl SenderQueue {
    /// Transactions after the first gap.
    fn count_future(&self) -> usize {
        self.txs
            .range(ready_end(&self.txs, self.base_nonce)..)
            .count()
    }

    /// Brings the queue in line with the sender's committed `account`: removes and returns the
    /// transactions whose nonce is used and those (from the first one on) that the balance can no
    /// longer cover, counting every earlier pending transaction's amount + fee.
    fn settle(&mut self, account: Account) -> Vec<Arc<PoolTx>> {
        self.base_nonce = account.nonce;
        let keep = self.txs.split_off(&account.nonce);
        let mut out: Vec<Arc<PoolTx>> = std::mem::replace(&mut self.txs, keep)
            .into_values()
            .collect();
        let mut spent: Amount = 0;
        let cut = self.txs.iter().find_map(|(n, t)| {
            spent = spent.saturating_add(t.cost);
            (spent > account.balance).then_some(*n)
        });
        if let Some(n) = cut {
            out.extend(self.txs.split_off(&n).into_values());
        }
        out
    }
}

#[derive(Default)]
struct Inner {
    senders: HashMap<Address, SenderQueue>,
    by_hash: HashMap<Hash, Arc<PoolTx>>,
    bytes: usize,
    /// Σ of every queue's `future`.
    future: usize,
    /// Every held transaction by fee, and among equal fees the highest nonce first: the cheapest
    /// is evicted first when the pool is full, preferably a sender's last (nothing follows it).
    by_fee: BTreeSet<(Amount, std::cmp::Reverse<u64>, Hash)>,
    /// Transactions in arrival order, for expiry: appended on insert, popped from the front when
    /// they expire. Entries of transactions that left otherwise stay until popped or compacted
    /// away (when they outnumber the held ones), so insert and remove stay O(1) here.
    by_age: std::collections::VecDeque<(Instant, Hash)>,
}

impl Inner {
    /// Re-counts `addr`'s future transactions after its queue changed (and drops an empty queue).
    fn recount(&mut self, addr: &Address) {
        let Some(q) = self.senders.get_mut(addr) else {
            return;
        };
        let now = q.count_future();
        self.future = self.future - q.future + now;
        q.future = now;
        if q.txs.is_empty() {
            self.senders.remove(addr);
        }
    }

    fn add_tx(&mut self, ptx: Arc<PoolTx>) {
        self.bytes += ptx.size;
        self.by_fee.insert(ptx.fee_key());
        if self.by_age.len() > 2 * self.by_hash.len() + 1_024 {
            let held = &self.by_hash;
            self.by_age.retain(|(_, h)| held.contains_key(h));
        }
        self.by_age.push_back((ptx.arrived, ptx.hash));
        self.by_hash.insert(ptx.hash, ptx);
    }

    fn remove_tx(&mut self, ptx: &PoolTx) {
        if self.by_hash.remove(&ptx.hash).is_some() {
            self.bytes -= ptx.size;
            self.by_fee.remove(&ptx.fee_key());
        }
    }

    /// Removes `ptx` and its sender's later transactions (which could not execute without it).
    /// Returns how many were removed.
    fn remove_from(&mut self, ptx: &PoolTx) -> usize {
        let Some(q) = self.senders.get_mut(&ptx.sender) else {
            return 0;
        };
        let gone: Vec<Arc<PoolTx>> = q.txs.split_off(&ptx.nonce()).into_values().collect();
        for t in &gone {
            self.remove_tx(t);
        }
        self.recount(&ptx.sender);
        gone.len()
    }

    /// Drops every transaction that arrived before `cutoff` (with its sender's later ones).
    fn expire(&mut self, cutoff: Instant) {
        while let Some(&(at, hash)) = self.by_age.front() {
            if at >= cutoff {
                break;
            }
            self.by_age.pop_front();
            // Gone already, or the same hash admitted again later (its own entry is further on).
            if let Some(t) = self.by_hash.get(&hash).filter(|t| t.arrived == at).cloned() {
                self.remove_from(&t);
            }
        }
    }

    /// Evicts the cheapest transactions of senders other than `sender`, each paying less than
    /// `fee` (with their senders' later ones), until at most `max_len` transactions and
    /// `max_bytes` bytes are held; false, with nothing evicted, when that cannot be done.
    fn make_room(
        &mut self,
        sender: &Address,
        fee: Amount,
        max_len: usize,
        max_bytes: usize,
    ) -> bool {
        // Plan first, so a failed attempt evicts nothing.
        let (mut len, mut bytes) = (self.by_hash.len(), self.bytes);
        let mut victims: Vec<Arc<PoolTx>> = Vec::new();
        let mut planned: std::collections::HashSet<Hash> = Default::default();
        for &(f, _, hash) in &self.by_fee {
            if len <= max_len && bytes <= max_bytes {
                break;
            }
            if f >= fee {
                return false;
            }
            let t = &self.by_hash[&hash];
            if t.sender == *sender || planned.contains(&hash) {
                continue;
            }
            for later in self.senders[&t.sender]
                .txs
                .range(t.nonce()..)
                .map(|(_, l)| l)
            {
                if planned.insert(later.hash) {
                    len -= 1;
                    bytes -= later.size;
                }
            }
            victims.push(t.clone());
        }
        if len > max_len || bytes > max_bytes {
            return false;
        }
        for v in victims {
            if self.by_hash.contains_key(&v.hash) {
                tracing::debug!(target: "batara::mempool", tx = %v.hash, fee = %v.fee(), "evicted for a higher fee");
                self.remove_from(&v);
            }
        }
        true
    }
}

/// Counts of what the pool holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Transactions held.
    pub txs: usize,
    /// Bytes held.
    pub bytes: usize,
    /// Senders with pending transactions.
    pub senders: usize,
}

/// The admission floors in force: this node's, raised (fee) or lowered (size) by the chain's.
#[derive(Clone, Copy, Debug)]
struct Floors {
    min_fee: Amount,
    max_tx_bytes: usize,
}

/// The pool. All methods take `&self` and are safe from any thread.
pub struct Mempool {
    cfg: MempoolConfig,
    floors: parking_lot::RwLock<Floors>,
    chain_id: String,
    rules: Arc<dyn TxRules>,
    inner: Mutex<Inner>,
}

impl Mempool {
    /// An empty pool for `chain_id`, asking `rules` about transaction kinds.
    pub fn new(cfg: MempoolConfig, chain_id: String, rules: Arc<dyn TxRules>) -> Self {
        let floors = Floors {
            min_fee: cfg.min_fee,
            max_tx_bytes: cfg.max_tx_bytes,
        };
        Self {
            cfg,
            floors: parking_lot::RwLock::new(floors),
            chain_id,
            rules,
            inner: Mutex::default(),
        }
    }

    /// Takes the chain's rules in force: a transaction must pay at least `min_fee` (or this
    /// node's own higher minimum) and fit in a block of `max_block_bytes`.
    pub fn follow_rules(&self, min_fee: Amount, max_block_bytes: u64) {
        let block = usize::try_from(max_block_bytes).unwrap_or(usize::MAX);
        *self.floors.write() = Floors {
            min_fee: self.cfg.min_fee.max(min_fee),
            max_tx_bytes: self.cfg.max_tx_bytes.min(block),
        };
    }

    /// The rules of transaction kinds this pool applies.
    pub fn rules(&self) -> &dyn TxRules {
        self.rules.as_ref()
    }

    /// The checks that need no state and no lock: size, chain id, the kind's own checks.
    pub fn precheck(&self, tx: &SignedTransaction, size: usize) -> Result<(), Rejection> {
        let floors = *self.floors.read();
        if size > floors.max_tx_bytes {
            return Err(Rejection::TooLarge {
                size,
                max: floors.max_tx_bytes,
            });
        }
        if tx.body.chain_id != self.chain_id {
            return Err(Rejection::WrongChainId {
                expected: self.chain_id.clone(),
                got: tx.body.chain_id.clone(),
            });
        }
        if tx.body.fee < floors.min_fee {
            return Err(Rejection::FeeTooLow {
                min: floors.min_fee,
                got: tx.body.fee,
            });
        }
        self.rules.check(tx).map_err(Rejection::Malformed)
    }

    /// The least fee this pool accepts.
    pub fn min_fee(&self) -> Amount {
        self.floors.read().min_fee
    }

    /// True when `hash` is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.inner.lock().by_hash.contains_key(hash)
    }

    /// Adds a verified transaction; `account` is the sender's committed account.
    pub fn insert(&self, ptx: PoolTx, account: Account) -> Result<(), Rejection> {
        let mut inner = self.inner.lock();
        self.insert_locked(&mut inner, ptx, account)
    }

    /// Adds verified transactions, reading each sender's committed account with `account` while
    /// the pool is locked — so no block's re-check can slip between the read and the insert.
    pub fn insert_batch<F>(&self, txs: Vec<PoolTx>, mut account: F) -> Vec<Result<(), Rejection>>
    where
        F: FnMut(&Address) -> Result<Account, String>,
    {
        let mut inner = self.inner.lock();
        let mut cache: HashMap<Address, Account> = HashMap::new();
        txs.into_iter()
            .map(|ptx| {
                let acct = match cache.get(&ptx.sender) {
                    Some(a) => *a,
                    None => {
                        let a = account(&ptx.sender).map_err(Rejection::Unavailable)?;
                        cache.insert(ptx.sender, a);
                        a
                    }
                };
                self.insert_locked(&mut inner, ptx, acct)
            })
            .collect()
    }

    /// Drops the transactions older than `ttl_secs`.
    fn expire_stale(&self, inner: &mut Inner) {
        let ttl = Duration::from_secs(self.cfg.ttl_secs);
        if let Some(cutoff) = Instant::now().checked_sub(ttl).filter(|_| !ttl.is_zero()) {
            inner.expire(cutoff);
        }
    }

    fn insert_locked(
        &self,
        inner: &mut Inner,
        ptx: PoolTx,
        account: Account,
    ) -> Result<(), Rejection> {
        let nonce = ptx.nonce();
        if nonce < account.nonce {
            return Err(Rejection::NonceTooLow {
                expected: account.nonce,
                got: nonce,
            });
        }
        let max = account.nonce.saturating_add(self.cfg.max_nonce_gap);
        if nonce > max {
            return Err(Rejection::NonceTooHigh { max, got: nonce });
        }
        if inner.by_hash.contains_key(&ptx.hash) {
            return Err(Rejection::Duplicate(ptx.hash));
        }
        let full = |i: &Inner| {
            i.by_hash.len() >= self.cfg.max_txs || i.bytes + ptx.size > self.cfg.max_bytes
        };
        if full(inner) {
            // Before refusing or evicting anyone, drop what has waited too long.
            self.expire_stale(inner);
        }
        let empty = BTreeMap::new();
        let pending = inner.senders.get(&ptx.sender).map_or(&empty, |q| &q.txs);
        let replaced = pending.get(&nonce).cloned();
        if let Some(old) = &replaced {
            if ptx.tx.body.fee <= old.tx.body.fee {
                return Err(Rejection::ReplacementUnderpriced {
                    pending: old.tx.body.fee,
                    offered: ptx.tx.body.fee,
                });
            }
        } else if pending.range(account.nonce..).count() >= self.cfg.max_per_sender {
            return Err(Rejection::SenderFull {
                sender: ptx.sender,
                max: self.cfg.max_per_sender,
            });
        }
        // The common case: the next nonce after a gap-free queue (no walk of the queue needed).
        let appends = replaced.is_none()
            && inner.senders.get(&ptx.sender).is_none_or(|q| q.future == 0)
            && pending
                .keys()
                .next_back()
                .map_or(nonce == account.nonce, |last| nonce == last + 1);
        if replaced.is_none() && !appends {
            // Counted from the committed account (the queue's base may lag it until settled).
            let ready = ready_end(pending, account.nonce);
            if nonce > ready {
                let mine = pending.range(ready..).count();
                if mine >= self.cfg.max_future_per_sender {
                    return Err(Rejection::FutureFull(format!(
                        "{} transactions after a nonce gap from {}",
                        self.cfg.max_future_per_sender, ptx.sender
                    )));
                }
                if inner.future >= self.cfg.max_future {
                    return Err(Rejection::FutureFull(format!(
                        "{} transactions after nonce gaps in all",
                        self.cfg.max_future
                    )));
                }
            }
        }
        let earlier: Amount = pending
            .range(account.nonce..nonce)
            .fold(0u128, |s, (_, t)| s.saturating_add(t.cost));
        let need = earlier.saturating_add(ptx.cost);
        if need > account.balance {
            return Err(Rejection::InsufficientBalance {
                need,
                have: account.balance,
            });
        }
        let freed = replaced.as_ref().map_or(0, |o| o.size);
        let max_len = match replaced {
            Some(_) => usize::MAX,
            None => self.cfg.max_txs.saturating_sub(1),
        };
        let Some(max_bytes) = (self.cfg.max_bytes + freed).checked_sub(ptx.size) else {
            return Err(Rejection::PoolFull(format!("{} bytes", self.cfg.max_bytes)));
        };
        if (inner.by_hash.len() > max_len || inner.bytes > max_bytes)
            && !inner.make_room(&ptx.sender, ptx.fee(), max_len, max_bytes)
        {
            let what = if inner.by_hash.len() > max_len {
                format!("{} transactions", self.cfg.max_txs)
            } else {
                format!("{} bytes", self.cfg.max_bytes)
            };
            return Err(Rejection::PoolFull(format!(
                "{what}, none paying less than fee {}",
                ptx.fee()
            )));
        }
        let ptx = Arc::new(ptx);
        let q = inner.senders.entry(ptx.sender).or_default();
        q.txs.insert(nonce, ptx.clone());
        // Settling drops what the account has moved past (left only if a re-check was missed) and,
        // when filling a gap or a costlier replacement leaves later transactions unaffordable,
        // those too — rather than let them fail in a block.
        let dropped = q.settle(account);
        for s in dropped.iter().chain(replaced.iter()) {
            inner.remove_tx(s);
        }
        let sender = ptx.sender;
        inner.add_tx(ptx);
        if !(appends && dropped.is_empty()) {
            inner.recount(&sender);
        }
        Ok(())
    }

    /// Ready transactions for a block, at most `max_txs` and `max_bytes`: highest fee first across
    /// senders, nonce order within a sender.
    pub fn select(&self, max_txs: usize, max_bytes: u64) -> Vec<Arc<PoolTx>> {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct Head {
            fee: Amount,
            // Lower address first on equal fees, for a deterministic order.
            tiebreak: std::cmp::Reverse<Address>,
            nonce: u64,
        }
        let inner = self.inner.lock();
        let mut heap = BinaryHeap::with_capacity(inner.senders.len());
        for (addr, q) in &inner.senders {
            if let Some(t) = q.txs.get(&q.base_nonce) {
                heap.push(Head {
                    fee: t.tx.body.fee,
                    tiebreak: std::cmp::Reverse(*addr),
                    nonce: q.base_nonce,
                });
            }
        }
        let mut out = Vec::new();
        let mut bytes = 0u64;
        while let Some(h) = heap.pop() {
            if out.len() >= max_txs {
                break;
            }
            let q = &inner.senders[&h.tiebreak.0];
            let t = &q.txs[&h.nonce];
            if bytes + t.size as u64 > max_bytes {
                // This sender's later transactions wait for the next block; others may still fit.
                continue;
            }
            bytes += t.size as u64;
            out.push(t.clone());
            if let Some(next) = q.txs.get(&(h.nonce + 1)) {
                heap.push(Head {
                    fee: next.tx.body.fee,
                    tiebreak: h.tiebreak,
                    nonce: h.nonce + 1,
                });
            }
        }
        out
    }

    /// The nonce a wallet should use next: after the sender's gap-free run of pending transactions
    /// starting at its committed nonce. `account` reads the committed account while the pool is
    /// locked, so a block committed in between cannot make the answer a used nonce.
    pub fn next_nonce_with<E>(
        &self,
        sender: &Address,
        account: impl FnOnce(&Address) -> Result<Account, E>,
    ) -> Result<u64, E> {
        let inner = self.inner.lock();
        let mut n = account(sender)?.nonce;
        if let Some(q) = inner.senders.get(sender) {
            while q.txs.contains_key(&n) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// True when at least one transaction is ready.
    pub fn has_ready(&self) -> bool {
        let inner = self.inner.lock();
        inner
            .senders
            .values()
            .any(|q| q.txs.contains_key(&q.base_nonce))
    }

    /// Re-check after a block: `changed` holds every account the block wrote. Drops transactions
    /// whose nonce is used and, per sender, those its new balance can no longer cover.
    pub fn recheck(&self, changed: &BTreeMap<Address, Account>) {
        let mut inner = self.inner.lock();
        self.expire_stale(&mut inner);
        let mut dropped = Vec::new();
        for (addr, acct) in changed {
            let Some(q) = inner.senders.get_mut(addr) else {
                continue;
            };
            dropped.extend(q.settle(*acct));
            inner.recount(addr);
        }
        for t in dropped {
            inner.remove_tx(&t);
        }
    }

    /// Removes the given transactions (e.g. ones a block builder found invalid).
    pub fn remove(&self, hashes: &[Hash]) {
        let mut inner = self.inner.lock();
        for h in hashes {
            let Some(t) = inner.by_hash.get(h).cloned() else {
                continue;
            };
            inner.remove_tx(&t);
            if let Some(q) = inner.senders.get_mut(&t.sender) {
                q.txs.remove(&t.nonce());
            }
            inner.recount(&t.sender);
        }
    }

    /// Drops everything (after a dev chain is reverted).
    pub fn clear(&self) {
        *self.inner.lock() = Inner::default();
    }

    /// What the pool holds.
    pub fn stats(&self) -> PoolStats {
        let inner = self.inner.lock();
        PoolStats {
            txs: inner.by_hash.len(),
            bytes: inner.bytes,
            senders: inner.senders.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::types::{TxBody, TxKind};

    fn key(i: u8) -> Keypair {
        Keypair::from_seed(&[i; 32])
    }

    /// The pool's view of transfers, for these tests (the node's comes from the registry).
    struct TransferRules;

    impl TxRules for TransferRules {
        fn max_cost(&self, tx: &SignedTransaction) -> Option<Amount> {
            match &tx.body.kind {
                TxKind::Transfer { amount, .. } => amount.checked_add(tx.body.fee),
                _ => None,
            }
        }

        fn check(&self, _tx: &SignedTransaction) -> Result<(), String> {
            Ok(())
        }
    }

    fn ptx(k: &Keypair, nonce: u64, fee: u128, amount: u128) -> PoolTx {
        let tx = TxBody {
            chain_id: "t".into(),
            signer: k.public_key(),
            nonce,
            fee,
            kind: TxKind::Transfer {
                to: Address([9; 20]),
                amount,
            },
        }
        .sign(k);
        let size = tx.to_bytes().len();
        let hash = tx.hash();
        PoolTx::new(tx, hash, size, &TransferRules).unwrap()
    }

    fn pool(cfg: MempoolConfig) -> Mempool {
        Mempool::new(cfg, "t".into(), Arc::new(TransferRules))
    }

    const RICH: Account = Account {
        balance: 1_000_000,
        nonce: 0,
    };

    #[test]
    fn future_queue_is_bounded_per_sender_and_in_all() {
        let p = pool(MempoolConfig {
            max_future_per_sender: 2,
            max_future: 3,
            ..Default::default()
        });
        let (a, b, c) = (key(1), key(2), key(3));
        p.insert(ptx(&a, 5, 1, 1), RICH).unwrap();
        p.insert(ptx(&a, 6, 1, 1), RICH).unwrap();
        let e = p.insert(ptx(&a, 9, 1, 1), RICH).unwrap_err();
        assert_eq!(e.code(), "future_full");
        assert!(
            e.to_string().contains("2 transactions after a nonce gap"),
            "{e}"
        );
        p.insert(ptx(&b, 3, 1, 1), RICH).unwrap();
        let e = p.insert(ptx(&c, 1, 1, 1), RICH).unwrap_err();
        assert!(
            e.to_string()
                .contains("3 transactions after nonce gaps in all"),
            "{e}"
        );
        // Ready transactions are never limited by it; replacing a future one is not new.
        p.insert(ptx(&c, 0, 1, 1), RICH).unwrap();
        p.insert(ptx(&a, 5, 2, 1), RICH).unwrap();
        // Filling a's gap makes its queue ready: room for others' future transactions again.
        for n in 0..5 {
            p.insert(ptx(&a, n, 1, 1), RICH).unwrap();
        }
        p.insert(ptx(&c, 2, 1, 1), RICH).unwrap();
        p.insert(ptx(&a, 9, 1, 1), RICH).unwrap();
        // A block that uses b's nonces 0..3 makes b's transaction ready (recheck recounts).
        p.recheck(&BTreeMap::from([(
            b.address(),
            Account {
                balance: RICH.balance,
                nonce: 3,
            },
        )]));
        p.insert(ptx(&key(4), 7, 1, 1), RICH).unwrap();
        let e = p.insert(ptx(&key(5), 7, 1, 1), RICH).unwrap_err();
        assert_eq!(e.code(), "future_full");
        // Removing a future transaction frees its place.
        let victim = ptx(&key(4), 7, 1, 1).hash;
        p.remove(&[victim]);
        p.insert(ptx(&key(5), 7, 1, 1), RICH).unwrap();
    }

    #[test]
    fn ready_future_and_fee_order() {
        let p = pool(Default::default());
        let (a, b) = (key(1), key(2));
        p.insert(ptx(&a, 0, 5, 1), RICH).unwrap();
        p.insert(ptx(&a, 2, 100, 1), RICH).unwrap(); // future: gap at 1
        p.insert(ptx(&b, 0, 10, 1), RICH).unwrap();
        p.insert(ptx(&b, 1, 1, 1), RICH).unwrap();
        let sel: Vec<(Address, u64)> = p
            .select(10, u64::MAX)
            .iter()
            .map(|t| (t.sender, t.nonce()))
            .collect();
        assert_eq!(
            sel,
            vec![(b.address(), 0), (a.address(), 0), (b.address(), 1)]
        );
        // Filling the gap makes nonce 2 ready.
        p.insert(ptx(&a, 1, 1, 1), RICH).unwrap();
        assert_eq!(p.select(10, u64::MAX).len(), 5);
        assert_eq!(p.select(2, u64::MAX).len(), 2);
        let one = p.select(10, u64::MAX)[0].size as u64;
        assert_eq!(p.select(10, one).len(), 1);
    }

    #[test]
    fn a_full_pool_evicts_the_cheapest_for_a_higher_fee() {
        let p = pool(MempoolConfig {
            max_txs: 4,
            ..Default::default()
        });
        let (a, b, c, d) = (key(1), key(2), key(3), key(4));
        // a: nonces 0 (fee 5) and 1 (fee 1); b: fee 2; c: fee 3.
        p.insert(ptx(&a, 0, 5, 1), RICH).unwrap();
        p.insert(ptx(&a, 1, 1, 1), RICH).unwrap();
        p.insert(ptx(&b, 0, 2, 1), RICH).unwrap();
        p.insert(ptx(&c, 0, 3, 1), RICH).unwrap();
        // Paying no more than the cheapest (1): refused, nothing evicted.
        let e = p.insert(ptx(&d, 0, 1, 1), RICH).unwrap_err();
        assert_eq!(e.code(), "pool_full");
        assert!(e.to_string().contains("none paying less than fee 1"), "{e}");
        assert_eq!(p.stats().txs, 4);
        // Fee 4 evicts the cheapest: a's nonce 1 (its last one, so nothing after it goes too).
        p.insert(ptx(&d, 0, 4, 1), RICH).unwrap();
        let held = |p: &Mempool| {
            let mut v: Vec<(Address, u64)> = p
                .select(100, u64::MAX)
                .iter()
                .map(|t| (t.sender, t.nonce()))
                .collect();
            v.sort();
            v
        };
        let mut want = vec![
            (a.address(), 0),
            (b.address(), 0),
            (c.address(), 0),
            (d.address(), 0),
        ];
        want.sort();
        assert_eq!(held(&p), want);
        // A sender's own transactions are never evicted for its next one.
        // (b's nonce 1 at fee 3: only b's own nonce 0, at 2, pays less.)
        let e = p.insert(ptx(&b, 1, 3, 1), RICH).unwrap_err();
        assert_eq!(e.code(), "pool_full");
        // Evicting a sender's first nonce takes its later ones too.
        p.insert(ptx(&b, 1, 9, 1), RICH).unwrap(); // evicts c (3)
        assert_eq!(p.stats().txs, 4);
        p.insert(ptx(&key(5), 0, 10, 1), RICH).unwrap(); // evicts b's 0 (2) and so b's 1 (9)
        assert!(!held(&p).iter().any(|(s, _)| *s == b.address()));
        assert!(!held(&p).iter().any(|(s, _)| *s == c.address()));
        assert_eq!(p.stats().txs, 3, "a's 0, d's 0 and the newcomer");
        // The byte limit is made room for the same way.
        let one = ptx(&a, 0, 1, 1).size;
        let q = pool(MempoolConfig {
            max_bytes: 2 * one,
            ..Default::default()
        });
        q.insert(ptx(&a, 0, 1, 1), RICH).unwrap();
        q.insert(ptx(&a, 1, 5, 1), RICH).unwrap();
        // The cheapest is a's 0 (fee 1): evicting it takes a's 1 (fee 5), which depends on it.
        q.insert(ptx(&b, 0, 2, 1), RICH).unwrap();
        assert_eq!(q.stats().txs, 1);
        assert_eq!(q.stats().bytes, one);
        // Among equal fees a sender's last nonce goes first, alone.
        q.insert(ptx(&c, 0, 2, 1), RICH).unwrap();
        q.insert(ptx(&c, 1, 3, 1), RICH).unwrap(); // evicts b's 0 (2; c's 0 is its own)
        let r = pool(MempoolConfig {
            max_txs: 2,
            ..Default::default()
        });
        r.insert(ptx(&a, 0, 1, 1), RICH).unwrap();
        r.insert(ptx(&a, 1, 1, 1), RICH).unwrap();
        r.insert(ptx(&b, 0, 2, 1), RICH).unwrap();
        let left: Vec<(Address, u64)> = r
            .select(10, u64::MAX)
            .iter()
            .map(|t| (t.sender, t.nonce()))
            .collect();
        assert_eq!(left.len(), 2);
        assert!(left.contains(&(a.address(), 0)) && left.contains(&(b.address(), 0)));
    }

    #[test]
    fn the_floors_follow_the_chains_rules_above_and_below_the_nodes_own() {
        let p = pool(MempoolConfig {
            min_fee: 10,
            max_tx_bytes: 1_000,
            ..Default::default()
        });
        let a = key(1);
        let fee = |f| ptx(&a, 0, f, 1).tx;
        // Governance raised the chain's minimum fee and lowered its block size.
        p.follow_rules(50, 500);
        assert_eq!(p.min_fee(), 50);
        let e = p.precheck(&fee(49), 100).unwrap_err();
        assert_eq!(e.to_string(), "fee too low: the minimum is 50, got 49");
        p.precheck(&fee(50), 100).unwrap();
        assert_eq!(p.precheck(&fee(50), 501).unwrap_err().code(), "too_large");
        // Below this node's own floors the node's stay.
        p.follow_rules(1, 1 << 20);
        assert_eq!(p.min_fee(), 10);
        assert_eq!(p.precheck(&fee(9), 100).unwrap_err().code(), "fee_too_low");
        assert_eq!(p.precheck(&fee(10), 1_001).unwrap_err().code(), "too_large");
        p.precheck(&fee(10), 1_000).unwrap();
    }

    #[test]
    fn below_the_minimum_fee_is_refused_and_old_transactions_expire() {
        let p = pool(MempoolConfig {
            min_fee: 10,
            ttl_secs: 1,
            ..Default::default()
        });
        let a = key(1);
        let e = p.precheck(&ptx(&a, 0, 9, 1).tx, 100).unwrap_err();
        assert_eq!(e.code(), "fee_too_low");
        assert_eq!(e.to_string(), "fee too low: the minimum is 10, got 9");
        p.precheck(&ptx(&a, 0, 10, 1).tx, 100).unwrap();
        p.insert(ptx(&a, 0, 10, 1), RICH).unwrap();
        p.insert(ptx(&a, 1, 10, 1), RICH).unwrap();
        std::thread::sleep(Duration::from_millis(1_100));
        p.insert(ptx(&key(2), 0, 10, 1), RICH).unwrap();
        // The next block's re-check drops what waited longer than the TTL, not the newcomer.
        p.recheck(&BTreeMap::new());
        assert_eq!(p.stats().txs, 1);
        assert_eq!(p.select(10, u64::MAX)[0].sender, key(2).address());
        assert_eq!(p.inner.lock().by_fee.len(), 1);
    }

    #[test]
    fn rejections_name_their_cause() {
        let cfg = MempoolConfig {
            max_txs: 3,
            max_per_sender: 2,
            max_nonce_gap: 5,
            ..Default::default()
        };
        let p = pool(cfg);
        let a = key(1);
        let acct = Account {
            balance: 100,
            nonce: 3,
        };
        assert_eq!(
            p.insert(ptx(&a, 2, 1, 1), acct).unwrap_err().to_string(),
            "nonce too low: expected 3, got 2"
        );
        assert!(matches!(
            p.insert(ptx(&a, 9, 1, 1), acct),
            Err(Rejection::NonceTooHigh { max: 8, got: 9 })
        ));
        assert!(matches!(
            p.insert(ptx(&a, 3, 1, 100), acct),
            Err(Rejection::InsufficientBalance {
                need: 101,
                have: 100
            })
        ));
        p.insert(ptx(&a, 3, 10, 50), acct).unwrap();
        // Cumulative: 60 pending + 41 > 100.
        assert!(matches!(
            p.insert(ptx(&a, 4, 1, 40), acct),
            Err(Rejection::InsufficientBalance { need: 101, .. })
        ));
        let t = ptx(&a, 3, 10, 50);
        assert_eq!(p.insert(t, acct).unwrap_err().code(), "duplicate");
        assert!(matches!(
            p.insert(ptx(&a, 3, 10, 1), acct),
            Err(Rejection::ReplacementUnderpriced {
                pending: 10,
                offered: 10
            })
        ));
        p.insert(ptx(&a, 3, 11, 1), acct).unwrap(); // replaced
        assert_eq!(p.stats().txs, 1);
        p.insert(ptx(&a, 4, 1, 1), acct).unwrap();
        assert!(matches!(
            p.insert(ptx(&a, 5, 1, 1), acct),
            Err(Rejection::SenderFull { max: 2, .. })
        ));
        p.insert(ptx(&key(2), 0, 1, 1), RICH).unwrap();
        assert!(matches!(
            p.insert(ptx(&key(3), 0, 1, 1), RICH),
            Err(Rejection::PoolFull(_))
        ));
        let mut other = ptx(&a, 0, 1, 1).tx;
        other.body.chain_id = "u".into();
        assert!(matches!(
            p.precheck(&other, 10),
            Err(Rejection::WrongChainId { .. })
        ));
        let small = pool(MempoolConfig {
            max_tx_bytes: 10,
            ..Default::default()
        });
        assert!(matches!(
            small.precheck(&ptx(&a, 0, 1, 1).tx, 200),
            Err(Rejection::TooLarge { size: 200, max: 10 })
        ));
    }

    #[test]
    fn recheck_drops_used_nonces_and_unaffordable() {
        let p = pool(Default::default());
        let a = key(1);
        for n in 0..4 {
            p.insert(ptx(&a, n, 1, 10), RICH).unwrap();
        }
        let mut changed = BTreeMap::new();
        changed.insert(
            a.address(),
            Account {
                balance: 15,
                nonce: 2,
            },
        );
        p.recheck(&changed);
        // Nonces 0,1 committed; 2 (cost 11) fits in 15, 3 does not.
        let sel = p.select(10, u64::MAX);
        assert_eq!(sel.iter().map(|t| t.nonce()).collect::<Vec<_>>(), vec![2]);
        assert_eq!(p.stats().txs, 1);
        p.remove(&[sel[0].hash]);
        assert_eq!(p.stats(), PoolStats::default());
    }

    #[test]
    fn filling_a_gap_drops_later_transactions_the_balance_cannot_cover() {
        let p = pool(Default::default());
        let a = key(1);
        let acct = Account {
            balance: 110,
            nonce: 0,
        };
        p.insert(ptx(&a, 0, 10, 40), acct).unwrap();
        p.insert(ptx(&a, 2, 10, 40), acct).unwrap();
        p.insert(ptx(&a, 1, 10, 40), acct).unwrap();
        // 50 + 50 fit in 110; nonce 2 would need 150 and is dropped.
        assert_eq!(p.stats().txs, 2);
        assert_eq!(
            p.next_nonce_with(&a.address(), |_| Ok::<_, ()>(acct)),
            Ok(2)
        );
    }
}
