//! The consensus write-ahead log of a validator (CometBFT keeps one too): what the state machine
//! needs after a restart to keep its promises at the height it was deciding.
//!
//! Owns: the WAL file and its entries — the height they belong to, this node's own signed
//! proposals (with their blocks) and votes, and every change of its lock and valid value (with the
//! block, so a locked block can still be prevoted, re-proposed and committed). It holds one height
//! at a time: starting a higher height replaces the file.
//!
//! Invariant: an entry is on disk before the message it describes leaves the node. The host
//! appends the new lock before signing the precommit that goes with it, and each own message
//! after the guard signed it and before it is sent. So after a SIGKILL at any point, a
//! restarted validator resumes the height with the lock and valid value it had and its own
//! messages of that height (which it re-sends), and never prevotes a block its lock forbids —
//! the "amnesia" the double-sign guard alone cannot prevent (it only knows the last message).
//!
//! Must never: hand back entries of another height, or drop an entry followed by others (a torn
//! last entry, a write the kill interrupted, is cut off: its message never left).
//!
//! Choices: only this node's own decisions are logged, not every message received (CometBFT logs
//! those too, to replay the round exactly); messages of others come back through gossip, whose
//! engines re-send their current messages every second. A node below the WAL's height (its store
//! was ephemeral, or lost its last blocks to a power cut with `sync_writes` off) leaves the file
//! alone and signs nothing until it reaches that height: it had decided every height below it,
//! and its lock at those heights is gone with the reset, so it must not vote there again —
//! the network decided them, and block sync brings them.

use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};

use super::{ConsensusMsg, Resume, Step};
use crate::storage::file::{FileError, RecordLog};
use crate::types::{Block, Hash, VoteKind};

/// One entry.
#[derive(Clone, Debug, BorshSerialize, BorshDeserialize)]
pub enum WalEntry {
    /// The height of every entry after it (always the first entry).
    Height(u64),
    /// A block the lock or valid value names, or that this node built for its proposal (logged
    /// before the proposal is signed, so a restart proposes the same block again).
    Block(Box<Block>),
    /// The lock changed.
    Locked {
        /// lockedValue.
        block_hash: Hash,
        /// lockedRound.
        round: u32,
    },
    /// The valid value changed.
    Valid {
        /// validValue.
        block_hash: Hash,
        /// validRound.
        round: u32,
    },
    /// A message this node signed.
    Own(Box<ConsensusMsg>),
}

/// What starting a height finds in the WAL.
#[derive(Debug)]
pub enum Begin {
    /// Nothing for this height: a fresh start.
    Fresh,
    /// This node was deciding this height before it stopped.
    Resume(Recovered),
    /// The WAL is for a higher height: this node must not sign here (see the module docs).
    Below {
        /// The WAL's height.
        wal_height: u64,
    },
}

/// What the WAL held for the height being resumed.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Lock, valid value, round and step.
    pub resume: Resume,
    /// The blocks of the lock, the valid value, own proposals and the block this node built.
    pub blocks: Vec<Block>,
    /// Own signed messages, in signing order.
    pub own: Vec<ConsensusMsg>,
}

/// Errors of the WAL.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The file.
    #[error("consensus WAL: {0}")]
    File(#[from] FileError),
    /// An entry that does not decode, or a file not starting with its height.
    #[error("consensus WAL {path}: {reason}")]
    Corrupt {
        /// File.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The WAL of one validator.
#[derive(Debug)]
pub struct Wal {
    log: RecordLog,
    /// The height of the entries on disk.
    height: u64,
    /// Entries read at open, until the height they belong to is started.
    pending: Vec<WalEntry>,
    /// Appends go to disk (false while the node is below the file's height).
    active: bool,
    /// Blocks already in the file.
    blocks: Vec<Hash>,
}

impl Wal {
    /// Opens (or creates) the WAL at `path` and reads what it holds.
    pub fn open(path: &Path) -> Result<Self, WalError> {
        let (log, records) = RecordLog::open(path)?;
        let corrupt = |reason: String| WalError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let mut entries = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                WalEntry::try_from_slice(r).map_err(|e| corrupt(format!("entry {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let height = match entries.first() {
            None => 0,
            Some(WalEntry::Height(h)) => *h,
            Some(_) => return Err(corrupt("the first entry is not a height".into())),
        };
        if !entries.is_empty() {
            entries.remove(0);
        }
        tracing::debug!(target: "batara::bft", height, entries = entries.len(), "consensus WAL opened");
        Ok(Self {
            log,
            height,
            pending: entries,
            active: false,
            blocks: Vec::new(),
        })
    }

    /// The host starts `height`: returns what the WAL holds for it when this is the height it
    /// was deciding before a restart. Below the WAL's height nothing is written (the file is
    /// kept for when the node gets there); above it, the file starts over with `height`.
    pub fn begin(&mut self, height: u64) -> Result<Begin, WalError> {
        if height < self.height {
            self.active = false;
            return Ok(Begin::Below {
                wal_height: self.height,
            });
        }
        self.active = true;
        if height == self.height && !self.pending.is_empty() {
            return Ok(Begin::Resume(self.recover()));
        }
        if height > self.height {
            self.log
                .reset(&borsh::to_vec(&WalEntry::Height(height)).expect("borsh into Vec"))?;
            self.height = height;
            self.pending.clear();
            self.blocks.clear();
        }
        Ok(Begin::Fresh)
    }

    fn recover(&mut self) -> Recovered {
        let mut rec = Recovered::default();
        // (round, step rank) of the latest own message: proposal 0, prevote 1, precommit 2.
        let mut last: Option<(u32, u8)> = None;
        for e in std::mem::take(&mut self.pending) {
            match e {
                WalEntry::Height(_) => {}
                WalEntry::Block(b) => {
                    self.blocks.push(b.hash());
                    rec.blocks.push(*b);
                }
                WalEntry::Locked { block_hash, round } => {
                    rec.resume.locked = Some((block_hash, round))
                }
                WalEntry::Valid { block_hash, round } => {
                    rec.resume.valid = Some((block_hash, round))
                }
                WalEntry::Own(m) => {
                    let m = *m;
                    let at = match &m {
                        ConsensusMsg::Proposal { proposal, block } => {
                            self.blocks.push(proposal.block_hash);
                            rec.blocks.push((**block).clone());
                            (proposal.round, 0)
                        }
                        ConsensusMsg::Vote(v) => (
                            v.round,
                            match v.kind {
                                VoteKind::Prevote => 1,
                                VoteKind::Precommit => 2,
                            },
                        ),
                        ConsensusMsg::Evidence(_) => continue,
                    };
                    last = last.max(Some(at));
                    rec.own.push(m);
                }
            }
        }
        if let Some((round, rank)) = last {
            rec.resume.round = round;
            rec.resume.step = match rank {
                0 => Step::Propose,
                1 => Step::Prevote,
                _ => Step::Precommit,
            };
            rec.resume.proposed = rank == 0;
        }
        rec
    }

    /// Appends `entry` durably (nothing while the node is below the WAL's height).
    pub fn append(&mut self, entry: &WalEntry) -> Result<(), WalError> {
        if !self.active {
            return Ok(());
        }
        match entry {
            WalEntry::Own(m) => {
                if let ConsensusMsg::Proposal { proposal, .. } = m.as_ref() {
                    self.blocks.push(proposal.block_hash)
                }
            }
            WalEntry::Block(b) => self.blocks.push(b.hash()),
            _ => {}
        }
        self.log
            .append(&borsh::to_vec(entry).expect("borsh into Vec"))
            .map_err(Into::into)
    }

    /// Appends the lock or valid value change `entry`, preceded by its block unless the file
    /// already has it.
    pub fn append_value(&mut self, entry: WalEntry, block: Option<&Block>) -> Result<(), WalError> {
        let hash = match &entry {
            WalEntry::Locked { block_hash, .. } | WalEntry::Valid { block_hash, .. } => *block_hash,
            _ => return self.append(&entry),
        };
        if !self.blocks.contains(&hash) {
            if let Some(b) = block {
                self.append(&WalEntry::Block(Box::new(b.clone())))?;
            }
        }
        self.append(&entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::types::{Header, Vote};

    fn vote(kind: VoteKind, round: u32, block: Option<Hash>) -> ConsensusMsg {
        let k = Keypair::from_seed(&[7; 32]);
        ConsensusMsg::Vote(Vote {
            kind,
            height: 5,
            round,
            block_hash: block,
            validator: k.address(),
            signature: k.sign(b"not checked here"),
        })
    }

    fn block(tag: u8) -> Block {
        let zero = Hash([0; 32]);
        let header = Header {
            chain_id: "wal-test".into(),
            height: 5,
            time: u64::from(tag),
            parent: zero,
            proposer: Keypair::from_seed(&[7; 32]).address(),
            txs_root: zero,
            state_root: zero,
            validator_set_hash: zero,
            last_commit_hash: zero,
            evidence_root: zero,
        };
        Block {
            header,
            txs: vec![],
            last_commit: None,
            evidence: vec![],
        }
    }

    #[test]
    fn a_height_is_recovered_once_kept_while_below_and_replaced_above() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consensus.wal");
        let b = block(1);
        {
            let mut wal = Wal::open(&path).unwrap();
            assert!(
                matches!(wal.begin(5).unwrap(), Begin::Fresh),
                "a new WAL has nothing"
            );
            wal.append(&WalEntry::Own(Box::new(vote(
                VoteKind::Prevote,
                2,
                Some(b.hash()),
            ))))
            .unwrap();
            wal.append_value(
                WalEntry::Locked {
                    block_hash: b.hash(),
                    round: 2,
                },
                Some(&b),
            )
            .unwrap();
            wal.append_value(
                WalEntry::Valid {
                    block_hash: b.hash(),
                    round: 2,
                },
                Some(&b),
            )
            .unwrap();
            wal.append(&WalEntry::Own(Box::new(vote(
                VoteKind::Precommit,
                2,
                Some(b.hash()),
            ))))
            .unwrap();
        }
        // A node below the height (an ephemeral store syncing) leaves the file as it is.
        {
            let mut wal = Wal::open(&path).unwrap();
            assert!(matches!(
                wal.begin(3).unwrap(),
                Begin::Below { wal_height: 5 }
            ));
            wal.append(&WalEntry::Own(Box::new(vote(VoteKind::Prevote, 0, None))))
                .unwrap();
        }
        let mut wal = Wal::open(&path).unwrap();
        let Begin::Resume(rec) = wal.begin(5).unwrap() else {
            panic!("height 5 is recovered")
        };
        assert_eq!(
            rec.resume,
            Resume {
                locked: Some((b.hash(), 2)),
                valid: Some((b.hash(), 2)),
                round: 2,
                step: Step::Precommit,
                proposed: false,
            }
        );
        assert_eq!(rec.own.len(), 2);
        // The block went in once, with the lock.
        assert_eq!(rec.blocks.len(), 1);
        assert_eq!(rec.blocks[0].hash(), b.hash());
        // A higher height starts the file over.
        assert!(matches!(wal.begin(6).unwrap(), Begin::Fresh));
        drop(wal);
        let mut wal = Wal::open(&path).unwrap();
        assert!(matches!(wal.begin(6).unwrap(), Begin::Fresh));
    }

    #[test]
    fn a_file_of_something_else_is_an_error_not_an_empty_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consensus.wal");
        let (mut log, _) = RecordLog::open(&path).unwrap();
        log.append(b"\xffnot an entry").unwrap();
        drop(log);
        let err = Wal::open(&path).unwrap_err();
        assert!(err.to_string().contains("entry 0"), "{err}");
        let (mut log, _) = RecordLog::open(&path).unwrap();
        log.reset(&borsh::to_vec(&WalEntry::Block(Box::new(block(1)))).unwrap())
            .unwrap();
        drop(log);
        let err = Wal::open(&path).unwrap_err();
        assert!(err.to_string().contains("not a height"), "{err}");
    }
}
