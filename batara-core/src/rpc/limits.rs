//! Per-call limits, as a jsonrpsee RPC middleware ([`Limits`]): the request rate per client IP
//! (a token bucket of `rpc.requests_per_sec_per_ip` tokens refilled continuously; each call,
//! notification and batch entry takes one) and the connection's activity for the idle timeout (a
//! call in flight keeps its connection open, however long it waits).
//!
//! An over-limit call is answered at once with [`CODE_LIMIT_EXCEEDED`] (`-32005`, "limit
//! exceeded", the code EIP-1474 gives rate limits) without running; in a batch, only the
//! entries past the budget get that error.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, BatchEntryErr, MethodResponse, Notification, Request, RpcServiceT,
};
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;

use super::conn::Conn;

/// JSON-RPC error code of a refused call over a rate limit (a server code, not a node error
/// kind, so not in `api::ERROR_TABLE`).
pub const CODE_LIMIT_EXCEEDED: i32 = -32005;

/// Buckets kept before full (idle) ones are forgotten.
const PRUNE_AT: usize = 4096;

/// Token buckets per client IP.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_sec: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_sec` calls per second per IP, in bursts of up to one second's worth.
    pub(crate) fn new(per_sec: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes up to `n` tokens for `ip`; returns how many it got.
    pub(crate) fn take(&self, ip: IpAddr, n: usize) -> usize {
        self.take_at(ip, n, Instant::now())
    }

    fn take_at(&self, ip: IpAddr, n: usize, now: Instant) -> usize {
        let cap = self.per_sec;
        let mut buckets = self.buckets.lock();
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(&ip) {
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * cap < cap);
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: cap,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * cap).min(cap);
        b.at = now;
        let got = (b.tokens.floor() as usize).min(n);
        b.tokens -= got as f64;
        got
    }

    fn error(&self, ip: IpAddr) -> ErrorObjectOwned {
        ErrorObjectOwned::owned(
            CODE_LIMIT_EXCEEDED,
            format!(
                "limit exceeded: more than {} requests per second from {ip} (rpc.requests_per_sec_per_ip); retry later",
                self.per_sec
            ),
            None::<()>,
        )
    }
}

/// The middleware layer: wraps jsonrpsee's service of each connection.
#[derive(Clone, Debug)]
pub(crate) struct LimitsLayer {
    pub(crate) rate: Option<Arc<RateLimiter>>,
}

impl<S> tower::Layer<S> for LimitsLayer {
    type Service = Limits<S>;
    fn layer(&self, inner: S) -> Limits<S> {
        Limits {
            inner,
            rate: self.rate.clone(),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub(crate) struct Limits<S> {
    inner: S,
    rate: Option<Arc<RateLimiter>>,
}

impl<S> Limits<S> {
    /// The connection's state (every request carries it) and whether its IP may make `n` more
    /// calls: how many it may.
    fn admit(&self, ext: &http::Extensions, n: usize) -> (Option<Arc<Conn>>, usize) {
        let conn = ext.get::<Arc<Conn>>().cloned();
        let granted = match (&self.rate, &conn) {
            (Some(rate), Some(c)) => rate.take(c.ip, n),
            _ => n,
        };
        (conn, granted)
    }
}

impl<S> RpcServiceT for Limits<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let (conn, granted) = self.admit(req.extensions(), 1);
        let refused = (granted == 0).then(|| self.rate.as_ref().map(|r| r.error(conn_ip(&conn))));
        let inner = self.inner.clone();
        async move {
            if let Some(Some(e)) = refused {
                return MethodResponse::error(req.id(), e);
            }
            let _busy = conn.as_ref().map(|c| c.busy());
            inner.call(req).await
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let len = batch.len();
        let (conn, granted) = self.admit(batch.extensions(), len);
        if granted < len {
            if let Some(rate) = &self.rate {
                let e = rate.error(conn_ip(&conn));
                for entry in batch.iter_mut().skip(granted) {
                    if let Ok(BatchEntry::Call(req)) = entry {
                        *entry = Err(BatchEntryErr::new(req.id(), e.clone()));
                    }
                }
            }
        }
        let inner = self.inner.clone();
        async move {
            let _busy = conn.as_ref().map(|c| c.busy());
            inner.batch(batch).await
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        let (conn, granted) = self.admit(n.extensions(), 1);
        let inner = self.inner.clone();
        async move {
            if granted == 0 {
                return MethodResponse::notification();
            }
            let _busy = conn.as_ref().map(|c| c.busy());
            inner.notification(n).await
        }
    }
}

fn conn_ip(conn: &Option<Arc<Conn>>) -> IpAddr {
    conn.as_ref().map_or(IpAddr::from([0, 0, 0, 0]), |c| c.ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_per_ip_and_refill() {
        let r = RateLimiter::new(10);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        assert_eq!(r.take_at(a, 8, t0), 8);
        assert_eq!(r.take_at(a, 8, t0), 2);
        assert_eq!(r.take_at(a, 1, t0), 0);
        assert_eq!(r.take_at(b, 10, t0), 10, "another IP has its own bucket");
        let later = t0 + std::time::Duration::from_millis(250);
        assert_eq!(r.take_at(a, 10, later), 2, "2.5 tokens refilled in 250 ms");
        let much_later = later + std::time::Duration::from_secs(60);
        assert_eq!(
            r.take_at(a, 100, much_later),
            10,
            "a bucket holds one second's worth"
        );
    }
}
