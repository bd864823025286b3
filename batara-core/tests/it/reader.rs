//! Read-only access to a running node's data directory (a RocksDB secondary instance).

use batara_core::api::ChainReader;
use batara_core::api::NodeApi;
use batara_core::app::genesis::Genesis;
use batara_core::consensus::DevMode;
use batara_core::node::{BlockId, DevOptions, Node};
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
