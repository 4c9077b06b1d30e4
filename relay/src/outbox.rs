//! A connection's outgoing frames: a queue bounded in bytes, drained by the connection's own
//! writer task with a deadline on every send.
//!
//! The team's worker and the connection's reader only ever queue; they never wait on the
//! device. A device whose queue would pass the bound is closed as too slow (it catches up
//! from the feed when it reconnects, so nothing is dropped silently), and one that takes
//! longer than the deadline to take a frame loses its connection. Pings and closes keep
//! working while a send is stuck, because the reader, not the writer, keeps the time.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use fieldsync_sync::CloseReason;
use futures_util::{Sink, SinkExt};
use tokio::sync::{Notify, watch};

/// A frame on its way to a device, shared between the devices it is broadcast to.
pub type Frame = axum::body::Bytes;

/// How a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The relay closes it, telling the device why.
    Close(CloseReason),
    /// The device left, or its socket failed: there is no one to tell.
    Gone,
}

struct Queue {
    messages: VecDeque<Message>,
    /// Bytes queued, plus the frame being sent.
    bytes: usize,
}

/// One connection's outgoing queue.
pub struct Outbox {
    limit: usize,
    queue: Mutex<Queue>,
    /// Wakes the writer: a message was queued, or the connection is ending.
    queued: Notify,
    /// Wakes the reader: the writer sent a frame.
    sent: Notify,
    end: watch::Sender<Option<End>>,
}

impl Outbox {
    /// An empty outbox holding at most `limit` bytes.
    pub fn new(limit: usize) -> Outbox {
        Outbox {
            limit,
            queue: Mutex::new(Queue {
                messages: VecDeque::new(),
                bytes: 0,
            }),
            queued: Notify::new(),
            sent: Notify::new(),
            end: watch::channel(None).0,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame. One that would take the queue past its limit ends the connection as
    /// too slow instead.
    pub fn send(&self, frame: Frame) {
        if self.ending().is_some() {
            return;
        }
        let mut queue = self.queue();
        if queue.bytes + frame.len() > self.limit && queue.bytes > 0 {
            drop(queue);
            self.end(End::Close(CloseReason::TooSlow));
            return;
        }
        queue.bytes += frame.len();
        queue.messages.push_back(Message::Binary(frame));
        drop(queue);
        self.queued.notify_one();
    }

    /// Queues a ping.
    pub fn ping(&self) {
        self.queue().messages.push_back(Message::Ping(Frame::new()));
        self.queued.notify_one();
    }

    /// Ends the connection (the first end given stands). Frames not yet sent are dropped.
    pub fn end(&self, end: End) {
        let first = self.end.send_if_modified(|current| {
            let first = current.is_none();
            if first {
                *current = Some(end);
            }
            first
        });
        if first {
            let mut queue = self.queue();
            queue.messages.clear();
            drop(queue);
            self.queued.notify_one();
        }
    }

    /// How the connection is ending, if it is.
    pub fn ending(&self) -> Option<End> {
        *self.end.borrow()
    }

    /// Completes when the connection is ending.
    pub async fn ended(&self) -> End {
        let mut end = self.end.subscribe();
        loop {
            if let Some(end) = *end.borrow_and_update() {
                return end;
            }
            if end.changed().await.is_err() {
                return End::Gone;
            }
        }
    }

    /// Bytes queued or being sent.
    pub fn queued_bytes(&self) -> usize {
        self.queue().bytes
    }

    /// Completes when the writer next sends a frame.
    pub async fn sent(&self) {
        self.sent.notified().await;
    }

    /// The writer's next message, or the end once there is one.
    async fn next(&self) -> Result<Message, End> {
        loop {
            let queued = self.queued.notified();
            if let Some(end) = self.ending() {
                return Err(end);
            }
            if let Some(message) = self.queue().messages.pop_front() {
                return Ok(message);
            }
            queued.await;
        }
    }

    fn done_sending(&self, bytes: usize) {
        let mut queue = self.queue();
        queue.bytes = queue.bytes.saturating_sub(bytes);
        drop(queue);
        self.sent.notify_one();
    }
}

/// The connection's writer: sends what is queued, each frame within `deadline`, until the
/// connection ends; then sends the close frame, if there is one to send, and closes.
/// Returns the reason the connection was closed with, if any.
pub async fn write(
    outbox: &Outbox,
    mut sink: impl Sink<Message> + Unpin,
    deadline: Duration,
) -> Option<CloseReason> {
    let end = loop {
        match outbox.next().await {
            Ok(message) => {
                let bytes = match &message {
                    Message::Binary(frame) => frame.len(),
                    _ => 0,
                };
                match tokio::time::timeout(deadline, sink.send(message)).await {
                    Ok(Ok(())) => outbox.done_sending(bytes),
                    Ok(Err(_)) => outbox.end(End::Gone),
                    Err(_) => outbox.end(End::Close(CloseReason::TooSlow)),
                }
            }
            Err(end) => break end,
        }
    };
    let End::Close(reason) = end else {
        return None;
    };
    let frame = CloseFrame {
        code: reason.code(),
        reason: reason.wire_text().into(),
    };
    let _ = tokio::time::timeout(deadline, async {
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    })
    .await;
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_that_falls_behind_is_closed_not_skipped() {
        let outbox = Outbox::new(10);
        outbox.send(Frame::from(vec![0; 6]));
        outbox.send(Frame::from(vec![1; 4]));
        assert_eq!(outbox.queued_bytes(), 10);
        assert_eq!(outbox.ending(), None);
        // The next frame would pass the bound: it is not dropped silently, the connection
        // ends so the device resyncs from the feed, and what was queued is let go.
        outbox.send(Frame::from(vec![2]));
        assert_eq!(outbox.ending(), Some(End::Close(CloseReason::TooSlow)));
        assert!(outbox.queue().messages.is_empty());
    }

    #[test]
    fn a_frame_larger_than_the_bound_is_sent_alone() {
        let outbox = Outbox::new(10);
        outbox.send(Frame::from(vec![0; 25]));
        assert_eq!(outbox.ending(), None);
        assert_eq!(outbox.queued_bytes(), 25);
    }

    #[test]
    fn the_first_end_stands() {
        let outbox = Outbox::new(10);
        outbox.end(End::Close(CloseReason::Removed));
        outbox.end(End::Close(CloseReason::ShuttingDown));
        assert_eq!(outbox.ending(), Some(End::Close(CloseReason::Removed)));
    }

    #[tokio::test]
    async fn a_stuck_send_ends_the_connection_at_the_deadline() {
        let outbox = Outbox::new(1 << 20);
        outbox.send(Frame::from(vec![0; 8]));
        // A sink that never takes anything, like a device that stopped reading.
        let stuck = futures_util::sink::unfold((), |(), _: Message| async {
            std::future::pending::<Result<(), std::io::Error>>().await
        });
        let closed = write(&outbox, Box::pin(stuck), Duration::from_millis(50)).await;
        assert_eq!(closed, Some(CloseReason::TooSlow));
        assert_eq!(outbox.ending(), Some(End::Close(CloseReason::TooSlow)));
    }
}
