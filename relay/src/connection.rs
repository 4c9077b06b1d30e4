//! One device's websocket: authentication within the deadline, then frames both ways, pings,
//! and a close with a reason code the device shows its user.
//!
//! The connection's reader (this task) reads the device's frames, hands them to the team's
//! worker one at a time, keeps the heartbeat and paces long answers: the next step of an
//! answer is asked for only once the device has read most of the last one. Its writer (a task
//! of its own, see [`crate::outbox`]) sends what is queued, so a device that stops reading
//! holds up nothing but itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket};
use fieldsync_sync::relay::Continuation;
use fieldsync_sync::{CloseReason, accept_hello, welcome};
use futures_util::StreamExt;
use tokio::time::{MissedTickBehavior, interval, timeout};

use crate::hub::{Connection, Hub};
use crate::members::token_hash;
use crate::outbox::{self, End, Frame, Outbox};
use crate::throttle::SignIn;

/// Serves one upgraded websocket until it closes.
pub async fn serve(socket: WebSocket, peer: SocketAddr, hub: Arc<Hub>) {
    let (sink, mut stream) = socket.split();
    let limits = hub.limits.clone();
    let outbox = Arc::new(Outbox::new(limits.send_queue_bytes));
    let writer = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox::write(&outbox, sink, limits.send_timeout).await }
    });
    let end = match authenticate(&mut stream, peer, &hub).await {
        Ok((hello, file, ticket)) => {
            serve_member(&mut stream, peer, &hub, &outbox, hello, file, ticket).await
        }
        Err(end) => end,
    };
    outbox.end(end);
    if let Some(End::Close(reason)) = outbox.ending() {
        hub.metrics
            .closes
            .with_label_values(&[&format!("{reason:?}").to_lowercase()])
            .inc();
    }
    // The writer sends the close frame once the frame in flight is through, if the device
    // takes them in time; otherwise the socket is dropped.
    let abort = writer.abort_handle();
    if timeout(limits.send_timeout * 2, writer).await.is_err() {
        abort.abort();
    }
}

/// Reads the device's hello, small and on time, and checks who it is; returns the hello, the
/// team's file number and the device's next sign-in ticket.
async fn authenticate(
    stream: &mut (impl StreamExt<Item = Result<Message, axum::Error>> + Unpin),
    peer: SocketAddr,
    hub: &Hub,
) -> Result<(fieldsync_sync::Hello, u32, String), End> {
    let limits = &hub.limits;
    let refuse = |reason: CloseReason| Err(End::Close(reason));
    let first = match timeout(limits.hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Binary(bytes)))) if bytes.len() <= limits.hello_bytes => bytes,
        Ok(Some(Ok(Message::Binary(bytes)))) => {
            tracing::info!(%peer, bytes = bytes.len(), "refused: hello too large");
            return refuse(CloseReason::HelloTimeout);
        }
        Ok(Some(Ok(_))) => {
            tracing::info!(%peer, "refused: first frame was not a binary hello");
            return refuse(CloseReason::Protocol);
        }
        Ok(Some(Err(err))) => return refuse(read_error(0, &err)),
        Ok(None) => return Err(End::Gone),
        Err(_) => {
            tracing::info!(%peer, "refused: no hello in time");
            return refuse(CloseReason::HelloTimeout);
        }
    };
    hub.metrics.bytes_received.inc_by(first.len() as u64);
    let mut file = 0;
    let now = Instant::now();
    let mut ticket = String::new();
    let hello = accept_hello(&first, |hello| {
        // Decided on the members file as it is now (re-read only if it changed): a member
        // added a moment ago is let in, and one removed a moment ago is refused, before the
        // watcher notices either.
        // A members file that cannot be read (gone, damaged) decides no one's fate: the device is
        // told to sync later, not that its token is wrong.
        if let Err(err) = hub.reload_members() {
            tracing::error!(error = %format!("{err:#}"), "cannot read the members file: sign-ins wait for it");
            return Err(CloseReason::Storage);
        }
        let members = hub.members();
        let who = SignIn {
            addr: peer.ip(),
            team: &hello.team,
            member: &hello.member,
            on_roster: members.role(&hello.team, &hello.member).is_some(),
            device: &hello.device,
            ticket: &hello.ticket,
        };
        if !hub.sign_ins.may_try(&who, now) {
            return Err(CloseReason::Throttled);
        }
        let decided = match members.authorize(&hello.team, &hello.member, &token_hash(&hello.token))
        {
            Ok(_) if !hub.sign_ins.succeeded(&who, now) => Err(CloseReason::Throttled),
            Ok(authorized) => {
                file = authorized;
                ticket = hub.sign_ins.ticket(&who);
                Ok(())
            }
            Err(reason) => {
                hub.sign_ins.failed(&who, now);
                Err(reason)
            }
        };
        let (failed, succeeded) = hub.sign_ins.kept();
        hub.metrics
            .sign_in_windows
            .set(i64::try_from(failed + succeeded).unwrap_or(i64::MAX));
        decided
    });
    match hello {
        Ok(hello) => Ok((hello, file, ticket)),
        Err(reason) => {
            tracing::info!(%peer, ?reason, "refused at hello");
            refuse(reason)
        }
    }
}

/// Serves an authenticated device of team file `file` until the connection ends.
async fn serve_member(
    stream: &mut (impl StreamExt<Item = Result<Message, axum::Error>> + Unpin),
    peer: SocketAddr,
    hub: &Arc<Hub>,
    outbox: &Arc<Outbox>,
    hello: fieldsync_sync::Hello,
    file: u32,
    ticket: String,
) -> End {
    let token_sha256 = token_hash(&hello.token);
    let (connection, (feed, head)) = match hub
        .join(
            file,
            &hello.team,
            &hello.member,
            token_sha256,
            outbox.clone(),
        )
        .await
    {
        Ok(joined) => joined,
        Err(err) => {
            tracing::error!(%peer, error = %err.to_string().escape_debug(), "cannot serve team");
            return End::Close(CloseReason::Storage);
        }
    };
    tracing::info!(
        connection = connection.id,
        %peer,
        // What a device sends is logged escaped (Debug): a newline in a name cannot forge a
        // log line.
        team = ?hello.team,
        member = ?hello.member,
        device = ?hello.device,
        "authenticated"
    );
    let welcome = Frame::from(welcome(
        feed,
        head,
        ticket,
        chrono::Utc::now().timestamp_millis(),
    ));
    hub.metrics.bytes_sent.inc_by(welcome.len() as u64);
    outbox.send(welcome);
    let end = exchange(stream, outbox, &connection, file, hub).await;
    hub.leave(file, &connection);
    match end {
        End::Close(reason) => tracing::info!(connection = connection.id, ?reason, "closing"),
        End::Gone => tracing::info!(connection = connection.id, "device disconnected"),
    }
    end
}

/// Moves frames both ways until the connection ends.
async fn exchange(
    stream: &mut (impl StreamExt<Item = Result<Message, axum::Error>> + Unpin),
    outbox: &Outbox,
    connection: &Arc<Connection>,
    file: u32,
    hub: &Arc<Hub>,
) -> End {
    let limits = &hub.limits;
    // The next step of a long answer is asked for once the device has this little left to
    // read: enough that its link never idles, little enough that the queue stays far below
    // its bound.
    let resume_at = limits.send_queue_bytes / 4;
    let mut pings = interval(limits.ping_interval);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    pings.tick().await;
    let mut last_heard = Instant::now();
    let mut more: Option<Continuation> = None;
    loop {
        // While an answer is being paced, or the device has much left to read, its next
        // request waits (unread, in the socket).
        let pacing = more.is_some() || outbox.queued_bytes() > resume_at;
        tokio::select! {
            biased;
            end = outbox.ended() => return end,
            () = outbox.sent(), if pacing => {
                // The device is taking frames: it is alive even if its pongs wait unread.
                last_heard = Instant::now();
                if outbox.queued_bytes() <= resume_at
                    && let Some(next) = more.take()
                {
                    more = hub.resume(file, connection, next).await;
                }
            }
            message = stream.next(), if !pacing => {
                last_heard = Instant::now();
                match message {
                    None | Some(Ok(Message::Close(_))) => return End::Gone,
                    Some(Ok(Message::Binary(bytes))) => {
                        hub.metrics.bytes_received.inc_by(bytes.len() as u64);
                        more = hub.frame(file, connection, bytes.to_vec()).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(_))) => return End::Close(CloseReason::Protocol),
                    Some(Err(err)) => return End::Close(read_error(connection.id, &err)),
                }
            }
            _ = pings.tick() => {
                if last_heard.elapsed() > limits.ping_timeout {
                    return End::Close(CloseReason::Heartbeat);
                }
                outbox.ping();
            }
        }
    }
}

/// The close reason for a frame the websocket layer could not read.
fn read_error(connection: u64, err: &axum::Error) -> CloseReason {
    let text = err.to_string();
    tracing::info!(connection, error = %text, "unreadable frame");
    if text.contains("too long") || text.contains("Space limit") {
        CloseReason::FrameTooLarge
    } else {
        CloseReason::Protocol
    }
}
