//! Backups of a running node.
//!
//! Owns: the backup layout — a node home without keys: `data/db` (a RocksDB checkpoint of the
//! store, taken while blocks keep committing: it holds exactly the writes completed before it,
//! and a block is one atomic write, so it ends at a whole block), `genesis.json`, a
//! `config.toml` naming `data/`, and `backup.json` (the [`BackupView`]). The copy opens as it is
//! with a `ChainReader` or `batara.analysis`; restoring a node is replacing its `data/db` by the
//! backup's, the node stopped — a validator keeps its own `sign_state.json` and `consensus.wal`
//! (an older guard could let it sign twice; the README's "Backups").
//!
//! Must never: write into an existing directory, leave a half-written backup under its name (it
//! is written beside it and renamed when whole; a failure removes what it wrote), or report a
//! height or state root other than those the written copy holds (both are read back from the
//! copy itself).

use std::path::Path;

use crate::api::{BackupView, ChainReader, Error, Result};
use crate::app::Genesis;
use crate::runtime::Chain;

use super::home::{CONFIG, DATA, GENESIS};

/// The manifest of a backup (its [`BackupView`] as JSON).
pub const MANIFEST: &str = "backup.json";

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Writes a backup of `chain` into the new directory `dir` (see the module docs). It is written
/// into `.<name>.partial` beside `dir` and renamed at the end, so `dir` appears whole or not at
/// all, also if the process dies while writing.
pub(super) fn write(chain: &Chain, genesis: &Genesis, dir: &Path) -> Result<BackupView> {
    let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else {
        return Err(Error::InvalidInput(format!(
            "backup directory {} needs a name",
            dir.display()
        )));
    };
    if dir.exists() {
        return Err(Error::InvalidInput(format!(
            "backup directory {} already exists; name a new one",
            dir.display()
        )));
    }
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    let partial = parent.join(format!(".{}.partial", name.to_string_lossy()));
    // create_dir, not create_dir_all: of two backups into one name, the second stops here.
    std::fs::create_dir(&partial).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::InvalidInput(format!(
            "a backup into {} is being written already",
            dir.display()
        )),
        _ => Error::Io {
            context: format!("creating {}", partial.display()),
            source: e,
        },
    })?;
    let written = write_into(chain, genesis, &partial, dir).and_then(|view| {
        std::fs::rename(&partial, dir).map_err(io(format!(
            "renaming {} to {}",
            partial.display(),
            dir.display()
        )))?;
        Ok(view)
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    written
}

fn write_into(chain: &Chain, genesis: &Genesis, dir: &Path, named: &Path) -> Result<BackupView> {
    let data = dir.join(DATA);
    std::fs::create_dir(&data).map_err(io(format!("creating {}", data.display())))?;
    let started = std::time::Instant::now();
    chain.store().checkpoint(&data.join("db"))?;
    let file = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))
    };
    file(GENESIS, genesis.to_json())?;
    // Read back from the copy: what it holds is what the manifest says.
    let copy = ChainReader::open_data_dir(&data, genesis.clone())?;
    let head = copy.chain().head();
    drop(copy);
    let view = BackupView {
        dir: named.display().to_string(),
        chain_id: chain.spec().chain_id.clone(),
        height: head.header.height,
        hash: head.hash,
        state_root: head.header.state_root,
        bytes: dir_bytes(&data.join("db"))?,
        created_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    };
    file(
        CONFIG,
        format!(
            "# A backup of chain {} at height {} (state root {}); see {MANIFEST}.\n\
             # Opens read-only as a home; restore a node by copying data/ into its home.\n\
             data_dir = \"{DATA}\"\n\n[rpc]\nenabled = false\n",
            view.chain_id, view.height, view.state_root
        ),
    )?;
    let manifest = serde_json::to_string_pretty(&view).expect("a view serializes");
    file(MANIFEST, manifest + "\n")?;
    tracing::info!(target: "batara::node", dir = %view.dir, height = view.height, ms = started.elapsed().as_millis() as u64, "backup written");
    Ok(view)
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))? {
        let meta = entry
            .and_then(|e| e.metadata())
            .map_err(io(format!("reading {}", dir.display())))?;
        total += meta.len();
    }
    Ok(total)
}
