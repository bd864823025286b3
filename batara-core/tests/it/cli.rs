//! The `batara` command, run as a real process.

use serde_json::{json, Value};

use crate::common::{acct, batara, dec, rpc, rpc_err, wait_for, Proc};

#[test]
fn keys_usage_errors_and_unreachable_node() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.json");
    let f_s = f.to_str().unwrap();
    let (code, out, _) = batara(&["keys", "new", "--out", f_s]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["address"].as_str().unwrap().starts_with("bat1"));
    let (code, _, err) = batara(&["keys", "new", "--out", f_s]);
    assert_eq!(code, 1);
    assert!(err.contains("exists"), "{err}");
    let (code, out, _) = batara(&["keys", "show", f_s]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["address"],
        v["address"]
    );
    // Bad usage exits 2.
    assert_eq!(batara(&["tx", "transfer", "--key", f_s]).0, 2);
    assert_eq!(batara(&["frobnicate"]).0, 2);
    let (code, _, err) = batara(&[
        "tx", "transfer", "--key", f_s, "--to", "bat1nope", "--amount", "1",
    ]);
    assert_eq!(code, 2, "{err}");
    // A node that is not there: exit 1 with the cause.
    let (code, _, err) = batara(&["query", "info", "--rpc", "http://127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach node"), "{err}");
}

#[test]
fn init_start_transfer_query_and_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let home_s = home.to_str().unwrap();
    let key = dir.path().join("alice.json");
    let key_s = key.to_str().unwrap();
    let (_, out, _) = batara(&["keys", "new", "--out", key_s]);
    let alice = serde_json::from_str::<Value>(&out).unwrap()["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let fund = format!("{alice}=1000000000000000000000");
    let (code, _, err) = batara(&[
        "init",
        "--home",
        home_s,
        "--chain-id",
        "test-1",
        "--fund",
        &fund,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        batara(&["init", "--home", home_s, "--chain-id", "test-1"]).0,
        1,
        "init refuses to overwrite"
    );
    let env = [("BATARA_RPC__ADDR", "127.0.0.1:0")];
    let p = Proc::spawn(&["start", "--home", home_s], &env);
    let url = format!("http://{}", p.rpc);
    let bob = acct(5).address().to_string();
    // Below the chain's minimum fee (init writes params.min_fee 10^12): refused with the reason.
    let (code, _, err) = batara(&[
        "tx", "transfer", "--key", key_s, "--to", &bob, "--amount", "250", "--fee", "3", "--rpc",
        &url,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("fee too low: the minimum is 1000000000000, got 3"),
        "{err}"
    );
    // Without --fee the CLI pays the node's minimum (node_info.min_fee).
    let (code, out, err) = batara(&[
        "tx", "transfer", "--key", key_s, "--to", &bob, "--amount", "250", "--rpc", &url, "--wait",
    ]);
    assert_eq!(code, 0, "{err}");
    let receipt: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["receipt"]["status"], "success");
    let hash = receipt["hash"].as_str().unwrap().to_owned();
    let (_, out, _) = batara(&["query", "account", &bob, "--rpc", &url]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["balance"],
        "250"
    );
    let (_, out, _) = batara(&["query", "account", &alice, "--rpc", &url]);
    let a: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (a["balance"].clone(), a["nonce"].clone()),
        (json!("999999998999999999750"), json!("1"))
    );
    let (_, out, _) = batara(&["query", "tx", &hash, "--rpc", &url]);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["receipt"]["fee"],
        "1000000000000"
    );
    let (_, out, _) = batara(&["query", "block", "--rpc", &url]);
    let height = serde_json::from_str::<Value>(&out).unwrap()["header"]["height"].clone();
    // More than the balance: refused with the reason, exit 1.
    let (code, _, err) = batara(&[
        "tx",
        "transfer",
        "--key",
        key_s,
        "--to",
        &bob,
        "--amount",
        "99999999999999999999999",
        "--rpc",
        &url,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("insufficient balance"), "{err}");
    assert!(p.term().success(), "clean exit on SIGTERM");
    // Restart: same chain, same height.
    let p = Proc::spawn(&["start", "--home", home_s], &env);
    assert_eq!(rpc(p.rpc, "node_info", json!([]))["height"], height);
    assert_eq!(
        rpc(p.rpc, "state_getAccount", json!([bob]))["balance"],
        "250"
    );
    assert!(p.term().success());
}

#[test]
fn dev_prints_accounts_writes_key_files_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("dev");
    let home_s = home.to_str().unwrap();
    let p = Proc::spawn(
        &[
            "dev",
            "--home",
            home_s,
            "--accounts",
            "3",
            "--rpc-addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(
        p.banner.contains(&acct(0).address().to_string()),
        "{}",
        p.banner
    );
    assert!(p.banner.contains(&acct(2).address().to_string()));
    assert!(!p.banner.contains(&acct(3).address().to_string()));
    let kf = home.join("accounts/account0.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kf).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let url = format!("http://{}", p.rpc);
    let to = acct(1).address().to_string();
    let (code, _, err) = batara(&[
        "tx",
        "transfer",
        "--key",
        kf.to_str().unwrap(),
        "--to",
        &to,
        "--amount",
        "1",
        "--rpc",
        &url,
        "--wait",
    ]);
    assert_eq!(code, 0, "{err}");
    // Staking from the command line: a new consensus key file, staked by account 0.
    let vkey = dir.path().join("validator.json");
    let (_, out, _) = batara(&["keys", "new", "--out", vkey.to_str().unwrap()]);
    let vaddr = serde_json::from_str::<Value>(&out).unwrap()["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let tx = |args: &[&str]| {
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--key", kf.to_str().unwrap(), "--rpc", &url, "--wait"]);
        batara(&all)
    };
    let (code, _, err) = tx(&[
        "stake",
        "--validator-key",
        vkey.to_str().unwrap(),
        "--amount",
        "2000000000000000000",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = batara(&["query", "validator", &vaddr, "--rpc", &url]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["operator"], json!(acct(0).address()));
    assert_eq!(v["stake"], "2000000000000000000");
    let (code, _, err) = tx(&[
        "unstake",
        "--validator",
        &vaddr,
        "--amount",
        "5000000000000000000",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("is worth 2000000000000000000"), "{err}");
    // Delegation from the command line: the operator sets 5 % (free: nobody else delegates
    // yet), account 1 delegates, moves part to the genesis validator, withdraws, undelegates.
    let (code, _, err) = tx(&[
        "commission",
        "--validator",
        &vaddr,
        "--rate",
        "5",
        "--max-rate",
        "20",
        "--max-change",
        "0.5",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx(&[
        "commission",
        "--validator",
        &vaddr,
        "--rate",
        "101",
        "--max-rate",
        "20",
        "--max-change",
        "1",
    ]);
    assert_eq!(code, 2, "a rate above 100 % is a usage error: {err}");
    let k1 = home.join("accounts/account1.json");
    let tx1 = |args: &[&str]| {
        let mut all = vec!["tx"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--key", k1.to_str().unwrap(), "--rpc", &url, "--wait"]);
        batara(&all)
    };
    let (code, _, err) = tx1(&["delegate", "--validator", &vaddr, "--amount", "3000"]);
    assert_eq!(code, 0, "{err}");
    let genesis_val = rpc(p.rpc, "staking_getValidators", json!([]))[0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _, err) = tx1(&[
        "redelegate",
        "--from",
        &vaddr,
        "--to",
        &genesis_val,
        "--amount",
        "1000",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx1(&["withdraw-rewards"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx1(&["undelegate", "--validator", &vaddr, "--amount", "500"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx1(&["undelegate", "--validator", &vaddr, "--amount", "5000"]);
    assert_eq!(code, 1);
    assert!(err.contains("is worth 1500"), "{err}");
    let who = acct(1).address().to_string();
    let (code, out, err) = batara(&["query", "delegations", &who, "--rpc", &url]);
    assert_eq!(code, 0, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let worth: Vec<(String, String)> = d["delegations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["validator"].as_str().unwrap().to_owned(),
                x["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        worth,
        vec![
            (vaddr.clone(), "1500".into()),
            (genesis_val.clone(), "1000".into())
        ]
    );
    assert_eq!(d["total_amount"], "2500");
    assert_eq!(d["unbonding"][0]["amount"], "500");
    let page = rpc(p.rpc, "staking_getDelegators", json!([vaddr, null, 1]));
    assert_eq!(page["delegations"].as_array().unwrap().len(), 1);
    assert!(page["next"].is_string(), "{page}");
    let pool = rpc(p.rpc, "distribution_getCommunityPool", json!([]));
    assert!(pool["amount"].is_string(), "{pool}");
    let r = rpc(p.rpc, "distribution_getRewards", json!([who]));
    assert_eq!(r["rewards"].as_array().unwrap().len(), 2, "{r}");
    // Governance from the command line: account 0 proposes a parameter change, account 1
    // (bonded through its delegations) splits its vote, an account with nothing bonded is
    // refused, the proposer cancels; a second proposal is fast-forwarded to the end of its vote
    // by dev_skipTo and, with too little stake voting, is rejected and refunded.
    let ten = "10000000000000000000";
    let (code, _, err) = tx(&[
        "propose",
        "--kind",
        "params",
        "--title",
        "bigger blocks",
        "--changes",
        r#"{"chain":{"max_block_txs":5000}}"#,
        "--deposit",
        ten,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = batara(&["query", "proposal", "1", "--rpc", &url]);
    assert_eq!(code, 0, "{err}");
    let prop: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(prop["status"], "voting_period", "{prop}");
    assert_eq!(
        prop["content"]["changes"][0]["values"]["max_block_txs"],
        5000
    );
    assert_eq!(prop["deposits"][0]["amount"], ten);
    let (code, _, err) = tx1(&["vote", "--proposal", "1", "--weights", "yes=0.7,no=0.3"]);
    assert_eq!(code, 0, "{err}");
    let votes = rpc(p.rpc, "gov_getVotes", json!(["1"]));
    assert_eq!(
        votes["votes"][0]["options"][0]["weight_ppm"], 700_000,
        "{votes}"
    );
    assert_eq!(
        votes["votes"][0]["power"], "1000",
        "its delegation to the set's validator"
    );
    let (code, _, err) = tx1(&["vote", "--proposal", "1", "--weights", "yes=0.7,no=0.2"]);
    assert_eq!(code, 2);
    assert!(err.contains("weights sum to 900000"), "{err}");
    let k2 = home.join("accounts/account2.json");
    let (code, _, err) = batara(&[
        "tx",
        "vote",
        "--proposal",
        "1",
        "--option",
        "yes",
        "--key",
        k2.to_str().unwrap(),
        "--rpc",
        &url,
        "--wait",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no stake bonded"), "{err}");
    let (code, _, err) = tx(&["cancel-proposal", "--proposal", "1"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx(&["deposit", "--proposal", "1", "--amount", ten]);
    assert_eq!(code, 1);
    assert!(err.contains("proposal 1 is canceled"), "{err}");
    let (code, _, err) = tx(&[
        "propose",
        "--kind",
        "text",
        "--title",
        "hello",
        "--deposit",
        ten,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tx1(&["vote", "--proposal", "2", "--option", "yes"]);
    assert_eq!(code, 0, "{err}");
    let balance = |i: u32| {
        rpc(p.rpc, "state_getAccount", json!([acct(i).address()]))["balance"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
    };
    let before = balance(0);
    let skip = rpc(p.rpc, "dev_skipTo", json!([{"voting_end": 2}]));
    assert!(skip["height"].is_string(), "{skip}");
    rpc(p.rpc, "dev_mine", json!([1]));
    let (code, out, err) = batara(&["query", "proposals", "--status", "rejected", "--rpc", &url]);
    assert_eq!(code, 0, "{err}");
    let page: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(page["proposals"][0]["id"], "2", "{page}");
    assert!(
        page["proposals"][0]["result"]
            .as_str()
            .unwrap()
            .starts_with("no quorum"),
        "{page}"
    );
    assert_eq!(balance(0), before + 10_000_000_000_000_000_000, "refunded");
    let (code, _, err) = batara(&["query", "proposals", "--status", "open", "--rpc", &url]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown proposal status"), "{err}");
    let (code, _, err) = tx(&["unjail", "--validator", &vaddr]);
    assert_eq!(code, 1);
    assert!(err.contains("is not jailed"), "{err}");
    let (code, _, err) = tx(&["stake", "--validator-key", "nonsense", "--amount", "1"]);
    assert_eq!(code, 2, "{err}");
    // Any kind as JSON: the same rules as the typed subcommands.
    let (code, _, err) = tx(&[
        "send",
        "--kind",
        &format!(r#"{{"type":"unjail","validator":"{vaddr}"}}"#),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("is not jailed"), "{err}");
    let before = rpc(p.rpc, "state_getAccount", json!([to]))["balance"].clone();
    let (code, out, err) = tx(&[
        "send",
        "--kind",
        &format!(r#"{{"type":"transfer","to":"{to}","amount":"7"}}"#),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("success"), "{out}");
    let after = rpc(p.rpc, "state_getAccount", json!([to]))["balance"].clone();
    assert_eq!(
        after.as_str().unwrap().parse::<u128>().unwrap(),
        before.as_str().unwrap().parse::<u128>().unwrap() + 7
    );
    let (code, _, err) = tx(&["send", "--kind", r#"{"type":"mint","amount":"1"}"#]);
    assert_eq!(code, 2);
    assert!(err.contains("mint"), "{err}");
    let (code, out, _) = batara(&["query", "validators", "--rpc", &url]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let h = rpc(p.rpc, "node_info", json!([]))["height"].clone();
    assert!(p.term().success());
    let p = Proc::spawn(&["dev", "--home", home_s, "--rpc-addr", "127.0.0.1:0"], &[]);
    assert_eq!(rpc(p.rpc, "node_info", json!([]))["height"], h);
    assert!(p.term().success());
}

/// The `batara init` chain of the README: not a dev chain, so BFT with one validator; every dev
/// control is refused (-32022) and changes nothing; a validator joining at `min_self_stake` gets a
/// sliver of the power, and when it never signs it is jailed while blocks go on; SIGKILL and a
/// restart resume the chain.
#[test]
fn init_chain_runs_bft_refuses_dev_controls_jails_a_silent_joiner_and_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let home_s = home.to_str().unwrap();
    let key = dir.path().join("alice.json");
    let vkey = dir.path().join("joiner.json");
    let addr_of = |path: &std::path::Path| {
        let (_, out, _) = batara(&["keys", "new", "--out", path.to_str().unwrap()]);
        serde_json::from_str::<Value>(&out).unwrap()["address"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (alice, joiner) = (addr_of(&key), addr_of(&vkey));
    let fund = format!("{alice}=100000000000000000000");
    let (code, _, err) = batara(&[
        "init",
        "--home",
        home_s,
        "--chain-id",
        "solo",
        "--fund",
        &fund,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = batara(&["dev", "--home", home_s]);
    assert_eq!(code, 1);
    assert!(err.contains("not a dev chain"), "{err}");
    // Short epochs and downtime window, so the set change and the jailing take seconds.
    let gpath = home.join("genesis.json");
    let mut g: Value = serde_json::from_str(&std::fs::read_to_string(&gpath).unwrap()).unwrap();
    assert!(g.get("dev").is_none(), "init writes no dev flag");
    let staking = &mut g["params"]["staking"];
    staking["epoch_length"] = json!("5");
    staking["unbonding_blocks"] = json!("5");
    staking["downtime_window"] = json!("10");
    staking["downtime_max_missed"] = json!("3");
    std::fs::write(&gpath, g.to_string()).unwrap();
    let env = [
        ("BATARA_RPC__ADDR", "127.0.0.1:0"),
        ("BATARA_CONSENSUS__BFT__COMMIT_MS", "50"),
    ];
    let p = Proc::spawn(&["start", "--home", home_s], &env);
    assert_eq!(rpc(p.rpc, "node_info", json!([]))["engine"], "bft");
    let balance = || rpc(p.rpc, "state_getAccount", json!([alice]))["balance"].clone();
    let before = balance();
    for (method, params) in [
        ("dev_setBalance", json!([alice, "999999999999999"])),
        ("dev_mine", json!([])),
        ("dev_snapshot", json!([])),
        ("dev_revert", json!([0])),
        ("dev_increaseTime", json!([1000])),
        ("dev_skipTo", json!([{"height": "5"}])),
    ] {
        let e = rpc_err(p.rpc, method, params);
        assert_eq!(e["code"], -32022, "{method}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains("not a dev chain"),
            "{e}"
        );
    }
    assert_eq!(balance(), before, "no dev control changed the state");
    // One coin (min_self_stake) staked for a new validator that never runs.
    let url = format!("http://{}", p.rpc);
    let (code, _, err) = batara(&[
        "tx",
        "stake",
        "--validator-key",
        vkey.to_str().unwrap(),
        "--amount",
        "1000000000000000000",
        "--key",
        key.to_str().unwrap(),
        "--rpc",
        &url,
        "--wait",
    ]);
    assert_eq!(code, 0, "{err}");
    let set = || rpc(p.rpc, "staking_getValidators", json!([]));
    let power = |v: &Value, who: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|x| x["address"] == who)
            .map(|x| dec(&x["voting_power"]))
    };
    wait_for("the joiner in the set", 30, || {
        power(&set(), &joiner).is_some()
    });
    let s = set();
    let total: u128 = s
        .as_array()
        .unwrap()
        .iter()
        .map(|x| dec(&x["voting_power"]))
        .sum();
    let share = power(&s, &joiner).unwrap();
    assert!(share * 100 < total, "joiner holds {share} of {total}");
    wait_for("the silent joiner jailed", 60, || {
        rpc(p.rpc, "staking_getValidator", json!([joiner]))["jailed"] == true
    });
    let height = |a: std::net::SocketAddr| dec(&rpc(a, "node_info", json!([]))["height"]);
    let jailed_at = height(p.rpc);
    wait_for("blocks after the jailing", 30, || {
        height(p.rpc) > jailed_at + 3
    });
    let last = height(p.rpc);
    p.kill9();
    let p = Proc::spawn(&["start", "--home", home_s], &env);
    assert!(height(p.rpc) >= last, "nothing committed was lost");
    wait_for("blocks after the restart", 30, || height(p.rpc) > last + 3);
    assert!(p.term().success());
}

/// A new user's first hour (issue 17) at the command line: an `--ephemeral` chain is usable
/// without key files (`--dev-account`), `query block` takes what JSON-RPC takes, and bad numbers
/// are usage errors naming the cause instead of aborts or "unexpected argument".
#[test]
fn ephemeral_dev_chain_with_dev_accounts_and_clear_usage_errors() {
    let p = Proc::spawn(&["dev", "--ephemeral", "--rpc-addr", "127.0.0.1:0"], &[]);
    assert!(p.banner.contains("--dev-account N"), "{}", p.banner);
    let url = format!("http://{}", p.rpc);
    let to = acct(1).address().to_string();
    let transfer = |amount: &str| {
        batara(&[
            "tx",
            "transfer",
            "--dev-account",
            "0",
            "--to",
            &to,
            "--amount",
            amount,
            "--rpc",
            &url,
            "--wait",
        ])
    };
    let (code, out, err) = transfer("9");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("success"), "{out}");
    for id in ["latest", "1"] {
        let (code, out, err) = batara(&["query", "block", id, "--rpc", &url]);
        assert_eq!(code, 0, "{id}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["header"]["height"], "1", "{id}");
        let hash = v["hash"].as_str().unwrap().to_owned();
        let (code, out, _) = batara(&["query", "block", &hash, "--rpc", &url]);
        assert_eq!(code, 0);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["hash"], hash);
    }
    let (code, _, err) = batara(&["query", "block", "-1", "--rpc", &url]);
    assert_eq!(code, 2);
    assert!(err.contains("block must be a height"), "{err}");
    // A negative amount was taken for a flag ("unexpected argument '-5'").
    let (code, _, err) = transfer("-5");
    assert_eq!(code, 2);
    assert!(
        err.contains("'-5'") && err.contains("whole number"),
        "{err}"
    );
    let (code, _, err) = batara(&["tx", "transfer", "--to", &to, "--amount", "1"]);
    assert_eq!(code, 2, "neither --key nor --dev-account");
    assert!(err.contains("--key"), "{err}");
    assert!(p.term().success());
    // 2^32 - 1 accounts aborted the process after trying to allocate 206 GB.
    let (code, _, err) = batara(&["dev", "--ephemeral", "--accounts", "4294967295"]);
    assert_eq!(code, 2);
    assert!(err.contains("from 0 to 10000"), "{err}");
    let (code, _, err) = batara(&["testnet", "--out", "/nonexistent/x", "--accounts", "10001"]);
    assert_eq!(code, 2, "{err}");
}

/// Contracts at the command line: the example counter (WAT text) is uploaded, instantiated and
/// called with gas estimated, and read back with `query call`, `query contract` and `query code`.
#[test]
fn contracts_from_the_command_line_with_estimated_gas() {
    let p = Proc::spawn(&["dev", "--ephemeral", "--rpc-addr", "127.0.0.1:0"], &[]);
    let url = format!("http://{}", p.rpc);
    let wat = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/contracts/counter.wat"
    );
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--rpc", &url]);
        let (code, out, err) = batara(&all);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let dev = ["--dev-account", "0", "--wait"];
    let up = run(&[&["tx", "upload", "--wasm", wat][..], &dev].concat());
    assert_eq!(up["receipt"]["status"], "success");
    let hash = up["code_hash"].as_str().unwrap().to_owned();
    assert_eq!(
        up["receipt"]["output"], hash,
        "the receipt returns the code hash too"
    );
    let code = run(&["query", "code", &hash]);
    assert!(
        code["wasm"].as_str().unwrap().starts_with("0x0061736d"),
        "stored as binary"
    );
    let inst = run(&[
        &["tx", "instantiate", "--code", &hash, "--salt", "0x01"][..],
        &dev,
    ]
    .concat());
    let event = &inst["receipt"]["events"][0];
    assert_eq!(event["kind"], "instantiate");
    let addr = inst["contract"].as_str().unwrap().to_owned();
    assert_eq!(event["attributes"][0][1], addr, "{event}");
    for _ in 0..3 {
        let c = run(&[
            &["tx", "call", "--contract", &addr, "--method", "increment"][..],
            &dev,
        ]
        .concat());
        assert_eq!(c["receipt"]["status"], "success");
    }
    let q = run(&["query", "call", "--contract", &addr, "--method", "get"]);
    assert_eq!(q["result"], 3);
    let info = run(&["query", "contract", &addr]);
    assert_eq!(info["code_hash"], hash);
    // A call that would fail is refused before it is sent, with the reason.
    let (code, _, err) = batara(&[
        "tx",
        "call",
        "--contract",
        &addr,
        "--method",
        "nope",
        "--dev-account",
        "0",
        "--rpc",
        &url,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("would fail") && err.contains("no method"),
        "{err}"
    );
    let (code, _, err) = batara(&[
        "tx",
        "call",
        "--contract",
        &addr,
        "--method",
        "get",
        "--args",
        "{bad",
        "--dev-account",
        "0",
        "--rpc",
        &url,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--args is not JSON"), "{err}");
    assert!(p.term().success());
}
