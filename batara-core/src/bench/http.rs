//! A minimal blocking HTTP/1.1 keep-alive JSON-RPC client over `std::net::TcpStream`, with an
//! optional source address (so one benchmark process can speak from several loopback IPs, each
//! its own rate-limit bucket), and a WebSocket handshake for idle connections.
//!
//! Must never: be used outside the benchmarks (no TLS, no redirects, one request at a time).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};

/// Connects to `addr` from `src` (port chosen by the kernel) when given, with timeouts.
pub(crate) fn connect(
    addr: SocketAddr,
    src: Option<IpAddr>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let stream = match src {
        None => TcpStream::connect_timeout(&addr, timeout)?,
        Some(ip) => {
            // std cannot bind before connecting; tokio's TcpSocket can (tokio is a dependency).
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let sock = match addr {
                    SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                    SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
                };
                sock.bind(SocketAddr::new(ip, 0))?;
                let s = tokio::time::timeout(timeout, sock.connect(addr))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
                let s = s.into_std()?;
                s.set_nonblocking(false)?;
                Ok::<_, io::Error>(s)
            })?
        }
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// Reads one HTTP/1.1 response (Content-Length or chunked body); returns the status, the body
/// and whether the server asked to close the connection.
pub(crate) fn read_response<R: BufRead>(r: &mut R) -> io::Result<(u16, Vec<u8>, bool)> {
    let mut line = String::new();
    let eof = || io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed");
    if r.read_line(&mut line)? == 0 {
        return Err(eof());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad status line"))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(eof());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.contains("chunked"),
                "connection" => close = v.contains("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(eof());
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers (none expected) up to the empty line.
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf)?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok((status, body, close))
}

/// A JSON-RPC error answer.
#[derive(Clone, Debug)]
pub(crate) struct RpcError {
    /// The JSON-RPC code (or the HTTP status, negated, for a non-200 answer without JSON).
    pub code: i64,
    /// Its message.
    pub message: String,
    /// `data.reason` of a rejected transaction.
    pub reason: Option<String>,
}

/// One keep-alive connection to a node's JSON-RPC, reconnecting when the server closes it.
pub(crate) struct Client {
    addr: SocketAddr,
    src: Option<IpAddr>,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
    /// Connections opened (the first one included).
    pub connects: u64,
}

impl Client {
    pub(crate) fn new(addr: SocketAddr, src: Option<IpAddr>, timeout: Duration) -> Self {
        Self {
            addr,
            src,
            timeout,
            conn: None,
            connects: 0,
        }
    }

    /// Sends a raw JSON body; returns the HTTP status and body. One retry on a fresh connection
    /// when a kept-alive one turns out closed.
    pub(crate) fn post(&mut self, body: &[u8]) -> io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            if self.conn.is_none() {
                let s = connect(self.addr, self.src, self.timeout)?;
                self.connects += 1;
                self.conn = Some(BufReader::with_capacity(1 << 16, s));
            }
            let c = self.conn.as_mut().expect("connected");
            let sent = c
                .get_mut()
                .write_all(head.as_bytes())
                .and_then(|_| c.get_mut().write_all(body));
            let res = sent.and_then(|_| read_response(c));
            match res {
                Ok((status, body, close)) => {
                    if close {
                        self.conn = None;
                    }
                    return Ok((status, body));
                }
                Err(e) => {
                    self.conn = None;
                    let stale = reused
                        && matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::BrokenPipe
                        );
                    if attempt == 1 || !stale {
                        return Err(e);
                    }
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// A JSON-RPC call: `Ok(Ok(result))`, `Ok(Err(error answer))`, or a transport error.
    pub(crate) fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> io::Result<Result<Value, RpcError>> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, body) = self.post(body.to_string().as_bytes())?;
        let v: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return Ok(Err(RpcError {
                    code: -i64::from(status),
                    message: format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
                    reason: None,
                }))
            }
        };
        if let Some(e) = v.get("error") {
            return Ok(Err(RpcError {
                code: e["code"].as_i64().unwrap_or(0),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
                reason: e["data"]["reason"].as_str().map(str::to_owned),
            }));
        }
        Ok(Ok(v.get("result").cloned().unwrap_or(Value::Null)))
    }
}

/// Opens a WebSocket (the upgrade handshake, no Origin header); returns the stream once the
/// server answered 101.
pub(crate) fn websocket(
    addr: SocketAddr,
    src: Option<IpAddr>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let mut s = connect(addr, src, timeout)?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    // Read the head byte by byte so no frame after it is swallowed.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 || head.len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "handshake cut",
            ));
        }
        head.push(b[0]);
    }
    let text = String::from_utf8_lossy(&head);
    if text.split_whitespace().nth(1) != Some("101") {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("handshake refused: {}", text.lines().next().unwrap_or("")),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_length_and_chunked_responses() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 429 Too Many\r\n\
                    Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut r = io::BufReader::new(&raw[..]);
        assert_eq!(
            read_response(&mut r).unwrap(),
            (200, b"hello".to_vec(), false)
        );
        assert_eq!(
            read_response(&mut r).unwrap(),
            (429, b"abcde".to_vec(), true)
        );
        assert!(read_response(&mut r).is_err());
    }
}
