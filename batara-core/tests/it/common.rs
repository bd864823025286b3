//! Helpers shared by the integration tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use batara_core::app::genesis;
use batara_core::consensus::DevMode;
use batara_core::crypto::Keypair;
use batara_core::node::{DevOptions, Node, NodeHandle};
use batara_core::types::{Address, Amount, SignedTransaction, TxBody, TxKind};
use serde_json::{json, Value};

/// An in-memory dev node without RPC.
pub fn dev(mode: DevMode) -> NodeHandle {
    Node::dev(DevOptions {
        mode,
        ..Default::default()
    })
    .unwrap()
}

/// An in-memory dev node serving JSON-RPC on a free loopback port.
pub fn dev_rpc(mode: DevMode) -> (NodeHandle, SocketAddr) {
    let n = Node::dev(DevOptions {
        mode,
        rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    })
    .unwrap();
    let a = n.rpc_addr().unwrap();
    (n, a)
}

/// Dev account `i`.
pub fn acct(i: u32) -> Keypair {
    genesis::dev_account_key(i)
}

/// A signed transfer.
pub fn transfer(
    key: &Keypair,
    chain_id: &str,
    nonce: u64,
    to: Address,
    amount: Amount,
    fee: Amount,
) -> SignedTransaction {
    TxBody {
        chain_id: chain_id.into(),
        signer: key.public_key(),
        nonce,
        fee,
        kind: TxKind::Transfer { to, amount },
    }
    .sign(key)
}

/// Sends one raw HTTP/1.1 request (it should say `Connection: close`) and reads the answer to
/// the end; returns the status, the head and the body.
pub fn http_raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (http_status(head), head.to_string(), body.to_string())
}

/// The status code of an HTTP response head (0 if there is none).
pub fn http_status(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Sends one HTTP/1.1 POST: headers announcing `len` body bytes (plus `extra` header lines), then
/// `body` if given; returns the status and the response body.
fn http_exchange(addr: SocketAddr, len: usize, extra: &str, body: Option<&[u8]>) -> (u16, String) {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n"
    )
    .into_bytes();
    req.extend_from_slice(body.unwrap_or_default());
    let (status, _, body) = http_raw(addr, &req);
    (status, body)
}

/// Raw HTTP POST; returns status and body.
pub fn http_post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    http_exchange(addr, body.len(), "", Some(body))
}

/// Announces a body of `len` bytes with `Expect: 100-continue` and returns the server's answer
/// without sending the body (a server that refuses on the length alone answers at once; no unread
/// body is left to make the close a reset).
pub fn http_announce(addr: SocketAddr, len: usize) -> (u16, String) {
    http_exchange(addr, len, "Expect: 100-continue\r\n", None)
}

/// A JSON-RPC call; returns the whole response object.
pub fn rpc_raw(addr: SocketAddr, method: &str, params: Value) -> Value {
    let req = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let (_, body) = http_post(addr, req.to_string().as_bytes());
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad JSON from {method}: {e}: {body:?}"))
}

/// A JSON-RPC call that must succeed; returns `result`.
pub fn rpc(addr: SocketAddr, method: &str, params: Value) -> Value {
    let r = rpc_raw(addr, method, params);
    assert!(r.get("error").is_none(), "{method} failed: {r}");
    r["result"].clone()
}

/// The error object of a call that must fail.
pub fn rpc_err(addr: SocketAddr, method: &str, params: Value) -> Value {
    let r = rpc_raw(addr, method, params);
    r.get("error")
        .cloned()
        .unwrap_or_else(|| panic!("{method} should fail: {r}"))
}

/// Parses a decimal-string amount from JSON.
pub fn dec(v: &Value) -> u128 {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .parse()
        .unwrap()
}

/// A `batara` child process and the JSON-RPC address it printed.
pub struct Proc {
    /// The process.
    pub child: std::process::Child,
    /// Its JSON-RPC address.
    pub rpc: SocketAddr,
    /// Everything it printed on stdout up to the URL.
    pub banner: String,
}

impl Proc {
    /// Runs `batara ARGS` and waits (up to 60 s) for it to print its JSON-RPC URL.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Proc {
        Self::spawn_to(args, envs, std::process::Stdio::inherit())
    }

    /// [`Proc::spawn`] with its stderr appended to the file `log`.
    pub fn spawn_logged(args: &[&str], log: &std::path::Path) -> Proc {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Self::spawn_to(args, &[], f.into())
    }

    fn spawn_to(args: &[&str], envs: &[(&str, &str)], stderr: std::process::Stdio) -> Proc {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_batara"));
        cmd.args(args)
            .env("BATARA_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn batara");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            let mut sent = false;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    banner.push_str(&line);
                    banner.push('\n');
                    if let Some(url) = line.strip_prefix("JSON-RPC  http://") {
                        let _ =
                            tx.send((url.trim().parse::<SocketAddr>().unwrap(), banner.clone()));
                        sent = true;
                    }
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((rpc, banner)) => Proc { child, rpc, banner },
            Err(_) => {
                let _ = child.kill();
                panic!("batara {args:?} printed no JSON-RPC URL");
            }
        }
    }

    /// SIGKILL, and reap.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM; returns the exit status.
    pub fn term(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `batara ARGS` to completion; returns (exit code, stdout, stderr).
pub fn batara(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_batara"))
        .args(args)
        .env("BATARA_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Polls `cond` every 50 ms until it holds; fails the test after `secs` seconds naming `what`.
pub fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A single-threaded tokio runtime for a test's async clients.
pub fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A jsonrpsee WebSocket client of the node serving JSON-RPC at `addr`.
pub async fn ws_client(addr: SocketAddr) -> jsonrpsee::ws_client::WsClient {
    jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap()
}

/// Subscribes `client` to committed blocks (`chain_subscribeBlocks`).
pub async fn subscribe_blocks(
    client: &jsonrpsee::ws_client::WsClient,
) -> Result<jsonrpsee::core::client::Subscription<Value>, jsonrpsee::core::client::Error> {
    use jsonrpsee::core::client::SubscriptionClientT;
    client
        .subscribe(
            "chain_subscribeBlocks",
            jsonrpsee::rpc_params![],
            "chain_unsubscribeBlocks",
        )
        .await
}
