//! A write-through cache of one column's latest values in memory ([`HotCache`]), so that the
//! reads a node serves most — an account's balance and nonce, from clients and from the executor
//! — do not go through RocksDB each time.
//!
//! Owns: the map of key → latest value (`None`: known absent) and the rules that keep it equal to
//! the store. Bounded by a number of entries ([`super::StorageConfig::hot_accounts`]); when full
//! it starts over empty (a hot set refills in a block or two; no per-entry bookkeeping on the
//! read path).
//!
//! Invariant: a hit returns what the store would return at that moment. A write first drops the
//! keys it touches (readers of those go to the store, which answers with the old or the new
//! value, as the store would), then writes the store, then records the new values; a miss fills
//! the map only if no write began or was in progress while it read the store (a generation
//! counter and a count of writes in progress), so a value read before a write never lands after
//! it.
//!
//! Must never: return a value the store no longer holds, or hold a lock while the store is read
//! or written.

use std::collections::HashMap;

use parking_lot::RwLock;

use super::{Column, WriteOp};

/// What a lookup found.
pub(super) enum Lookup {
    /// The latest value (`None`: the key is absent).
    Hit(Option<Vec<u8>>),
    /// Not cached: read the store, then offer the value with [`HotCache::fill`] and this ticket.
    Miss(Ticket),
}

/// The cache's generation when a miss began.
pub(super) struct Ticket(u64);

/// A bounded write-through cache of `column` (see the module docs).
pub(super) struct HotCache {
    column: Column,
    cap: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Box<[u8]>, Option<Box<[u8]>>>,
    /// Moves at the start and at the end of every write.
    generation: u64,
    /// Writes begun and not finished.
    writing: u32,
}

impl Inner {
    fn record(&mut self, cap: usize, key: &[u8], value: Option<&[u8]>) {
        if self.map.len() >= cap && !self.map.contains_key(key) {
            self.map.clear();
        }
        self.map.insert(key.into(), value.map(Into::into));
    }
}

impl HotCache {
    /// A cache of at most `cap` entries of `column`; `None` when `cap` is 0 (no cache).
    pub(super) fn new(column: Column, cap: usize) -> Option<Self> {
        (cap > 0).then(|| Self {
            column,
            cap,
            inner: RwLock::default(),
        })
    }

    /// The column it caches.
    pub(super) fn column(&self) -> Column {
        self.column
    }

    /// The cached value of `key`, or a ticket to fill it after reading the store.
    pub(super) fn get(&self, key: &[u8]) -> Lookup {
        let inner = self.inner.read();
        match inner.map.get(key) {
            Some(v) => Lookup::Hit(v.as_deref().map(<[u8]>::to_vec)),
            None => Lookup::Miss(Ticket(inner.generation)),
        }
    }

    /// Offers what the store returned for `key` after `ticket`'s miss; kept only if no write
    /// began or was in progress since.
    pub(super) fn fill(&self, ticket: Ticket, key: &[u8], value: Option<&[u8]>) {
        let mut inner = self.inner.write();
        if inner.writing == 0 && inner.generation == ticket.0 {
            inner.record(self.cap, key, value);
        }
    }

    /// Runs `write`, the store's write of `ops`, keeping the cache equal to the store around it.
    pub(super) fn write_through<E>(
        &self,
        ops: &[WriteOp],
        write: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let _writing = self.begin(|map| {
            for op in ops {
                match op {
                    WriteOp::Put(c, k, _) | WriteOp::Delete(c, k) if *c == self.column => {
                        map.remove(k.as_slice());
                    }
                    WriteOp::DeleteRange(c, ..) if *c == self.column => map.clear(),
                    _ => {}
                }
            }
        });
        write()?;
        let mut inner = self.inner.write();
        for op in ops {
            match op {
                WriteOp::Put(c, k, v) if *c == self.column => inner.record(self.cap, k, Some(v)),
                WriteOp::Delete(c, k) if *c == self.column => inner.record(self.cap, k, None),
                _ => {}
            }
        }
        Ok(())
    }

    /// Runs `change`, after which any value may differ (a follower catching up with its writer),
    /// with the cache empty and filling refused until it returns.
    pub(super) fn around_change<E>(&self, change: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let _writing = self.begin(HashMap::clear);
        change()
    }

    /// Marks a write in progress (until the guard drops) after `drop_stale` cleared what it
    /// makes stale.
    fn begin(
        &self,
        drop_stale: impl FnOnce(&mut HashMap<Box<[u8]>, Option<Box<[u8]>>>),
    ) -> Writing<'_> {
        let mut inner = self.inner.write();
        inner.writing += 1;
        inner.generation += 1;
        drop_stale(&mut inner.map);
        Writing(self)
    }
}

/// A write in progress; ends it on drop, whether the write succeeded, failed or panicked.
struct Writing<'a>(&'a HotCache);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        let mut inner = self.0.inner.write();
        inner.writing -= 1;
        inner.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &[u8], v: &[u8]) -> WriteOp {
        WriteOp::Put(Column::Accounts, k.to_vec(), v.to_vec())
    }

    fn hit(c: &HotCache, k: &[u8]) -> Option<Option<Vec<u8>>> {
        match c.get(k) {
            Lookup::Hit(v) => Some(v),
            Lookup::Miss(_) => None,
        }
    }

    fn miss(c: &HotCache, k: &[u8]) -> Ticket {
        match c.get(k) {
            Lookup::Miss(t) => t,
            Lookup::Hit(v) => panic!("expected a miss, got {v:?}"),
        }
    }

    #[test]
    fn writes_and_fills_are_hits_other_columns_are_not_cached() {
        let c = HotCache::new(Column::Accounts, 10).unwrap();
        let t = miss(&c, b"a");
        c.fill(t, b"a", None);
        assert_eq!(hit(&c, b"a"), Some(None), "absence is cached too");
        let ops = [
            put(b"a", b"1"),
            WriteOp::Put(Column::Meta, b"m".to_vec(), b"x".to_vec()),
        ];
        c.write_through(&ops, || Ok::<_, ()>(())).unwrap();
        assert_eq!(hit(&c, b"a"), Some(Some(b"1".to_vec())));
        assert!(hit(&c, b"m").is_none(), "only its own column");
        let del = [WriteOp::Delete(Column::Accounts, b"a".to_vec())];
        c.write_through(&del, || Ok::<_, ()>(())).unwrap();
        assert_eq!(hit(&c, b"a"), Some(None));
        assert!(
            HotCache::new(Column::Accounts, 0).is_none(),
            "0 turns it off"
        );
    }

    #[test]
    fn a_miss_that_overlapped_a_write_is_not_kept() {
        let c = HotCache::new(Column::Accounts, 10).unwrap();
        // Read before the write began, offered after it ended: stale, dropped.
        let t = miss(&c, b"a");
        c.write_through(&[put(b"b", b"2")], || Ok::<_, ()>(()))
            .unwrap();
        c.fill(t, b"a", Some(b"old"));
        assert!(hit(&c, b"a").is_none());
        // Read and offered while a write is in progress: dropped; the touched key misses
        // during the write, so readers see the store.
        c.write_through(&[put(b"a", b"new")], || {
            assert!(
                hit(&c, b"a").is_none(),
                "a key being written is read from the store"
            );
            let t = miss(&c, b"c");
            c.fill(t, b"c", Some(b"3"));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert!(hit(&c, b"c").is_none());
        assert_eq!(hit(&c, b"a"), Some(Some(b"new".to_vec())));
    }

    #[test]
    fn a_failed_write_leaves_its_keys_uncached_and_filling_resumes() {
        let c = HotCache::new(Column::Accounts, 10).unwrap();
        c.write_through(&[put(b"a", b"1")], || Ok::<_, ()>(()))
            .unwrap();
        let e = c.write_through(&[put(b"a", b"2")], || Err("disk full"));
        assert_eq!(e, Err("disk full"));
        assert!(
            hit(&c, b"a").is_none(),
            "the store still says 1; read it there"
        );
        let t = miss(&c, b"a");
        c.fill(t, b"a", Some(b"1"));
        assert_eq!(hit(&c, b"a"), Some(Some(b"1".to_vec())));
    }

    #[test]
    fn range_deletes_and_changes_empty_it_and_a_full_cache_starts_over() {
        let c = HotCache::new(Column::Accounts, 2).unwrap();
        c.write_through(&[put(b"a", b"1"), put(b"b", b"2")], || Ok::<_, ()>(()))
            .unwrap();
        assert!(hit(&c, b"a").is_some() && hit(&c, b"b").is_some());
        let range = WriteOp::DeleteRange(Column::Accounts, b"a".to_vec(), b"z".to_vec());
        c.write_through(&[range, put(b"c", b"3")], || Ok::<_, ()>(()))
            .unwrap();
        assert!(hit(&c, b"a").is_none() && hit(&c, b"b").is_none());
        assert_eq!(hit(&c, b"c"), Some(Some(b"3".to_vec())));
        c.write_through(&[put(b"d", b"4"), put(b"e", b"5")], || Ok::<_, ()>(()))
            .unwrap();
        assert!(hit(&c, b"c").is_none(), "full at 2: started over");
        assert!(hit(&c, b"d").is_none() && hit(&c, b"e").is_some());
        c.around_change(|| Ok::<_, ()>(())).unwrap();
        assert!(hit(&c, b"e").is_none());
    }
}
