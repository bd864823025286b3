//! Real C programs compiled with the system C compiler against `include/batara.h` and the
//! library this crate builds, then run: the example, static linking, and the shared vectors.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory holding libbatara.{so,a}: the profile directory this test binary was built in.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_owned()
}

fn compile(src: &Path, out: &Path, static_link: bool) {
    let lib = lib_dir();
    let mut cmd = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(src)
        .arg("-o")
        .arg(out);
    if static_link {
        cmd.arg(lib.join("libbatara.a"))
            .args(["-lstdc++", "-lm", "-ldl", "-lpthread"]);
    } else {
        cmd.arg("-L")
            .arg(&lib)
            .arg("-lbatara")
            .arg(format!("-Wl,-rpath,{}", lib.display()));
    }
    let st = cmd.status().expect("run the C compiler");
    assert!(st.success(), "compiling {} failed", src.display());
}

fn run_embed(static_link: bool) {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir
        .path()
        .join(if static_link { "embed-static" } else { "embed" });
    compile(&root().join("examples/c/embed.c"), &exe, static_link);
    let out = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "embed failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("bob balance 1000000000000000000001234 nonce 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rejected as expected: to: invalid address"),
        "{stdout}"
    );
    assert!(stdout.contains("callbacks saw"), "{stdout}");
}

#[test]
fn embed_example_runs_dynamically_linked() {
    run_embed(false);
}

#[test]
fn embed_example_runs_statically_linked() {
    run_embed(true);
}

fn unhex0x(v: &serde_json::Value) -> String {
    v.as_str().unwrap().trim_start_matches("0x").to_owned()
}

#[test]
fn c_agrees_with_the_shared_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("vectors");
    compile(&root().join("bindings/c/tests/it/vectors.c"), &exe, false);
    let vdir = root().join("tests/vectors");
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vdir.join("batara.json")).unwrap()).unwrap();
    let mut input = String::new();
    let mut expected = 0;
    for k in b["keys"].as_array().unwrap() {
        input += &format!(
            "key {} {} {}\n",
            unhex0x(&k["seed"]),
            unhex0x(&k["public_key"]),
            k["address"].as_str().unwrap()
        );
        expected += 1;
    }
    for t in b["transactions"].as_array().unwrap() {
        let body = &t["body"];
        let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
        input += &format!(
            "tx {} {} {} {} {} {} {}\n",
            unhex0x(&t["seed"]),
            s(&body["chain_id"]),
            s(&body["nonce"]),
            // Compact JSON has spaces only inside strings; escaped, the line splits on spaces.
            serde_json::to_string(&body["kind"])
                .unwrap()
                .replace(' ', "\\u0020"),
            s(&body["fee"]),
            unhex0x(&t["signed_bytes"]),
            unhex0x(&t["hash"])
        );
        expected += 1;
    }
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vdir.join("errors.json")).unwrap()).unwrap();
    for k in e["kinds"].as_array().unwrap() {
        input += &format!(
            "error {} {} {} {} {}\n",
            k["kind"].as_str().unwrap(),
            k["rpc_code"],
            k["python"].as_str().unwrap(),
            k["js"].as_str().unwrap(),
            k["c"]
        );
        expected += 1;
    }
    let w: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(vdir.join("wycheproof_ed25519_test.json")).unwrap(),
    )
    .unwrap();
    for g in w["testGroups"].as_array().unwrap() {
        let pk = g["publicKey"]["pk"].as_str().unwrap();
        for t in g["tests"].as_array().unwrap() {
            let msg = t["msg"].as_str().unwrap();
            let sig = t["sig"].as_str().unwrap();
            let sig = if sig.is_empty() { "-" } else { sig };
            let ok = (t["result"] == "valid") as u8;
            input += &format!(
                "verify {pk} {} {sig} {ok}\n",
                if msg.is_empty() { "-" } else { msg }
            );
            expected += 1;
        }
    }
    use std::io::Write;
    let mut child = Command::new(&exe)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.trim(), format!("{expected} passed, 0 failed"));
}

#[test]
fn start_from_a_home_directory() {
    use batara_core::app::genesis::Genesis;
    use batara_core::node::home;
    use batara_core::node::NodeConfig;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("home");
    compile(&root().join("bindings/c/tests/it/home.c"), &exe, false);
    let run_home = |name: &str, dev: bool| {
        let h = dir.path().join(name);
        std::fs::create_dir_all(&h).unwrap();
        let key = batara_core::crypto::Keypair::from_seed(&[9; 32]);
        let mut genesis = Genesis::dev("c-home", 1, key.public_key(), 1);
        genesis.dev = dev;
        genesis.params.min_fee = 7;
        let mut config = NodeConfig::default();
        config.rpc.enabled = false;
        config.data_dir = Some("data".into());
        std::fs::write(h.join(home::CONFIG), config.to_toml()).unwrap();
        std::fs::write(h.join(home::GENESIS), genesis.to_json()).unwrap();
        batara_core::validator::write_key_file(&h.join(home::VALIDATOR_KEY), &key).unwrap();
        let out = Command::new(&exe).arg(&h).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}");
        stdout
    };
    let dev = run_home("dev", true);
    let lines: Vec<&str> = dev.lines().collect();
    assert_eq!(
        lines[..3],
        ["chain c-home height 0", "transfer 0 3", "mine 0 ok"],
        "a NULL fee pays the chain's minimum (7); fee \"1\" is rejected (3)"
    );
    // The backup C wrote opens as a home and holds the block it names, with its state root.
    let backup: serde_json::Value =
        serde_json::from_str(lines[3].strip_prefix("backup ").unwrap()).unwrap();
    let copy = home::open_reader(&dir.path().join("dev/backup")).unwrap();
    let head = copy.chain().head();
    assert_eq!(backup["height"], head.header.height.to_string());
    assert!(head.header.height >= 1, "the transfer's block at least");
    assert_eq!(
        backup["state_root"],
        serde_json::json!(head.header.state_root)
    );
    assert_eq!(
        lines[4], "backup again 2",
        "an existing directory: INVALID_INPUT"
    );
    assert!(
        lines[5].starts_with("backup to backup_dir 2 ") && lines[5].contains("backup_dir"),
        "{dev}"
    );
    assert!(
        lines[6].starts_with("evidence 2 ") && lines[6].contains("takes no evidence"),
        "{dev}"
    );
    // The same one-validator chain without the dev flag: BFT, and the dev control is refused.
    let not_dev = run_home("bft", false);
    assert!(
        not_dev.contains("mine 7 not a dev chain: dev_mine"),
        "{not_dev}"
    );
    // A BFT node checks evidence: this signer is no validator (nor do its signatures verify).
    assert!(
        not_dev.contains("\nevidence 2 invalid input: evidence not usable: "),
        "{not_dev}"
    );
    let out = Command::new(&exe)
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.starts_with(&format!("error {}", 8)), "{stdout}");
    assert!(stdout.contains("config.toml"), "{stdout}");
}

#[test]
fn reads_as_json_from_c() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("reads");
    compile(&root().join("bindings/c/tests/it/reads.c"), &exe, false);
    let validator = batara_core::app::genesis::dev_validator_key().address();
    let out = Command::new(&exe)
        .arg(validator.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = |label: &str| -> serde_json::Value {
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line in {stdout}"));
        serde_json::from_str(line).unwrap()
    };
    let line = |label: &str| -> Vec<String> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line in {stdout}"))
            .split(' ')
            .map(str::to_owned)
            .collect()
    };
    let dev = batara_core::app::genesis::DEV_BALANCE;
    let (bob_has, alice_has) = ((dev + 77).to_string(), (dev - 80).to_string());
    assert_eq!(
        line("balances"),
        [bob_has.as_str(), bob_has.as_str(), "0", alice_has.as_str()],
        "bob alone, then bob, the validator (no account) and alice in one call"
    );
    assert_eq!(
        line("balance_codes"),
        ["2", "2", "1", "0"],
        "INVALID_INPUT ×2, NULL_ARGUMENT, OK for none"
    );
    let block = doc("block");
    let receipts = doc("receipts");
    assert_eq!(block["txs"].as_array().unwrap().len(), 1);
    assert_eq!(block["evidence"], serde_json::json!([]));
    assert_eq!(block["txs"][0]["body"]["kind"]["amount"], "77");
    assert_eq!(receipts[0]["tx_hash"], block["txs"][0]["hash"]);
    assert_eq!(receipts[0]["fee"], "3");
    let info = doc("info");
    assert_eq!(info["engine"], "dev");
    assert_eq!(info["height"], block["header"]["height"]);
    assert!(info["peer_id"].is_null(), "no network for this node");
    let page = doc("page");
    assert_eq!(page["accounts"].as_array().unwrap().len(), 2);
    assert_eq!(page["next"], page["accounts"][1]["address"]);
    // 3 dev accounts (the fee accrued to the validator's delegators); pages in address order.
    let after = doc("after");
    assert!(after["next"].is_null());
    let bob = batara_core::app::genesis::dev_account_key(1).address();
    let later: Vec<batara_core::types::Address> = after["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(later.iter().all(|a| *a > bob));
    let codes: Vec<i32> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("codes "))
        .unwrap()
        .split(' ')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![4, 2, 2, 1, 4, 2],
        "NOT_FOUND, INVALID_INPUT ×2, NULL_ARGUMENT, NOT_FOUND, INVALID_INPUT"
    );
    // Bob's delegation, signed from C through the JSON kind.
    let d = doc("delegations");
    assert_eq!(d["delegator"], serde_json::json!(bob));
    assert_eq!(
        d["delegations"][0]["validator"],
        serde_json::json!(validator)
    );
    assert_eq!(d["delegations"][0]["amount"], "3000");
    assert_eq!(d["total_amount"], "3000");
    let page = doc("delegators");
    assert_eq!(page["delegations"].as_array().unwrap().len(), 1);
    assert!(
        page["next"].is_string(),
        "the validator itself and bob: {page}"
    );
    let rewards = doc("rewards");
    assert_eq!(
        rewards["rewards"][0]["validator"],
        serde_json::json!(validator)
    );
    let pool = doc("pool");
    // Four fees (3, then 1 each for the delegation, the proposal and the vote): 2 % of each
    // rounds to nothing; all accrued to the delegators.
    assert_eq!(pool["amount"], "0");
    assert_eq!(pool["outstanding_rewards"], "6");
    // Governance from C: bob's proposal went straight to its vote (10 coins is the minimum).
    let p = doc("proposal");
    assert_eq!(p["status"], "voting_period", "{p}");
    assert_eq!(p["proposer"], serde_json::json!(bob));
    assert_eq!(p["current_tally"]["yes"], "3000", "bob's delegation");
    let votes = doc("votes");
    assert_eq!(votes["votes"][0]["voter"], serde_json::json!(bob));
    assert_eq!(votes["votes"][0]["power"], "3000");
    let params = doc("gov_params");
    assert_eq!(params["quorum_ppm"], 334_000);
    assert_eq!(params["governed"]["chain"]["max_block_txs"], 20_000);
    assert_eq!(params["governed"]["gov"]["quorum_ppm"], 334_000);
    assert!(params["governed"]["staking"].is_object());
    assert_eq!(params["governed"]["vm"]["max_recursion_depth"], 1024);
    // skip_to_voting_end + one block: 3000 units of a coin-sized bonded stake is no quorum.
    let rejected = doc("rejected");
    assert_eq!(rejected["proposals"][0]["id"], "1", "{rejected}");
    assert!(rejected["proposals"][0]["result"]
        .as_str()
        .unwrap()
        .starts_with("no quorum"));
    let gov_codes: Vec<i32> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("gov_codes "))
        .unwrap()
        .split(' ')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(
        gov_codes,
        vec![4, 2, 2],
        "NOT_FOUND, INVALID_INPUT (status), INVALID_INPUT (closed)"
    );
}

#[test]
fn out_of_range_inputs_from_c_are_results_not_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("bounds");
    compile(&root().join("bindings/c/tests/it/bounds.c"), &exe, false);
    let out = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let case = |name: &str| -> i32 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("case {name} ")))
            .unwrap_or_else(|| panic!("no case {name} in {stdout}"))
            .parse()
            .unwrap()
    };
    let (ok, invalid, not_found) = (0, 2, 4);
    assert_eq!(
        case("accounts_max"),
        invalid,
        "accounts = UINT32_MAX aborted before"
    );
    assert_eq!(case("accounts_10001"), invalid);
    assert_eq!(case("bad_mode"), invalid);
    assert_eq!(case("mine_0"), invalid);
    assert_eq!(case("mine_max"), invalid);
    assert_eq!(case("mine_10001"), invalid);
    assert_eq!(case("mine_2"), ok);
    // A timeout of UINT64_MAX ms overflowed the deadline (a panic) before.
    assert_eq!(case("wait_forever_unknown"), not_found);
    assert_eq!(case("block_far"), not_found);
    assert_eq!(case("page_max"), invalid);
    let fuzz = stdout
        .lines()
        .find_map(|l| l.strip_prefix("fuzz "))
        .unwrap_or_else(|| panic!("no fuzz line in {stdout}"));
    let mut parts = fuzz.split(' ');
    assert_eq!(parts.next(), Some("300"));
    for p in parts {
        let (code, n) = p.split_once(':').unwrap();
        let code: i32 = code.parse().unwrap();
        assert!(
            [ok, invalid, not_found].contains(&code),
            "{n} fuzzed calls gave result {code}: {stdout}"
        );
    }
}

#[test]
fn contracts_from_c() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("contracts");
    compile(&root().join("bindings/c/tests/it/contracts.c"), &exe, false);
    let code = wat::parse_file(root().join("examples/contracts/counter.wat")).unwrap();
    let wasm = dir.path().join("counter.wasm");
    std::fs::write(&wasm, &code).unwrap();
    let hash = batara_core::crypto::sha256(&code);
    let alice = batara_core::app::genesis::dev_account_key(0).address();
    let addr = batara_core::modules::vm::contract_address(&alice, &hash, &[]);
    let out = Command::new(&exe)
        .args([wasm.to_str().unwrap(), &hash.to_string(), &addr.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = |label: &str| -> serde_json::Value {
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no {label} line in {stdout}"));
        serde_json::from_str(line).unwrap()
    };
    let est = doc("estimate");
    assert!(est["error"].is_null(), "{est}");
    let receipts = doc("receipts");
    assert_eq!(receipts[0]["status"], "success");
    assert_eq!(
        receipts[0]["gas_used"], est["gas_used"],
        "the estimate is what it used"
    );
    let query = doc("query");
    assert_eq!(
        query["output"],
        format!("0x{}", hex::encode(b"2")),
        "{query}"
    );
    let contract = doc("contract");
    assert_eq!(contract["code_hash"], hash.to_string());
    assert_eq!(contract["creator"], alice.to_string());
    let storage = doc("storage");
    assert_eq!(
        storage["value"],
        format!("0x{}", hex::encode(2u64.to_le_bytes()))
    );
    assert!(storage["proof"]["proof"]
        .as_str()
        .unwrap()
        .starts_with("0x"));
    assert_eq!(doc("code")["size"], code.len());
    // The second increment's trace: the storage write of 2 and the event, the receipt's gas.
    let trace = doc("trace");
    assert_eq!(trace["gas_used"], receipts[0]["gas_used"], "{trace}");
    let calls = trace["calls"].as_array().unwrap();
    assert!(calls.iter().any(|c| c["host"] == "storage_set"
        && c["read"]
            .as_str()
            .unwrap()
            .ends_with(&hex::encode(2u64.to_le_bytes()))));
    let codes: Vec<i32> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("codes "))
        .unwrap()
        .split(' ')
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![4, 1, 2, 4],
        "not found, NULL argument, invalid input, no trace"
    );
}
