//! The JSON-RPC perimeter over real loopback sockets: Origin and Host allowlists on HTTP and on
//! the WebSocket handshake, limits and their error codes, idle connections that cannot lock the
//! server, a slow subscriber dropped with a notice, RPC on its own threads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use batara_core::api::NodeApi;
use batara_core::app::genesis::{self, Genesis};
use batara_core::consensus::DevMode;
use batara_core::crypto::Keypair;
use batara_core::node::{Node, NodeConfig, NodeHandle, NodeOptions};
use batara_core::rpc::{RpcConfig, CODE_LIMIT_EXCEEDED};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};

use crate::common::{
    acct, http_raw, http_status, rpc, subscribe_blocks, test_runtime, transfer, wait_for, ws_client,
};

/// A node serving JSON-RPC with `rpc` on a free loopback port: a dev chain (dev engine, blocks on
/// `mine`), or a node of a chain whose validator is elsewhere (a follower: no dev controls).
fn node(dev: bool, rpc: RpcConfig) -> (NodeHandle, SocketAddr) {
    let mut config = NodeConfig::default();
    config.storage.ephemeral = true;
    config.storage.sync_writes = false;
    config.consensus.mode = DevMode::Manual;
    config.rpc = RpcConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..rpc
    };
    let (genesis, validator_key) = if dev {
        let key = genesis::dev_validator_key();
        (
            Genesis::dev("batara-dev", 10, key.public_key(), 0),
            Some(key),
        )
    } else {
        config.p2p.enabled = true;
        config.p2p.listen = "127.0.0.1:0".parse().unwrap();
        let elsewhere = Keypair::generate().unwrap().public_key();
        let g = json!({
            "chain_id": "perimeter", "genesis_time": "0", "accounts": [],
            "validators": [{ "pubkey": elsewhere, "power": "1", "name": "elsewhere" }],
        });
        (Genesis::from_json(&g.to_string()).unwrap(), None)
    };
    let n = Node::start(NodeOptions {
        config,
        genesis,
        validator_key,
    })
    .unwrap();
    assert_eq!(
        n.increase_time(0).is_ok(),
        dev,
        "a dev chain has dev controls"
    );
    let a = n.rpc_addr().unwrap();
    (n, a)
}

/// Reads an HTTP head (up to the blank line), byte by byte so nothing after it is consumed;
/// returns its status.
fn read_status(s: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    http_status(&String::from_utf8_lossy(&head))
}

/// Opens a WebSocket by hand on `s` (with extra header lines; `Host: addr` unless they name
/// one); returns the handshake's status.
fn ws_handshake(s: &mut TcpStream, addr: SocketAddr, extra: &str) -> u16 {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let host = match extra.contains("Host:") {
        true => String::new(),
        false => format!("Host: {addr}\r\n"),
    };
    write!(
        s,
        "GET / HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .unwrap();
    read_status(s)
}

fn ws_status(addr: SocketAddr, extra: &str) -> u16 {
    ws_handshake(&mut TcpStream::connect(addr).unwrap(), addr, extra)
}

/// Sends one masked text frame (clients must mask).
fn ws_send(s: &mut TcpStream, text: &str) {
    let p = text.as_bytes();
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut f = vec![0x81u8];
    match p.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(p.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&f).unwrap();
}

/// A server message: `Some(Ok(text))`, `Some(Err(()))` for a close frame, `None` at the end of
/// the stream (or a cut socket).
fn ws_recv(s: &mut TcpStream) -> Option<Result<String, ()>> {
    let mut text = Vec::new();
    loop {
        let mut h = [0u8; 2];
        s.read_exact(&mut h).ok()?;
        let len = match h[1] & 0x7f {
            126 => {
                let mut l = [0u8; 2];
                s.read_exact(&mut l).ok()?;
                u16::from_be_bytes(l) as usize
            }
            127 => {
                let mut l = [0u8; 8];
                s.read_exact(&mut l).ok()?;
                u64::from_be_bytes(l) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).ok()?;
        match h[0] & 0x0f {
            0x8 => return Some(Err(())),
            0x9 | 0xa => continue, // ping, pong
            _ => text.extend_from_slice(&payload),
        }
        if h[0] & 0x80 != 0 {
            return Some(Ok(String::from_utf8(text).unwrap()));
        }
    }
}

fn post(addr: SocketAddr, extra: &str, body: &str) -> (u16, String, String) {
    http_raw(
        addr,
        format!(
            "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

const NODE_INFO: &str = r#"{"jsonrpc":"2.0","id":1,"method":"node_info","params":[]}"#;

#[test]
fn origins_and_hosts_are_checked_on_http_and_websocket() {
    let host = |a: SocketAddr| format!("Host: {a}\r\n");
    // A node that is not a dev chain: no browser origin, without or with a WebSocket.
    let (_n, addr) = node(false, RpcConfig::default());
    assert_eq!(ws_status(addr, "Origin: http://evil.example\r\n"), 403);
    assert_eq!(ws_status(addr, "Origin: http://localhost:3000\r\n"), 403);
    assert_eq!(ws_status(addr, ""), 101, "no Origin: curl, SDKs");
    let (status, head, body) = post(
        addr,
        &format!("{}Origin: http://localhost:3000\r\n", host(addr)),
        NODE_INFO,
    );
    assert_eq!(status, 403, "{head}");
    assert!(body.contains("origin not allowed"), "{body}");
    assert!(!head.to_lowercase().contains("access-control-allow-origin"));
    let (status, _, body) = post(addr, &host(addr), NODE_INFO);
    assert_eq!(status, 200);
    assert!(body.contains("perimeter"), "{body}");

    // A dev chain: local pages may call it, other pages may not.
    let (_d, dev) = node(true, RpcConfig::default());
    assert_eq!(ws_status(dev, "Origin: http://evil.example\r\n"), 403);
    assert_eq!(ws_status(dev, "Origin: http://localhost:3000\r\n"), 101);
    assert_eq!(ws_status(dev, "Origin: http://127.0.0.1:5173\r\n"), 101);
    // CORS preflight, then the call, from a local page.
    let (status, head, _) = http_raw(
        dev,
        format!(
            "OPTIONS / HTTP/1.1\r\n{}Origin: http://localhost:3000\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n",
            host(dev)
        )
        .as_bytes(),
    );
    let head = head.to_lowercase();
    assert_eq!(status, 204, "{head}");
    assert!(
        head.contains("access-control-allow-origin: http://localhost:3000"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-methods: post"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-headers: content-type"),
        "{head}"
    );
    let (status, head, body) = post(
        dev,
        &format!("{}Origin: http://localhost:3000\r\n", host(dev)),
        NODE_INFO,
    );
    assert_eq!(status, 200, "{body}");
    assert!(head
        .to_lowercase()
        .contains("access-control-allow-origin: http://localhost:3000"));
    assert!(body.contains("batara-dev"), "{body}");
    let (status, head, _) = http_raw(
        dev,
        format!(
            "OPTIONS / HTTP/1.1\r\n{}Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\
             Connection: close\r\n\r\n",
            host(dev)
        )
        .as_bytes(),
    );
    assert_eq!(status, 403);
    assert!(!head.to_lowercase().contains("access-control-allow-origin"));

    // DNS rebinding: a name that is not allowed in Host is refused; localhost and IPs are not.
    let (status, _, body) = post(dev, "Host: evil.example:8545\r\n", NODE_INFO);
    assert_eq!(status, 403);
    assert!(body.contains("host not allowed"), "{body}");
    assert_eq!(
        ws_status(dev, "Host: evil.example\r\nOrigin: http://localhost\r\n"),
        403
    );
    let port = dev.port();
    assert_eq!(
        post(dev, &format!("Host: localhost:{port}\r\n"), NODE_INFO).0,
        200
    );

    // Configured lists replace the defaults.
    let (_c, conf) = node(
        false,
        RpcConfig {
            allowed_origins: Some(vec!["https://app.example".into()]),
            allowed_hosts: Some(vec!["node.example".into()]),
            ..Default::default()
        },
    );
    assert_eq!(
        ws_status(
            conf,
            "Host: node.example\r\nOrigin: https://app.example\r\n"
        ),
        101
    );
    assert_eq!(
        post(conf, &host(conf), NODE_INFO).0,
        403,
        "127.0.0.1 is not listed"
    );
}

#[test]
fn batch_subscription_and_rate_limits_answer_with_clear_errors() {
    let batch = |n: usize| {
        let calls: Vec<Value> = (0..n)
            .map(|i| json!({ "jsonrpc": "2.0", "id": i, "method": "node_info", "params": [] }))
            .collect();
        Value::Array(calls).to_string()
    };
    let (_n, addr) = node(
        true,
        RpcConfig {
            max_batch_len: 10,
            requests_per_sec_per_ip: 5,
            ..Default::default()
        },
    );
    let host = format!("Host: {addr}\r\n");
    // Longer than max_batch_len: refused whole, before it runs (so it costs no tokens).
    let (_, _, body) = post(addr, &host, &batch(11));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32010, "{v}");
    assert_eq!(v["error"]["message"], "The batch request was too large");
    assert_eq!(v["error"]["data"], "Exceeded max limit of 10");
    // Within the length but over the rate (5 per second, a full bucket to start): the first five
    // entries run, the other three get the rate limit's error.
    let (_, _, body) = post(addr, &host, &batch(8));
    let v: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut answered: Vec<&Value> = v.iter().filter(|r| r.get("result").is_some()).collect();
    answered.sort_by_key(|r| r["id"].as_u64());
    assert_eq!(answered.len(), 5, "{v:?}");
    let refused: Vec<&Value> = v.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(refused.len(), 3, "{v:?}");
    for r in refused {
        assert_eq!(r["error"]["code"], CODE_LIMIT_EXCEEDED);
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(
            msg.starts_with("limit exceeded: more than 5 requests per second from 127.0.0.1"),
            "{msg}"
        );
    }
    // The bucket refills.
    wait_for("the rate limit to let a call through", 10, || {
        post(addr, &host, NODE_INFO).2.contains("\"result\"")
    });

    // Subscriptions per connection.
    let (_s, saddr) = node(
        true,
        RpcConfig {
            max_subscriptions_per_connection: 2,
            ..Default::default()
        },
    );
    test_runtime().block_on(async {
        let c = ws_client(saddr).await;
        let _a = subscribe_blocks(&c).await.unwrap();
        let _b = subscribe_blocks(&c).await.unwrap();
        match subscribe_blocks(&c).await {
            Err(jsonrpsee::core::client::Error::Call(e)) => {
                assert_eq!(e.code(), -32006);
                assert_eq!(e.message(), "Too many subscriptions on the connection");
                assert_eq!(
                    e.data().map(|d| d.get()),
                    Some("\"Exceeded max limit of 2\"")
                );
            }
            other => panic!("a third subscription should be refused: {other:?}"),
        }
        // The connection still serves calls.
        let info: Value = c.request("node_info", rpc_params![]).await.unwrap();
        assert_eq!(info["chain_id"], "batara-dev");
    });
}

/// The finding: `max_connections` idle WebSockets locked every other client out for good. Now an
/// idle connection (no call, no subscription) is closed after `idle_timeout_secs`; a subscribed
/// one stays.
#[test]
fn idle_websockets_cannot_lock_the_server() {
    let (n, addr) = node(
        true,
        RpcConfig {
            max_connections: 5,
            idle_timeout_secs: 1,
            ..Default::default()
        },
    );
    let rt = test_runtime();
    let client = rt.block_on(ws_client(addr));
    let mut sub = rt.block_on(subscribe_blocks(&client)).unwrap();
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            assert_eq!(ws_handshake(&mut s, addr, ""), 101);
            s
        })
        .collect();
    // Every slot is taken: a new client is turned away for now...
    let (status, _, body) = post(addr, &format!("Host: {addr}\r\n"), NODE_INFO);
    assert_eq!(status, 429, "{body}");
    // ...until the idle connections are closed (a close frame, then the end of the stream).
    for s in &mut idle {
        assert_eq!(ws_recv(s), Some(Err(())), "a close frame");
        assert_eq!(ws_recv(s), None);
    }
    wait_for("a new client to be served", 10, || {
        post(addr, &format!("Host: {addr}\r\n"), NODE_INFO).0 == 200
    });
    // The subscriber, as quiet as the others but subscribed, is still served.
    n.mine(1).unwrap();
    let b = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), sub.next()).await })
        .expect("a block")
        .unwrap()
        .unwrap();
    assert_eq!(b["header"]["height"], "1");
}

/// A subscriber that never reads its socket is dropped — a final notification naming the reason,
/// then the close — while a fast subscriber receives every block.
#[test]
fn a_slow_subscriber_is_dropped_with_a_notice_and_a_fast_one_gets_every_block() {
    let (n, addr) = node(
        true,
        RpcConfig {
            ws_buffer_messages: 8,
            ..Default::default()
        },
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The slow one: a tiny receive buffer, subscribes, then reads nothing.
    let mut slow = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(4096).unwrap();
        let s = sock.connect(addr).await.unwrap().into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s
    });
    assert_eq!(ws_handshake(&mut slow, addr, ""), 101);
    ws_send(
        &mut slow,
        r#"{"jsonrpc":"2.0","id":1,"method":"chain_subscribeBlocks","params":[]}"#,
    );
    // The fast one counts what it receives.
    let (fast_tx, fast_rx) = std::sync::mpsc::channel::<(u64, usize)>();
    let fast_ready = std::sync::mpsc::channel::<()>();
    rt.spawn(async move {
        let c = ws_client(addr).await;
        let mut sub = subscribe_blocks(&c).await.unwrap();
        fast_ready.0.send(()).unwrap();
        while let Some(Ok(b)) = sub.next().await {
            let h = b["header"]["height"].as_str().unwrap().parse().unwrap();
            if fast_tx.send((h, b.to_string().len())).is_err() {
                break;
            }
        }
    });
    fast_ready.1.recv_timeout(Duration::from_secs(30)).unwrap();
    // Enough bytes to fill every buffer between the server and the slow reader: the kernel's
    // largest send buffer, the reader's receive buffer, the connection's queue.
    let wmem_max: usize = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20);
    let per_block = 200usize;
    let mut nonces = [0u64; 10];
    let (mut mined, mut fast_bytes, mut biggest) = (0u64, 0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(120);
    while fast_bytes < wmem_max + (1 << 20) + 16 * biggest {
        assert!(Instant::now() < deadline, "mining took too long");
        let txs: Vec<Vec<u8>> = (0..per_block)
            .map(|i| {
                let from = i % 10;
                nonces[from] += 1;
                let to = acct(((from + 1) % 10) as u32).address();
                transfer(&acct(from as u32), "batara-dev", nonces[from] - 1, to, 1, 0).to_bytes()
            })
            .collect();
        assert!(n.submit_batch(&txs).iter().all(|r| r.is_ok()));
        n.mine(1).unwrap();
        mined += 1;
        let (h, len) = fast_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(h, mined, "the fast subscriber gets every block, in order");
        fast_bytes += len;
        biggest = biggest.max(len);
    }
    // Now read what the slow one was sent: its ack, blocks 1..k in order, the notice, the close.
    let mut slow_blocks = 0u64;
    let ack = ws_recv(&mut slow).unwrap().unwrap();
    assert!(ack.contains("\"result\""), "{ack}");
    let notice = loop {
        let m = match ws_recv(&mut slow) {
            Some(Ok(m)) => m,
            other => {
                panic!("the stream ended after {slow_blocks} blocks without a notice: {other:?}")
            }
        };
        let v: Value = serde_json::from_str(&m).unwrap();
        if v["params"].get("error").is_some() {
            break v;
        }
        slow_blocks += 1;
        assert_eq!(
            v["params"]["result"]["header"]["height"],
            slow_blocks.to_string()
        );
    };
    assert_eq!(notice["method"], "chain_block");
    let reason = notice["params"]["error"].as_str().unwrap();
    assert!(reason.starts_with("subscriber too slow"), "{reason}");
    assert!(
        slow_blocks < mined,
        "{slow_blocks} of {mined}: dropped, not buffered"
    );
    assert!(
        matches!(ws_recv(&mut slow), Some(Err(())) | None),
        "then closed"
    );
    // The node still serves everyone else.
    assert_eq!(
        rpc(addr, "node_info", json!([]))["height"],
        mined.to_string()
    );
}

/// JSON-RPC runs on its own threads (`batara-rpc`), not on the network's.
#[test]
fn rpc_has_its_own_runtime() {
    let (_n, addr) = node(false, RpcConfig::default());
    assert_eq!(rpc(addr, "node_info", json!([]))["chain_id"], "perimeter");
    // A new thread names itself once it first runs: on a loaded machine it may still carry its
    // parent's name for a moment, so the names are read until both runtimes show (at most 10 s).
    let names = || -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let has = |names: &[String], n: &str| names.iter().any(|x| x == n);
    let t0 = std::time::Instant::now();
    let mut seen = names();
    while !(has(&seen, "batara-rpc") && has(&seen, "batara-net"))
        && t0.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
        seen = names();
    }
    assert!(has(&seen, "batara-rpc"), "{seen:?}");
    assert!(has(&seen, "batara-net"), "{seen:?}");
}
