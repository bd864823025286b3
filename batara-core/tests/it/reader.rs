//! Read-only access to a running node's data directory (a RocksDB secondary instance).

use batara_core::api::ChainReader;
use batara_core::api::NodeApi;
use batara_core::app::genesis::Genesis;
use batara_core::consensus::DevMode;
use batara_core::node::{BlockId, DevOptions, Node};
use batara_core::state::verify_account_proof;
use batara_core::ErrorKind;

use crate::common::{acct, transfer};

#[test]
fn a_reader_follows_a_running_node_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let n = Node::dev(DevOptions {
        mode: DevMode::Manual,
        data_dir: Some(data.clone()),
        ..Default::default()
    })
    .unwrap();
    let (a, b) = (acct(0), acct(1));
    let t = transfer(&a, "batara-dev", 0, b.address(), 5, 1);
    n.submit(&t.to_bytes()).unwrap();
    n.mine(2).unwrap();

    // The same genesis Node::dev wrote (dev genesis time is fixed).
    let genesis = n.genesis().clone();
    let r = ChainReader::open_data_dir(&data, genesis.clone()).unwrap();
    assert_eq!(r.height(), 2);
    assert_eq!(
        r.block(BlockId::Height(1)).unwrap(),
        n.block(BlockId::Height(1)).unwrap()
    );
    assert_eq!(r.receipts(BlockId::Height(1)).unwrap()[0].tx_hash, t.hash());
    assert_eq!(
        r.account(&b.address(), None).unwrap(),
        n.account(&b.address(), None).unwrap()
    );

    // The writer goes on; the reader sees nothing new until it refreshes, then everything.
    n.mine(3).unwrap();
    assert_eq!(r.height(), 2);
    assert_eq!(r.refresh().unwrap(), 5);
    assert_eq!(
        r.block(BlockId::Latest).unwrap(),
        n.block(BlockId::Latest).unwrap()
    );
    let page = r.accounts(None, 100).unwrap();
    assert_eq!(page, n.accounts(None, 100).unwrap());
    assert!(page.next.is_none());

    // Two readers at once, and the node still commits while they are open.
    let r2 = ChainReader::open_data_dir(&data, genesis.clone()).unwrap();
    n.mine(1).unwrap();
    assert_eq!(r2.refresh().unwrap(), 6);
    drop((r, r2));
    n.stop();
    drop(n);

    // Reopening as the writer: the readers left the database as it was.
    let n = Node::dev(DevOptions {
        mode: DevMode::Manual,
        data_dir: Some(data.clone()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(n.chain().head().header.height, 6);

    // A directory without a database, and a different genesis, are refused with the cause.
    let e = ChainReader::open_data_dir(&dir.path().join("nothing"), genesis)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let other = Genesis::dev("other-chain", 3, acct(0).public_key(), 0);
    let e = ChainReader::open_data_dir(&data, other).err().unwrap();
    assert!(e.to_string().contains("genesis"), "{e}");
}

#[test]
fn accounts_page_in_address_order_and_limits_are_checked() {
    let n = Node::dev(DevOptions {
        accounts: 25,
        mode: DevMode::Manual,
        ..Default::default()
    })
    .unwrap();
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = n.accounts(after.as_ref(), 7).unwrap();
        assert!(page.accounts.len() <= 7);
        all.extend(page.accounts.iter().map(|a| a.address));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(all.len(), 25);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "ascending, no repeats");
    for i in 0..25 {
        assert!(all.contains(&acct(i).address()));
    }
    assert_eq!(
        n.accounts(None, 0).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        n.accounts(None, 10_001).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn backups_taken_under_load_hold_whole_blocks_with_the_live_state_roots() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::Arc::new(
        Node::dev(DevOptions {
            accounts: 4,
            mode: DevMode::Auto,
            data_dir: Some(dir.path().join("data")),
            ..Default::default()
        })
        .unwrap(),
    );
    // Load: four senders submitting transfers while the backups are taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (n, stop) = (n.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut nonce = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for i in 0..4 {
                    let t = transfer(
                        &acct(i),
                        "batara-dev",
                        nonce,
                        acct((i + 1) % 4).address(),
                        3,
                        1,
                    );
                    n.submit(&t.to_bytes()).unwrap();
                }
                nonce += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            nonce
        })
    };
    let mut heights = Vec::new();
    for i in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let out = dir.path().join(format!("backup{i}"));
        let b = n.backup(Some(&out)).unwrap();
        assert_eq!(b.dir, out.display().to_string());
        assert!(b.bytes > 0);
        // The copy opens as a home (config.toml, genesis.json, data/), and what it holds is
        // what the manifest says: a whole block, with the live chain's state root at that height.
        let copy = batara_core::node::home::open_reader(&out).unwrap();
        assert_eq!(copy.height(), b.height);
        let live = n.header(BlockId::Height(b.height)).unwrap();
        assert_eq!(live.state_root, b.state_root);
        assert_eq!(copy.header(BlockId::Latest).unwrap(), live);
        assert_eq!(copy.block(BlockId::Latest).unwrap().hash, b.hash);
        for k in 0..4 {
            let a = acct(k).address();
            assert_eq!(
                copy.account(&a, None).unwrap(),
                n.account(&a, Some(b.height)).unwrap()
            );
            // The copy's own tree proves it against the live root.
            let p = copy.proof(&a, None).unwrap();
            assert_eq!(p.state_root, b.state_root);
            verify_account_proof(&b.state_root, &a, p.value.as_ref(), &p.proof).unwrap();
        }
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("backup.json")).unwrap()).unwrap();
        assert_eq!(manifest["height"], b.height.to_string());
        heights.push(b.height);
        // A directory that exists is refused, and left as it was.
        let e = n.backup(Some(&out)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("already exists"), "{e}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = load.join().unwrap();
    assert!(sent > 10, "the load ran ({sent} rounds)");
    assert!(
        heights.windows(2).all(|w| w[0] < w[1]),
        "blocks kept coming: {heights:?}"
    );

    // No backup_dir: the JSON-RPC form (None) is off, naming the setting.
    let e = n.backup(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("backup_dir"), "{e}");
    // An in-memory node has no files to back up.
    let mem = Node::dev(DevOptions::default()).unwrap();
    let e = mem.backup(Some(&dir.path().join("mem"))).unwrap_err();
    assert!(e.to_string().contains("in-memory"), "{e}");
    assert!(!dir.path().join("mem").exists(), "nothing left behind");
    assert!(
        !dir.path().join(".mem.partial").exists(),
        "nothing left behind"
    );
}
