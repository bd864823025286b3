//! [`Storage`] on RocksDB: one column family per [`Column`], atomic `WriteBatch`es, an
//! in-memory environment for throwaway dev chains, and a write-through [`HotCache`] of
//! [`Column::Accounts`] (the latest accounts, read by every transaction and every balance call).

use std::path::Path;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, Env, Options, DB};

use super::hot::{HotCache, Lookup};
use super::StorageConfig;
use super::{Column, Entry, Storage, StorageError, WriteBatch, WriteOp};

fn backend(e: rocksdb::Error) -> StorageError {
    StorageError::Backend(e.into_string())
}

/// RocksDB-backed store.
pub struct RocksStore {
    db: DB,
    sync: bool,
    secondary: bool,
    hot: Option<HotCache>,
    // Keeps the in-memory environment alive for as long as the database (ephemeral mode).
    _env: Option<Env>,
}

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.db.path())
            .finish()
    }
}

fn hot(cfg: &StorageConfig) -> Option<HotCache> {
    HotCache::new(Column::Accounts, cfg.hot_accounts)
}

fn options(cfg: &StorageConfig) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts.increase_parallelism(2);
    opts.set_max_total_wal_size(256 << 20);
    let cache = Cache::new_lru_cache(cfg.cache_mb.max(8) << 20);
    let cfs = Column::ALL
        .iter()
        .map(|c| {
            let mut o = Options::default();
            let mut t = BlockBasedOptions::default();
            t.set_block_cache(&cache);
            t.set_bloom_filter(10.0, false);
            o.set_block_based_table_factory(&t);
            o.set_compression_type(rocksdb::DBCompressionType::Lz4);
            o.set_write_buffer_size(32 << 20);
            ColumnFamilyDescriptor::new(c.name(), o)
        })
        .collect();
    (opts, cfs)
}

impl RocksStore {
    /// Opens (creating if needed) the database in `path`. Fails if another process holds it.
    pub fn open(path: &Path, cfg: &StorageConfig) -> Result<Self, StorageError> {
        let (opts, cfs) = options(cfg);
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(backend)?;
        Ok(Self {
            db,
            sync: cfg.sync_writes,
            secondary: false,
            hot: hot(cfg),
            _env: None,
        })
    }

    /// A database that lives in memory only (RocksDB's in-memory environment), gone on drop.
    pub fn ephemeral(cfg: &StorageConfig) -> Result<Self, StorageError> {
        let env = Env::mem_env().map_err(backend)?;
        let (mut opts, cfs) = options(cfg);
        opts.set_env(&env);
        let mut tag = [0u8; 8];
        getrandom::getrandom(&mut tag).map_err(|e| StorageError::Backend(e.to_string()))?;
        let path = format!("/batara-ephemeral-{}", hex::encode(tag));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(backend)?;
        Ok(Self {
            db,
            sync: false,
            secondary: false,
            hot: hot(cfg),
            _env: Some(env),
        })
    }

    /// Opens `path` read-only while another process writes it (a RocksDB secondary instance).
    /// Call [`Storage::refresh`] to see the writer's newer blocks. `scratch` holds the follower's
    /// own small files.
    pub fn open_follower(
        path: &Path,
        scratch: &Path,
        cfg: &StorageConfig,
    ) -> Result<Self, StorageError> {
        let (mut opts, cfs) = options(cfg);
        opts.create_if_missing(false);
        opts.set_max_open_files(-1);
        let db =
            DB::open_cf_descriptors_as_secondary(&opts, path, scratch, cfs).map_err(backend)?;
        Ok(Self {
            db,
            sync: false,
            secondary: true,
            hot: hot(cfg),
            _env: None,
        })
    }

    fn cf(&self, col: Column) -> &rocksdb::ColumnFamily {
        // Every column family is created at open, so the handle always exists.
        self.db.cf_handle(col.name()).expect("column family opened")
    }
}

impl Storage for RocksStore {
    fn checkpoint(&self, dir: &Path) -> Result<(), StorageError> {
        if self._env.is_some() {
            return Err(StorageError::Unsupported(
                "an in-memory store (storage.ephemeral) has no files to back up",
            ));
        }
        if self.secondary {
            return Err(StorageError::Unsupported(
                "a read-only follower cannot take a checkpoint: back up through the node that writes",
            ));
        }
        rocksdb::checkpoint::Checkpoint::new(&self.db)
            .and_then(|c| c.create_checkpoint(dir))
            .map_err(backend)
    }

    fn get(&self, col: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(hot) = self.hot.as_ref().filter(|h| h.column() == col) else {
            return self.db.get_cf(self.cf(col), key).map_err(backend);
        };
        let ticket = match hot.get(key) {
            Lookup::Hit(v) => return Ok(v),
            Lookup::Miss(t) => t,
        };
        let v = self.db.get_cf(self.cf(col), key).map_err(backend)?;
        hot.fill(ticket, key, v.as_deref());
        Ok(v)
    }

    fn get_prev_with_prefix(
        &self,
        col: Column,
        prefix: &[u8],
        key: &[u8],
    ) -> Result<Option<Entry>, StorageError> {
        let mut it = self.db.raw_iterator_cf(self.cf(col));
        it.seek_for_prev(key);
        if !it.valid() {
            it.status().map_err(backend)?;
            return Ok(None);
        }
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(prefix) => Ok(Some((k.to_vec(), v.to_vec()))),
            _ => Ok(None),
        }
    }

    fn range(
        &self,
        col: Column,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StorageError> {
        let mut it = self.db.raw_iterator_cf(self.cf(col));
        it.seek(from);
        let mut out = Vec::new();
        while it.valid() && out.len() < limit {
            match (it.key(), it.value()) {
                (Some(k), Some(v)) if k < to => out.push((k.to_vec(), v.to_vec())),
                _ => break,
            }
            it.next();
        }
        it.status().map_err(backend)?;
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StorageError> {
        if self.secondary {
            return Err(StorageError::Backend(
                "read-only follower cannot write".into(),
            ));
        }
        let mut wb = rocksdb::WriteBatch::default();
        for op in batch.ops() {
            match op {
                WriteOp::Put(c, k, v) => wb.put_cf(self.cf(*c), k, v),
                WriteOp::Delete(c, k) => wb.delete_cf(self.cf(*c), k),
                WriteOp::DeleteRange(c, from, to) => wb.delete_range_cf(self.cf(*c), from, to),
            }
        }
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync);
        let write = || self.db.write_opt(wb, &wo).map_err(backend);
        match &self.hot {
            Some(hot) => hot.write_through(batch.ops(), write),
            None => write(),
        }
    }

    fn refresh(&self) -> Result<(), StorageError> {
        if !self.secondary {
            return Ok(());
        }
        let catch_up = || self.db.try_catch_up_with_primary().map_err(backend);
        match &self.hot {
            Some(hot) => hot.around_change(catch_up),
            None => catch_up(),
        }
    }
}
