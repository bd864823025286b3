//! Small files that must survive a killed process: a file replaced atomically
//! ([`replace_durably`]) and an append-only log of checksummed records ([`RecordLog`]).
//!
//! Owns: the on-disk framing of [`RecordLog`] — each record is `len: u32 LE`, the first 4 bytes of
//! `SHA-256(payload)`, then the payload — and the rule for reading it back: a record cut short
//! or failing its checksum **at the end** of the file is a write the process did not finish
//! (it was killed mid-append) and is cut off; one anywhere else is corruption and an error.
//!
//! Must never: report a write as done before it is on disk (`fsync` of the file, and of the
//! directory after a rename or a create), or silently drop a record that is followed by others.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::crypto;

/// Largest record a [`RecordLog`] accepts (a proposal with its block fits many times over).
pub const MAX_RECORD_BYTES: usize = 256 << 20;

/// A failure of a durable file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A record before the last one is damaged.
    #[error("{path}: record at byte {offset} is damaged ({reason}) and more records follow it")]
    Corrupt {
        /// File.
        path: String,
        /// Where the damaged record starts.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
/// written to `<path>.tmp`, fsynced, renamed over `path`, and the directory fsynced.
pub fn replace_durably(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = parent(path);
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(&dir).map_err(io(&dir))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename is still atomic.
    Ok(())
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crypto::sha256(payload).0[..4]);
    out.extend_from_slice(payload);
    out
}

/// An append-only file of records, each durable when [`RecordLog::append`] returns.
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    file: File,
    /// Bytes of whole records: a failed append is cut back to it.
    len: u64,
}

impl RecordLog {
    /// Opens (or creates) the log at `path` and returns it with the records it holds. A torn
    /// last record is cut off the file, so later appends follow the last whole record.
    pub fn open(path: &Path) -> Result<(Self, Vec<Vec<u8>>), FileError> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io(path))?;
        if !existed {
            sync_dir(&parent(path)).map_err(io(path))?;
        }
        let bytes = {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut b).map_err(io(path))?;
            b
        };
        let (records, good) = Self::parse(path, &bytes)?;
        if good < bytes.len() {
            tracing::warn!(target: "batara::storage", path = %path.display(), cut = bytes.len() - good, "cutting off a record the last run did not finish writing");
            file.set_len(good as u64).map_err(io(path))?;
            file.sync_all().map_err(io(path))?;
        }
        let log = Self {
            path: path.to_owned(),
            file,
            len: good as u64,
        };
        Ok((log, records))
    }

    /// The whole records of `bytes`, and how many bytes they take.
    fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<Vec<u8>>, usize), FileError> {
        let mut records = Vec::new();
        let mut at = 0usize;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let torn = |reason| -> Result<(Vec<Vec<u8>>, usize), FileError> {
                Err(FileError::Corrupt {
                    path: path.display().to_string(),
                    offset: at as u64,
                    reason,
                })
            };
            if rest.len() < 8 {
                break; // a header cut short: the last append was not finished
            }
            let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            if len > MAX_RECORD_BYTES {
                // An unfinished append leaves a prefix of a whole frame, whose length is right.
                return torn("length out of range");
            }
            if rest.len() < 8 + len {
                break;
            }
            let payload = &rest[8..8 + len];
            if crypto::sha256(payload).0[..4] != rest[4..8] {
                if rest.len() == 8 + len {
                    break; // the last record, not fully on disk
                }
                return torn("checksum mismatch");
            }
            records.push(payload.to_vec());
            at += 8 + len;
        }
        Ok((records, at))
    }

    /// Appends one record and fsyncs it.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), FileError> {
        if payload.len() > MAX_RECORD_BYTES {
            return Err(FileError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "record of {} bytes is over {MAX_RECORD_BYTES}",
                        payload.len()
                    ),
                ),
            });
        }
        let framed = frame(payload);
        let written = self
            .file
            .write_all(&framed)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // No torn record may stay in the middle of the log: cut back to the whole ones
            // (if even that fails, the next open cuts it off as the torn tail it then is).
            let _ = self.file.set_len(self.len);
            return Err(io(&self.path)(e));
        }
        self.len += framed.len() as u64;
        Ok(())
    }

    /// Replaces the whole log by one record (atomically: a crash leaves the old log or the new).
    pub fn reset(&mut self, first: &[u8]) -> Result<(), FileError> {
        let framed = frame(first);
        replace_durably(&self.path, &framed)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        self.len = framed.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut log, recs) = RecordLog::open(&path).unwrap();
        assert!(recs.is_empty());
        log.append(b"one").unwrap();
        log.append(b"two").unwrap();
        drop(log);
        let whole = std::fs::read(&path).unwrap();
        // Every cut inside the third record's bytes reads back as the first two records.
        let third = frame(b"three");
        for cut in 0..third.len() {
            let mut bytes = whole.clone();
            bytes.extend_from_slice(&third[..cut]);
            std::fs::write(&path, &bytes).unwrap();
            let (mut log, recs) = RecordLog::open(&path).unwrap();
            assert_eq!(recs, vec![b"one".to_vec(), b"two".to_vec()], "cut at {cut}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), whole.len() as u64);
            // Appending after the cut gives a readable log.
            log.append(b"four").unwrap();
            drop(log);
            let (_, recs) = RecordLog::open(&path).unwrap();
            assert_eq!(recs.len(), 3);
            assert_eq!(recs[2], b"four");
            std::fs::write(&path, &whole).unwrap();
        }
        // A damaged last record is a torn write; a damaged earlier one is corruption.
        let mut bytes = whole.clone();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(RecordLog::open(&path).unwrap().1, vec![b"one".to_vec()]);
        // A damaged length is never a torn write.
        let mut bytes = whole.clone();
        bytes[3] = 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            RecordLog::open(&path).unwrap_err(),
            FileError::Corrupt { offset: 0, .. }
        ));
        let mut bytes = whole.clone();
        bytes[9] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = RecordLog::open(&path).unwrap_err();
        assert!(matches!(err, FileError::Corrupt { offset: 0, .. }), "{err}");
    }

    #[test]
    fn reset_replaces_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut log, _) = RecordLog::open(&path).unwrap();
        log.append(b"a").unwrap();
        log.append(b"b").unwrap();
        log.reset(b"fresh").unwrap();
        log.append(b"c").unwrap();
        drop(log);
        assert_eq!(
            RecordLog::open(&path).unwrap().1,
            vec![b"fresh".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn replace_durably_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        replace_durably(&path, b"1").unwrap();
        replace_durably(&path, b"22").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"22");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
