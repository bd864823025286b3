//! Storage: the node's only way to the disk.
//!
//! Owns: the [`Storage`] trait (a few key/value operations over named columns, and atomic batches)
//! and its one implementation, [`RocksStore`] (RocksDB with one column family per [`Column`]);
//! and, in [`file`], the small files a validator keeps beside the database (the double-sign guard,
//! the consensus WAL). Nothing outside this module names RocksDB.
//!
//! Invariant: everything a committed block changes — block, header, commit, receipts, tx index,
//! state tree nodes, plain state, changeset, head pointer — goes to disk in one [`WriteBatch`], so a
//! killed process leaves either the whole block or none of it.
//!
//! Must never: hold chain logic, or expose a partially applied batch to readers.

pub mod file;
mod hot;
mod rocks;

use serde::{Deserialize, Serialize};

pub use rocks::RocksStore;

/// Storage settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Keep everything in memory (RocksDB's in-memory environment); nothing survives the process.
    pub ephemeral: bool,
    /// fsync each committed block (survives power loss, not only a killed process).
    pub sync_writes: bool,
    /// Block cache size in MiB.
    pub cache_mb: usize,
    /// Latest accounts kept in memory in front of RocksDB (write-through, so always current);
    /// 0 turns the cache off. About 150 bytes each.
    pub hot_accounts: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            ephemeral: false,
            sync_writes: true,
            cache_mb: 128,
            hot_accounts: 100_000,
        }
    }
}

/// The column families. Keys are big-endian where they are numbers, so iteration order is numeric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// Small named values: head height, genesis hash, config fingerprints.
    Meta,
    /// height → borsh(Header).
    Headers,
    /// height → borsh(Block).
    Blocks,
    /// block hash → height.
    BlockHashes,
    /// height → borsh(Commit) of that block.
    Commits,
    /// height → borsh(Vec<Receipt>).
    Receipts,
    /// tx hash → (height, index in block).
    TxIndex,
    /// address → borsh(Account): the latest state, for fast reads.
    Accounts,
    /// state tree key → value, for every key that is not an account (staking, later modules): the
    /// latest state, for fast reads and prefix scans.
    Objects,
    /// height → the values the block overwrote (to revert a dev chain).
    Changesets,
    /// version ‖ borsh(NodeKey) → borsh(Node) of the state tree.
    StateNodes,
    /// key hash ‖ version → borsh(Option<value>) of the state tree.
    StateValues,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 12] = [
        Column::Meta,
        Column::Headers,
        Column::Blocks,
        Column::BlockHashes,
        Column::Commits,
        Column::Receipts,
        Column::TxIndex,
        Column::Accounts,
        Column::Objects,
        Column::Changesets,
        Column::StateNodes,
        Column::StateValues,
    ];

    /// The column family name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Column::Meta => "meta",
            Column::Headers => "headers",
            Column::Blocks => "blocks",
            Column::BlockHashes => "block_hashes",
            Column::Commits => "commits",
            Column::Receipts => "receipts",
            Column::TxIndex => "tx_index",
            Column::Accounts => "accounts",
            Column::Objects => "objects",
            Column::Changesets => "changesets",
            Column::StateNodes => "state_nodes",
            Column::StateValues => "state_values",
        }
    }
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database reported an error (I/O, lock held by another process, ...).
    #[error("database error: {0}")]
    Backend(String),
    /// This store cannot do what was asked (named in the message).
    #[error("{0}")]
    Unsupported(&'static str),
    /// Stored bytes did not decode: the data directory is damaged or from another version.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Decoder message.
        reason: String,
    },
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One write in a batch.
#[derive(Clone, Debug)]
pub enum WriteOp {
    /// Set `key` to a value.
    Put(Column, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Column, Vec<u8>),
    /// Remove every key in `[from, to)`.
    DeleteRange(Column, Vec<u8>, Vec<u8>),
}

/// Writes applied together or not at all.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, col: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Put(col, key.into(), value.into()));
    }
    /// Adds a delete.
    pub fn delete(&mut self, col: Column, key: impl Into<Vec<u8>>) {
        self.ops.push(WriteOp::Delete(col, key.into()));
    }
    /// Adds a range delete of `[from, to)`.
    pub fn delete_range(&mut self, col: Column, from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) {
        self.ops
            .push(WriteOp::DeleteRange(col, from.into(), to.into()));
    }
    /// The operations, in order.
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The storage seam. Implementations are `Send + Sync` and every method is safe to call from any
/// thread; [`Storage::write`] is atomic and durable against a process crash.
pub trait Storage: Send + Sync {
    /// The value at `key`.
    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// The entry with the greatest key `<= key` that starts with `prefix`.
    fn get_prev_with_prefix(
        &self,
        col: Column,
        prefix: &[u8],
        key: &[u8],
    ) -> Result<Option<Entry>, StorageError>;
    /// Entries with keys in `[from, to)`, in key order, at most `limit`.
    fn range(
        &self,
        col: Column,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError>;
    /// Applies `batch` atomically.
    fn write(&self, batch: WriteBatch) -> Result<(), StorageError>;
    /// Writes a consistent copy of the whole store, as of the last completed write, into the new
    /// directory `dir` while writes go on (a RocksDB checkpoint: hard links when `dir` is on the
    /// same file system, copies otherwise). `dir` must not exist; its parent must.
    fn checkpoint(&self, dir: &std::path::Path) -> Result<(), StorageError>;
    /// For a read-only follower: catch up with the writer's latest batches. A no-op on a writer.
    fn refresh(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Decodes borsh bytes read from storage, naming what they were on failure.
pub fn decode<T: borsh::BorshDeserialize>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, StorageError> {
    borsh::from_slice(bytes).map_err(|e| StorageError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

/// Big-endian bytes of a height, the key of height-indexed columns.
pub fn height_key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

#[cfg(test)]
mod conformance {
    //! One suite run against every way of opening a store.
    use super::*;

    fn suite(s: &dyn Storage) {
        assert_eq!(s.get(Column::Meta, b"k").unwrap(), None);
        let mut b = WriteBatch::default();
        b.put(Column::Meta, b"k".to_vec(), b"v".to_vec());
        b.put(Column::Headers, height_key(1), b"one".to_vec());
        b.put(Column::Headers, height_key(2), b"two".to_vec());
        b.put(Column::Headers, height_key(300), b"big".to_vec());
        s.write(b).unwrap();
        assert_eq!(
            s.get(Column::Meta, b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        // Columns are separate.
        assert_eq!(s.get(Column::Blocks, &height_key(1)).unwrap(), None);
        let r = s
            .range(Column::Headers, &height_key(0), &height_key(1000), 10)
            .unwrap();
        assert_eq!(
            r.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            vec![b"one".to_vec(), b"two".to_vec(), b"big".to_vec()]
        );
        assert_eq!(
            s.range(Column::Headers, &height_key(0), &height_key(1000), 1)
                .unwrap()
                .len(),
            1
        );
        let p = s
            .get_prev_with_prefix(Column::Headers, &[], &height_key(299))
            .unwrap()
            .unwrap();
        assert_eq!(p.1, b"two".to_vec());
        assert!(s
            .get_prev_with_prefix(Column::Headers, &[0, 0, 0, 0, 0, 0, 1], &height_key(299))
            .unwrap()
            .is_none());
        assert!(s
            .get_prev_with_prefix(Column::Headers, &[], &height_key(0))
            .unwrap()
            .is_none());
        let mut b = WriteBatch::default();
        b.delete_range(Column::Headers, height_key(2), height_key(u64::MAX));
        b.delete(Column::Meta, b"k".to_vec());
        s.write(b).unwrap();
        assert_eq!(
            s.range(Column::Headers, &height_key(0), &height_key(1000), 10)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(s.get(Column::Meta, b"k").unwrap(), None);
    }

    #[test]
    fn rocks_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::open(dir.path(), &Default::default()).unwrap();
        suite(&s);
    }

    #[test]
    fn rocks_in_memory() {
        let s = RocksStore::ephemeral(&Default::default()).unwrap();
        suite(&s);
    }

    /// Readers racing a writer never see an account go back to an older value, and once the
    /// writes end every read returns the last one: no read that began before a write leaves its
    /// value in the hot cache (a tiny cache, so it also starts over while they run).
    #[test]
    fn hot_accounts_stay_current_under_concurrent_writes() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let cfg = StorageConfig {
            hot_accounts: 3,
            ..Default::default()
        };
        let s = std::sync::Arc::new(RocksStore::ephemeral(&cfg).unwrap());
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let value = |s: &RocksStore, k: &[u8]| {
            s.get(Column::Accounts, k)
                .unwrap()
                .map_or(0, |v| u32::from_be_bytes(v.try_into().unwrap()))
        };
        let readers: Vec<_> = (0..2u8)
            .map(|r| {
                let (s, done) = (s.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut seen = [0u32; 4];
                    let mut reads = 0u64;
                    while !done.load(Ordering::Acquire) {
                        for (k, last) in seen.iter_mut().enumerate() {
                            let v = value(&s, &[k as u8 ^ r]);
                            assert!(v >= *last, "key {k}: read {v} after {last}");
                            *last = v;
                            reads += 1;
                        }
                    }
                    reads
                })
            })
            .collect();
        for i in 1..=3_000u32 {
            let mut b = WriteBatch::default();
            // Key 0 on every write, the others in turn.
            b.put(Column::Accounts, vec![0], i.to_be_bytes().to_vec());
            b.put(
                Column::Accounts,
                vec![1 + (i % 3) as u8],
                i.to_be_bytes().to_vec(),
            );
            s.write(b).unwrap();
        }
        done.store(true, Ordering::Release);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        assert_eq!(value(&s, &[0]), 3_000);
        assert_eq!(
            (value(&s, &[1]), value(&s, &[2]), value(&s, &[3])),
            (3_000, 2_998, 2_999)
        );
    }

    #[test]
    fn reopen_keeps_data_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RocksStore::open(dir.path(), &Default::default()).unwrap();
            let mut b = WriteBatch::default();
            b.put(Column::Accounts, b"a".to_vec(), b"1".to_vec());
            s.write(b).unwrap();
            let e = RocksStore::open(dir.path(), &Default::default())
                .expect_err("second writer refused");
            assert!(e.to_string().contains("lock"), "{e}");
        }
        let s = RocksStore::open(dir.path(), &Default::default()).unwrap();
        assert_eq!(
            s.get(Column::Accounts, b"a").unwrap().as_deref(),
            Some(&b"1"[..])
        );
    }
}
