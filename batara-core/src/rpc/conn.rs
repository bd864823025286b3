//! One accepted TCP connection: its activity (for the idle timeout), a request to close it, and
//! the switch that cuts its socket when the peer will not take the last bytes.
//!
//! Lifecycle (one watchdog task per connection, [`watch`]): a connection with no call in flight,
//! no open subscription and no request for `idle_timeout` is closed — gracefully: jsonrpsee
//! sends the WebSocket close frame, hyper closes an idle keep-alive connection. So is one whose
//! subscriber could not keep up ([`Conn::request_close`]), or every connection when the server
//! stops. A connection asked to close that has not closed `idle_timeout` later — its peer does
//! not read, so the last frames never leave — has its socket cut ([`ConnIo`] fails every read and
//! write from then on), which ends jsonrpsee's tasks and frees the connection's slot.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use jsonrpsee::server::{ServerHandle, StopHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};

/// Milliseconds since the first call (a monotonic clock for the atomics).
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The shared state of one connection, reachable from its requests' extensions.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The peer's address (the rate limit's key).
    pub(crate) ip: IpAddr,
    last_active_ms: AtomicU64,
    /// Calls in flight plus open subscriptions.
    busy: AtomicUsize,
    close: Notify,
    close_reason: OnceLock<&'static str>,
    cut: AtomicBool,
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
}

/// Keeps its connection busy (not idle) while alive.
#[derive(Debug)]
pub(crate) struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Conn {
    fn new(ip: IpAddr) -> Self {
        Self {
            ip,
            last_active_ms: AtomicU64::new(now_ms()),
            busy: AtomicUsize::new(0),
            close: Notify::new(),
            close_reason: OnceLock::new(),
            cut: AtomicBool::new(false),
            read_waker: AtomicWaker::new(),
            write_waker: AtomicWaker::new(),
        }
    }

    /// Records activity now.
    pub(crate) fn touch(&self) {
        self.last_active_ms.fetch_max(now_ms(), Ordering::Relaxed);
    }

    /// Marks the connection busy until the guard drops (a call, a subscription).
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.touch();
        Busy(self.clone())
    }

    /// Asks the watchdog to close this connection (first reason wins).
    pub(crate) fn request_close(&self, reason: &'static str) {
        let _ = self.close_reason.set(reason);
        self.close.notify_one();
    }

    fn idle_for(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.last_active_ms.load(Ordering::Relaxed)))
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.read_waker.wake();
        self.write_waker.wake();
    }

    fn is_cut(&self, waker: &AtomicWaker, cx: &Context<'_>) -> bool {
        waker.register(cx.waker());
        self.cut.load(Ordering::SeqCst)
    }
}

/// A connection's socket, which [`Conn::cut`] makes fail; dropping it tells the watchdog the
/// connection is gone.
pub(crate) struct ConnIo {
    io: TcpStream,
    conn: Arc<Conn>,
    _gone: oneshot::Sender<()>,
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection cut by the server",
    )
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_cut(&this.conn.read_waker, cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.conn.is_cut(&this.conn.write_waker, cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_cut(&this.conn.write_waker, cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_cut(&this.conn.write_waker, cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Wraps an accepted socket; returns the connection's state, its socket and the watchdog's end
/// of the "gone" signal.
pub(crate) fn accept(io: TcpStream, ip: IpAddr) -> (Arc<Conn>, ConnIo, oneshot::Receiver<()>) {
    let conn = Arc::new(Conn::new(ip));
    let (gone_tx, gone_rx) = oneshot::channel();
    let io = ConnIo {
        io,
        conn: conn.clone(),
        _gone: gone_tx,
    };
    (conn, io, gone_rx)
}

/// The watchdog of one connection (see the module docs). `conn_stop` stops this connection's
/// jsonrpsee service; `server_stopped` fires when the whole server stops.
pub(crate) async fn watch(
    conn: Arc<Conn>,
    idle: Duration,
    mut gone: oneshot::Receiver<()>,
    server_stopped: StopHandle,
    conn_stop: ServerHandle,
) {
    let stopped = server_stopped.shutdown();
    tokio::pin!(stopped);
    let reason = loop {
        let wait = if conn.busy.load(Ordering::SeqCst) > 0 {
            idle
        } else {
            idle.saturating_sub(conn.idle_for())
        };
        tokio::select! {
            _ = &mut gone => return,
            _ = &mut stopped => break "server stopping",
            _ = conn.close.notified() => break *conn.close_reason.get().unwrap_or(&"closed"),
            _ = tokio::time::sleep(wait) => {
                if conn.busy.load(Ordering::SeqCst) == 0 && conn.idle_for() >= idle {
                    break "idle";
                }
            }
        }
    };
    tracing::debug!(target: "batara::rpc", ip = %conn.ip, reason, "closing JSON-RPC connection");
    let _ = conn_stop.stop();
    if tokio::time::timeout(idle, &mut gone).await.is_err() {
        tracing::debug!(target: "batara::rpc", ip = %conn.ip, reason, "JSON-RPC peer takes no bytes; cutting its socket");
        conn.cut();
    }
}
