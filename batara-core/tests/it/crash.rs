//! Crash safety: a `batara dev` process under a stream of transfers, killed with SIGKILL at random
//! moments, 20 times in a row. After each restart no block or transaction seen committed is
//! missing, and replaying the stored blocks from genesis gives the stored state roots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use batara_core::app::genesis::Genesis;
use batara_core::app::open_chain;
use batara_core::storage::StorageConfig;
use batara_core::storage::{RocksStore, Storage};
use batara_core::types::Hash;
use serde_json::json;

use crate::common::{acct, rpc, rpc_raw, transfer, Proc};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Opens the running node's database as a read-only follower and replays every block into a fresh
/// chain; returns the replayed head (height, hash).
fn replay_from_disk(home: &std::path::Path, scratch: &std::path::Path) -> (u64, Hash) {
    let genesis = Genesis::load(&home.join("genesis.json")).unwrap();
    let follower: Arc<dyn Storage> = Arc::new(
        RocksStore::open_follower(&home.join("data/db"), scratch, &StorageConfig::default())
            .unwrap(),
    );
    let stored = open_chain(follower, &genesis).unwrap();
    let replica = open_chain(
        Arc::new(RocksStore::ephemeral(&StorageConfig::default()).unwrap()),
        &genesis,
    )
    .unwrap();
    let head = stored.head().header.height;
    for h in 1..=head {
        let block = stored.block(h).unwrap().expect("block stored");
        let commit = stored.commit_at(h).unwrap().expect("commit stored");
        let cb = replica
            .import(&block, commit)
            .unwrap_or_else(|e| panic!("replaying block {h}: {e}"));
        assert_eq!(
            cb.block.header.state_root, block.header.state_root,
            "state root at {h}"
        );
    }
    assert_eq!(replica.head().hash, stored.head().hash);
    (head, stored.head().hash)
}

#[test]
fn sigkill_twenty_times_loses_nothing_committed() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let home_s = home.to_str().unwrap().to_owned();
    let senders = [acct(0), acct(1), acct(2)];
    let mut seen_blocks: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut seen_txs: BTreeMap<Hash, u64> = BTreeMap::new();
    let mut total_submitted = 0usize;
    for round in 0..20 {
        let p = Proc::spawn(
            &["dev", "--home", &home_s, "--rpc-addr", "127.0.0.1:0"],
            &[],
        );
        let addr = p.rpc;
        // Everything seen committed before earlier kills is still there.
        for (h, hash) in &seen_blocks {
            let b = rpc(addr, "chain_getBlock", json!([h]));
            assert_eq!(
                b["hash"],
                json!(hash),
                "round {round}: block {h} changed or vanished"
            );
        }
        for (hash, h) in &seen_txs {
            let t = rpc(addr, "chain_getTransaction", json!([hash]));
            assert_eq!(
                t["height"],
                json!(h.to_string()),
                "round {round}: tx {hash} moved or vanished"
            );
        }
        let scratch = dir.path().join(format!("follower{round}"));
        let (replayed_h, replayed_hash) = replay_from_disk(&home, &scratch);
        let on_node = rpc(addr, "chain_getBlock", json!([replayed_h]));
        assert_eq!(on_node["hash"], json!(replayed_hash));

        let mut nonces: Vec<u64> = senders
            .iter()
            .map(|k| {
                rpc(addr, "tx_nextNonce", json!([k.address()]))
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let run_for = Duration::from_millis(50 + rng.next() % 400);
        let start = Instant::now();
        let mut recent: Vec<Hash> = Vec::new();
        let mut i = 0usize;
        while start.elapsed() < run_for {
            let s = i % senders.len();
            let t = transfer(
                &senders[s],
                "batara-dev",
                nonces[s],
                acct(9).address(),
                1 + (i as u128 % 5),
                1,
            );
            let r = rpc_raw(
                addr,
                "tx_submit",
                json!([format!("0x{}", hex::encode(t.to_bytes()))]),
            );
            if r.get("error").is_none() {
                nonces[s] += 1;
                recent.push(t.hash());
                total_submitted += 1;
            } else {
                nonces[s] = rpc(addr, "tx_nextNonce", json!([senders[s].address()]))
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
            }
            if i.is_multiple_of(7) {
                let info = rpc(addr, "node_info", json!([]));
                let h: u64 = info["height"].as_str().unwrap().parse().unwrap();
                seen_blocks.insert(
                    h,
                    serde_json::from_value(info["latest_hash"].clone()).unwrap(),
                );
                if let Some(hash) = recent.first().copied() {
                    let t = rpc_raw(addr, "chain_getTransaction", json!([hash]));
                    if let Some(res) = t.get("result") {
                        seen_txs.insert(hash, res["height"].as_str().unwrap().parse().unwrap());
                        recent.remove(0);
                    }
                }
            }
            i += 1;
        }
        p.kill9();
    }
    assert!(
        total_submitted > 100,
        "the load generator barely ran ({total_submitted} txs)"
    );
    assert!(
        seen_txs.len() > 20,
        "too few transactions observed committed ({})",
        seen_txs.len()
    );
    // A last clean start: the chain still opens, replays, and grows.
    let p = Proc::spawn(
        &["dev", "--home", &home_s, "--rpc-addr", "127.0.0.1:0"],
        &[],
    );
    let (h, _) = replay_from_disk(&home, &dir.path().join("follower-final"));
    assert!(h >= *seen_blocks.keys().last().unwrap());
    let s = p.term();
    assert!(s.success(), "SIGTERM exit status {s}");
}
