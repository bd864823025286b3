//! Block and event notifications (`chain_subscribeBlocks`, `chain_subscribeEvents`).
//!
//! Blocks: one feed per server serializes each committed
//! block once — on the blocking pool, since a full block is megabytes of JSON — and fans the
//! bytes out to every subscription, which only wraps them in its envelope. No subscriber, no
//! serialization.
//!
//! A subscription never waits on its client: it queues each notification without blocking in
//! its connection's outgoing buffer (`rpc.ws_buffer_messages` messages, after what the kernel's
//! socket buffers hold). When that buffer is full — the client is not reading — the subscriber is
//! dropped: it gets a final notification `{"subscription": id, "error": "subscriber too slow…"}`
//! (one slot is kept free for it) and its connection is closed (see `conn`), instead of blocks
//! piling up without bound. A subscriber that missed blocks because the feed itself fell behind
//! is dropped the same way, so no client silently sees a gap.
//!
//! Events: each subscription reads the node's committed blocks itself and sends, one
//! notification each, the events its filter passes (an event is a few hundred bytes: there is
//! nothing to share). Slow subscribers are dropped by the same rule.

use std::sync::Arc;

use jsonrpsee::core::server::{PendingSubscriptionSink, SubscriptionMessage, TrySendError};
use jsonrpsee::core::SubscriptionResult;
use serde_json::value::RawValue;
use tokio::sync::broadcast::{self, error::RecvError};

use super::conn::Conn;
use crate::api::{BlockView, EventMatcher, NodeApi, WeakNode};
use crate::runtime::CommittedBlock;

/// Blocks kept for subscriptions that have not taken them yet (they take them without waiting, so
/// only a starved task falls this far behind).
const FEED_CAPACITY: usize = 256;

/// One block for all subscribers.
#[derive(Clone, Debug)]
pub(crate) enum Item {
    /// The block's JSON (a `BlockView`), serialized once.
    Block(Arc<Box<RawValue>>),
    /// The feed fell behind the node and skipped this many blocks.
    Skipped(u64),
}

/// The sending side of the feed; subscriptions subscribe to it.
pub(crate) type Feed = broadcast::Sender<Item>;

/// Starts the feed of `node`'s blocks on `rt`; `None` when the node is gone.
pub(crate) fn start_feed<W: WeakNode>(
    rt: &tokio::runtime::Handle,
    node: &W,
) -> Option<(Feed, tokio::task::JoinHandle<()>)> {
    let mut blocks = node.upgrade()?.subscribe_blocks();
    let (feed, _) = broadcast::channel(FEED_CAPACITY);
    let tx = feed.clone();
    let task = rt.spawn(async move {
        loop {
            let item = match blocks.recv().await {
                Ok(_) if tx.receiver_count() == 0 => continue,
                Ok(cb) => {
                    let json = tokio::task::spawn_blocking(move || {
                        serde_json::value::to_raw_value(&BlockView::from_committed(&cb))
                    })
                    .await;
                    match json {
                        Ok(Ok(raw)) => Item::Block(Arc::new(raw)),
                        Ok(Err(e)) => {
                            tracing::error!(target: "batara::rpc", "cannot serialize a block: {e}");
                            continue;
                        }
                        Err(_) => break, // the runtime is shutting down
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(target: "batara::rpc", skipped = n, "block feed fell behind the node");
                    Item::Skipped(n)
                }
                Err(RecvError::Closed) => break,
            };
            let _ = tx.send(item);
        }
    });
    Some((feed, task))
}

/// Serves one `chain_subscribeBlocks` subscription from `feed` (see the module docs).
pub(crate) async fn subscription(
    pending: PendingSubscriptionSink,
    feed: &Feed,
    conn: Option<Arc<Conn>>,
) -> SubscriptionResult {
    serve(pending, conn, feed.subscribe(), |item| match item {
        Item::Block(raw) => Ok(vec![SubscriptionMessage::from(Box::clone(&raw))]),
        Item::Skipped(n) => Err(format!(
            "{n} blocks skipped: the node's block feed fell behind; subscription closed"
        )),
    })
    .await
}

/// Serves one `chain_subscribeEvents` subscription: the events of each block `blocks` brings
/// that `filter` passes, a notification each (an [`EventView`](crate::api::EventView)), in block order.
pub(crate) async fn events_subscription(
    pending: PendingSubscriptionSink,
    blocks: broadcast::Receiver<CommittedBlock>,
    filter: EventMatcher,
    conn: Option<Arc<Conn>>,
) -> SubscriptionResult {
    serve(pending, conn, blocks, |cb| {
        filter
            .events(&cb)
            .iter()
            .map(|e| {
                serde_json::value::to_raw_value(e)
                    .map(SubscriptionMessage::from)
                    .map_err(|e| format!("cannot serialize an event: {e}"))
            })
            .collect()
    })
    .await
}

/// The loop of every subscription: each item of `rx` becomes the notifications `notify` makes
/// of it (`Err`: a reason to end the subscription, the connection kept), queued without waiting
/// (see the module docs for the slow subscriber).
async fn serve<T: Clone>(
    pending: PendingSubscriptionSink,
    conn: Option<Arc<Conn>>,
    mut rx: broadcast::Receiver<T>,
    mut notify: impl FnMut(T) -> Result<Vec<SubscriptionMessage>, String>,
) -> SubscriptionResult {
    let mut sink = pending.accept().await?;
    let _busy = conn.as_ref().map(|c| c.busy());
    let (reason, close_conn) = 'serve: loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            r = rx.recv() => match r {
                Ok(item) => match notify(item) {
                    Ok(messages) => {
                        for m in messages {
                            // Keep one slot for the notice.
                            let full = sink.capacity() < 2
                                || matches!(sink.try_send(m), Err(TrySendError::Full(_)));
                            if full {
                                break 'serve (format!(
                                    "subscriber too slow: {} notifications waiting unread; subscription and connection closed",
                                    sink.max_capacity() - sink.capacity()
                                ), true);
                            }
                        }
                    }
                    Err(reason) => break (reason, false),
                },
                Err(RecvError::Lagged(n)) => break (format!(
                    "subscriber too slow: {n} blocks skipped; subscription and connection closed"
                ), true),
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    };
    tracing::debug!(target: "batara::rpc", "{reason}");
    if let (true, Some(c)) = (close_conn, &conn) {
        c.request_close("subscriber too slow");
    }
    Err(reason.into())
}
