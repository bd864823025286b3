//! The state manager: accounts in an authenticated, versioned key-value tree.
//!
//! Owns: the state tree (a Jellyfish Merkle tree from the `jmt` crate, SHA-256, nodes and values
//! kept in [`Column::StateNodes`] / [`Column::StateValues`]), the plain latest-state tables
//! ([`Column::Accounts`], [`Column::Objects`]) that execution reads, per-block changesets, and
//! proofs.
//!
//! Versions are block heights: the tree at version `h` is the state after block `h` (genesis is 0),
//! and its root is header `h`'s `state_root`. Keys: `acct/<20 address bytes>` for accounts (borsh
//! [`Account`]), `sys/block` for the height/time of the last block (written every block, so every
//! version has its own root), and module objects under their own prefixes (`stk/…` for staking;
//! see `modules/staking/`), whose plain copy lives in [`Column::Objects`] under the same key.
//!
//! Must never: write outside a block's [`WriteBatch`], or let the plain table and the tree disagree.
//! Old versions are kept (no pruning yet), so any height can be queried and proven.

use std::collections::BTreeMap;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};

use sha2::Sha256;

use batara_primitives::proof::key_hash;
pub use batara_primitives::proof::{
    account_key, verify_account_proof, verify_object_proof, Account, AccountProof, ObjectProof,
    ProofError,
};

use crate::storage::{decode, height_key, Column, Entry, Storage, StorageError, WriteBatch};
use crate::types::{Address, Hash};

/// State errors.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Storage failed underneath.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The tree could not be read or updated.
    #[error("state tree: {0}")]
    Tree(String),
    /// No state exists at that height (in the future, or reverted).
    #[error("no state at height {0}")]
    NoVersion(u64),
    /// A proof did not verify.
    #[error("invalid proof: {0}")]
    InvalidProof(#[from] ProofError),
}

/// The tree key of the last block's height and time.
pub const BLOCK_META_KEY: &[u8] = b"sys/block";

/// Reads the tree's nodes and values from [`Storage`].
struct TreeStore<'a>(&'a dyn Storage);

fn node_db_key(k: &NodeKey) -> Vec<u8> {
    let mut key = k.version().to_be_bytes().to_vec();
    borsh::to_writer(&mut key, k).expect("borsh into Vec");
    key
}

fn value_db_key(kh: &KeyHash, version: Version) -> Vec<u8> {
    let mut key = kh.0.to_vec();
    key.extend_from_slice(&version.to_be_bytes());
    key
}

impl TreeReader for TreeStore<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.0.get(Column::StateNodes, &node_db_key(node_key))? {
            Some(b) => Ok(Some(decode("state node", &b)?)),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let seek = value_db_key(&key_hash, max_version);
        match self
            .0
            .get_prev_with_prefix(Column::StateValues, &key_hash.0, &seek)?
        {
            Some((_, v)) => Ok(decode::<Option<Vec<u8>>>("state value", &v)?),
            None => Ok(None),
        }
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only jmt's snapshot restore asks for this, and Batara does not restore tree snapshots
        // (nodes sync by replaying blocks).
        Err(StateError::Tree("tree snapshot restore is not supported".into()).into())
    }
}

/// Module objects a block writes: tree key → new value (`None` deletes).
pub type ObjectWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// What a block overwrote, to undo it (`dev_revert`).
#[derive(BorshSerialize, BorshDeserialize)]
struct Changeset {
    accounts: Vec<(Address, Option<Account>)>,
    objects: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// What a block did to the state, ready to be written with the block.
pub struct StateUpdate {
    /// The new state root.
    pub root: Hash,
    /// Writes for the tree, the plain table and the changeset.
    pub batch: WriteBatch,
}

/// Account state over a [`Storage`].
#[derive(Clone)]
pub struct StateManager {
    store: Arc<dyn Storage>,
}

impl StateManager {
    /// State over `store`.
    pub fn new(store: Arc<dyn Storage>) -> Self {
        Self { store }
    }

    /// The latest committed account (default: empty).
    pub fn account(&self, addr: &Address) -> Result<Account, StateError> {
        match self.store.get(Column::Accounts, &addr.0)? {
            Some(b) => Ok(decode("account", &b)?),
            None => Ok(Account::default()),
        }
    }

    /// Up to `limit` accounts of the latest state with addresses greater than `after` (from the
    /// first if `None`), in address order.
    pub fn accounts_after(
        &self,
        after: Option<&Address>,
        limit: usize,
    ) -> Result<Vec<(Address, Account)>, StateError> {
        // The smallest key greater than `after` is `after` followed by a zero byte.
        let from = after.map_or_else(Vec::new, |a| [&a.0[..], &[0]].concat());
        let rows = self
            .store
            .range(Column::Accounts, &from, &[0xff; 21], limit)?;
        rows.into_iter()
            .map(|(k, v)| {
                let addr: [u8; 20] = k.as_slice().try_into().map_err(|_| {
                    StateError::Storage(crate::storage::StorageError::Corrupt {
                        what: "account key",
                        reason: format!("{} bytes", k.len()),
                    })
                })?;
                Ok((Address(addr), decode("account", &v)?))
            })
            .collect()
    }

    /// The account as it was after block `height` (`None` if it did not exist).
    pub fn account_at(&self, addr: &Address, height: u64) -> Result<Option<Account>, StateError> {
        match self.value_at(&account_key(addr), height)? {
            Some(b) => Ok(Some(decode("account", &b)?)),
            None => Ok(None),
        }
    }

    fn value_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StateError> {
        TreeStore(self.store.as_ref())
            .get_value_option(height, key_hash(key))
            .map_err(|e| StateError::Tree(e.to_string()))
    }

    /// The latest committed value of a module object.
    pub fn object(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.store.get(Column::Objects, key)?)
    }

    /// A module object as it was after block `height`.
    pub fn object_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StateError> {
        self.value_at(key, height)
    }

    /// Latest module objects with keys in `[from, to)`, in key order, at most `limit`.
    pub fn objects_in(
        &self,
        from: &[u8],
        to: &[u8],
        limit: usize,
    ) -> Result<Vec<Entry>, StateError> {
        Ok(self.store.range(Column::Objects, from, to, limit)?)
    }

    /// The state root after block `height`.
    pub fn root_at(&self, height: u64) -> Result<Hash, StateError> {
        let reader = TreeStore(self.store.as_ref());
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&reader);
        match tree.get_root_hash_option(height) {
            Ok(Some(r)) => Ok(Hash(r.0)),
            Ok(None) => Err(StateError::NoVersion(height)),
            Err(e) => Err(StateError::Tree(e.to_string())),
        }
    }

    /// The account at `height` with a proof against that height's state root.
    pub fn prove(&self, addr: &Address, height: u64) -> Result<AccountProof, StateError> {
        let p = self.prove_object(&account_key(addr), height)?;
        let value = match p.value {
            Some(b) => Some(decode::<Account>("account", &b)?),
            None => None,
        };
        Ok(AccountProof {
            value,
            proof: p.proof,
            state_root: p.state_root,
            height,
        })
    }

    /// The value of tree key `key` at `height` with a proof against that height's state root.
    pub fn prove_object(&self, key: &[u8], height: u64) -> Result<ObjectProof, StateError> {
        let state_root = self.root_at(height)?;
        let reader = TreeStore(self.store.as_ref());
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&reader);
        let (value, proof) = tree
            .get_with_proof(key_hash(key), height)
            .map_err(|e| StateError::Tree(e.to_string()))?;
        Ok(ObjectProof {
            key: key.to_vec(),
            value,
            proof: borsh::to_vec(&proof).expect("borsh into Vec"),
            state_root,
            height,
        })
    }

    /// Computes the state after a block at `height` that sets `accounts` and `objects` (and
    /// records the block's height and time), without writing: the caller writes
    /// [`StateUpdate::batch`] with the block.
    pub fn stage(
        &self,
        height: u64,
        time: u64,
        accounts: &BTreeMap<Address, Account>,
        objects: &ObjectWrites,
    ) -> Result<StateUpdate, StateError> {
        let mut batch = WriteBatch::default();
        let mut changeset = Changeset {
            accounts: Vec::with_capacity(accounts.len()),
            objects: Vec::with_capacity(objects.len()),
        };
        let mut values: Vec<(KeyHash, Option<OwnedValue>)> =
            Vec::with_capacity(accounts.len() + objects.len() + 1);
        for (addr, acct) in accounts {
            let prev = self.store.get(Column::Accounts, &addr.0)?;
            changeset
                .accounts
                .push((*addr, prev.map(|b| decode("account", &b)).transpose()?));
            let bytes = borsh::to_vec(acct).expect("borsh into Vec");
            batch.put(Column::Accounts, addr.0.to_vec(), bytes.clone());
            values.push((key_hash(&account_key(addr)), Some(bytes)));
        }
        for (key, value) in objects {
            debug_assert!(!key.starts_with(b"acct/") && key != BLOCK_META_KEY);
            changeset
                .objects
                .push((key.clone(), self.store.get(Column::Objects, key)?));
            match value {
                Some(v) => batch.put(Column::Objects, key.clone(), v.clone()),
                None => batch.delete(Column::Objects, key.clone()),
            }
            values.push((key_hash(key), value.clone()));
        }
        values.push((
            key_hash(BLOCK_META_KEY),
            Some(borsh::to_vec(&(height, time)).expect("borsh into Vec")),
        ));
        let reader = TreeStore(self.store.as_ref());
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&reader);
        let (root, update) = tree
            .put_value_set(values, height)
            .map_err(|e| StateError::Tree(e.to_string()))?;
        for (k, node) in update.node_batch.nodes() {
            batch.put(
                Column::StateNodes,
                node_db_key(k),
                borsh::to_vec(node).expect("borsh into Vec"),
            );
        }
        for ((version, kh), v) in update.node_batch.values() {
            batch.put(
                Column::StateValues,
                value_db_key(kh, *version),
                borsh::to_vec(v).expect("borsh into Vec"),
            );
        }
        batch.put(
            Column::Changesets,
            height_key(height),
            borsh::to_vec(&changeset).expect("borsh into Vec"),
        );
        Ok(StateUpdate {
            root: Hash(root.0),
            batch,
        })
    }

    /// Writes that undo blocks `to+1 ..= from` (newest first): restores the plain table from the
    /// changesets and deletes those versions of the tree. For dev chains (`dev_revert`).
    pub fn unwind(&self, from: u64, to: u64, batch: &mut WriteBatch) -> Result<(), StateError> {
        for h in (to + 1..=from).rev() {
            let Some(b) = self.store.get(Column::Changesets, &height_key(h))? else {
                return Err(StateError::NoVersion(h));
            };
            let changes: Changeset = decode("changeset", &b)?;
            for (key, prev) in changes.objects {
                batch.delete(Column::StateValues, value_db_key(&key_hash(&key), h));
                match prev {
                    Some(v) => batch.put(Column::Objects, key, v),
                    None => batch.delete(Column::Objects, key),
                }
            }
            for (addr, prev) in changes.accounts {
                match prev {
                    Some(a) => batch.put(
                        Column::Accounts,
                        addr.0.to_vec(),
                        borsh::to_vec(&a).expect("borsh into Vec"),
                    ),
                    None => batch.delete(Column::Accounts, addr.0.to_vec()),
                }
                batch.delete(
                    Column::StateValues,
                    value_db_key(&key_hash(&account_key(&addr)), h),
                );
            }
            batch.delete(
                Column::StateValues,
                value_db_key(&key_hash(BLOCK_META_KEY), h),
            );
            batch.delete(Column::Changesets, height_key(h));
        }
        batch.delete_range(Column::StateNodes, height_key(to + 1), height_key(u64::MAX));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RocksStore;

    fn mgr() -> (tempfile::TempDir, StateManager) {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::open(dir.path(), &Default::default()).unwrap();
        (dir, StateManager::new(Arc::new(store)))
    }

    fn acct(balance: u128, nonce: u64) -> Account {
        Account { balance, nonce }
    }

    /// Block 1 of the tests: `a` sends 40 to a new account `b`.
    fn block1(a: Address, b: Address) -> [(Address, Account); 2] {
        [(a, acct(60, 1)), (b, acct(40, 0))]
    }

    fn commit(m: &StateManager, h: u64, set: &[(Address, Account)]) -> Hash {
        let map: BTreeMap<_, _> = set.iter().cloned().collect();
        let up = m.stage(h, h * 1000, &map, &ObjectWrites::new()).unwrap();
        m.store.write(up.batch).unwrap();
        up.root
    }

    #[test]
    fn versions_roots_and_proofs() {
        let (_d, m) = mgr();
        let a = Address([1; 20]);
        let b = Address([2; 20]);
        let r0 = commit(&m, 0, &[(a, acct(100, 0))]);
        let r1 = commit(&m, 1, &block1(a, b));
        assert_ne!(r0, r1);
        assert_eq!(m.root_at(0).unwrap(), r0);
        assert_eq!(m.root_at(1).unwrap(), r1);
        assert!(matches!(m.root_at(2), Err(StateError::NoVersion(2))));
        assert_eq!(m.account(&a).unwrap().balance, 60);
        assert_eq!(m.account_at(&a, 0).unwrap().unwrap().balance, 100);
        assert_eq!(m.account_at(&b, 0).unwrap(), None);

        let p = m.prove(&a, 1).unwrap();
        assert_eq!(p.state_root, r1);
        verify_account_proof(&r1, &a, p.value.as_ref(), &p.proof).unwrap();
        // A different value, another root or another address must fail.
        let forged = acct(61, 1);
        assert!(verify_account_proof(&r1, &a, Some(&forged), &p.proof).is_err());
        assert!(verify_account_proof(&r0, &a, p.value.as_ref(), &p.proof).is_err());
        assert!(verify_account_proof(&r1, &b, p.value.as_ref(), &p.proof).is_err());
        let mut tampered = p.proof.clone();
        let n = tampered.len();
        tampered[n - 1] ^= 1;
        assert!(verify_account_proof(&r1, &a, p.value.as_ref(), &tampered).is_err());
        // Non-existence proof.
        let c = Address([3; 20]);
        let pc = m.prove(&c, 1).unwrap();
        assert_eq!(pc.value, None);
        verify_account_proof(&r1, &c, None, &pc.proof).unwrap();
        assert!(verify_account_proof(&r1, &c, Some(&Account::default()), &pc.proof).is_err());
    }

    #[test]
    fn unwind_restores_previous_state() {
        let (_d, m) = mgr();
        let a = Address([1; 20]);
        let b = Address([2; 20]);
        let r0 = commit(&m, 0, &[(a, acct(100, 0))]);
        commit(&m, 1, &block1(a, b));
        commit(&m, 2, &[(b, acct(1, 0))]);
        let mut batch = WriteBatch::default();
        m.unwind(2, 0, &mut batch).unwrap();
        m.store.write(batch).unwrap();
        assert_eq!(m.account(&a).unwrap().balance, 100);
        assert_eq!(m.account(&b).unwrap(), Account::default());
        assert_eq!(m.root_at(0).unwrap(), r0);
        assert!(m.root_at(1).is_err());
        // The chain can grow again from there, to the same root as before for the same writes.
        let r1b = commit(&m, 1, &block1(a, b));
        assert_eq!(m.root_at(1).unwrap(), r1b);
        assert_eq!(m.account_at(&b, 1).unwrap().unwrap().balance, 40);
    }
}
