//! Helpers shared by the integration tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use batara_core::config::DevMode;
use batara_core::crypto::Keypair;
use batara_core::genesis;
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
pub fn transfer(key: &Keypair, chain_id: &str, nonce: u64, to: Address, amount: Amount, fee: Amount) -> SignedTransaction {
    TxBody {
        chain_id: chain_id.into(),
        signer: key.public_key(),
        nonce,
        fee,
        kind: TxKind::Transfer { to, amount },
    }
    .sign(key)
}

/// Raw HTTP POST; returns status and body.
pub fn http_post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading an oversized body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
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
    r.get("error").cloned().unwrap_or_else(|| panic!("{method} should fail: {r}"))
}

/// Parses a decimal-string amount from JSON.
pub fn dec(v: &Value) -> u128 {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).parse().unwrap()
}
