//! One device's websocket: authentication within the deadline, then frames both ways, pings,
//! and a close with a reason code the device shows its user.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use fieldsync_sync::{CloseReason, accept_hello, welcome};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{MissedTickBehavior, interval, timeout};

use crate::hub::{Connection, Hub};
use crate::members::token_hash;
use crate::throttle::SignIn;

/// Sends a close frame with `reason` and counts it.
async fn close(sink: &mut (impl SinkExt<Message> + Unpin), hub: &Hub, reason: CloseReason) {
    hub.metrics
        .closes
        .with_label_values(&[&format!("{reason:?}").to_lowercase()])
        .inc();
    let frame = CloseFrame {
        code: reason.code(),
        reason: reason.wire_text().into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
    let _ = sink.close().await;
}

/// Serves one upgraded websocket until it closes.
pub async fn serve(socket: WebSocket, peer: SocketAddr, hub: Arc<Hub>) {
    let (mut sink, mut stream) = socket.split();
    let limits = hub.limits.clone();
    // Authentication: the first frame must be a valid hello, small and on time.
    let first = match timeout(limits.hello_timeout, stream.next()).await {
        Ok(Some(Ok(Message::Binary(bytes)))) if bytes.len() <= limits.hello_bytes => bytes,
        Ok(Some(Ok(Message::Binary(bytes)))) => {
            tracing::info!(%peer, bytes = bytes.len(), "refused: hello too large");
            return close(&mut sink, &hub, CloseReason::HelloTimeout).await;
        }
        Ok(Some(Ok(_))) => {
            tracing::info!(%peer, "refused: first frame was not a binary hello");
            return close(&mut sink, &hub, CloseReason::Protocol).await;
        }
        Ok(Some(Err(err))) => return close(&mut sink, &hub, read_error(0, &err)).await,
        Ok(None) => return,
        Err(_) => {
            tracing::info!(%peer, "refused: no hello in time");
            return close(&mut sink, &hub, CloseReason::HelloTimeout).await;
        }
    };
    hub.metrics.bytes_received.inc_by(first.len() as u64);
    let mut file = 0;
    let now = Instant::now();
    let hello = accept_hello(&first, |hello| {
        let who = SignIn {
            addr: peer.ip(),
            team: &hello.team,
            member: &hello.member,
            device: &hello.device,
        };
        if !hub.sign_ins.may_try(&who, now) {
            return Err(CloseReason::Throttled);
        }
        // Decided on the members file as it is now (re-read only if it changed): a member
        // added a moment ago is let in, and one removed a moment ago is refused, before the
        // watcher notices either.
        if let Err(err) = hub.reload_members() {
            tracing::error!(error = %err, "cannot read the members file");
        }
        match hub
            .members()
            .authorize(&hello.team, &hello.member, &token_hash(&hello.token))
        {
            Ok(_) if !hub.sign_ins.succeeded(&who, now) => Err(CloseReason::Throttled),
            Ok(authorized) => {
                file = authorized;
                Ok(())
            }
            Err(reason) => {
                hub.sign_ins.failed(&who, now);
                Err(reason)
            }
        }
    });
    let hello = match hello {
        Ok(hello) => hello,
        Err(reason) => {
            tracing::info!(%peer, ?reason, "refused at hello");
            return close(&mut sink, &hub, reason).await;
        }
    };
    let token_sha256 = token_hash(&hello.token);
    let (connection, mut outbox, head) = match hub
        .join(file, &hello.team, &hello.member, token_sha256)
        .await
    {
        Ok(joined) => joined,
        Err(err) => {
            tracing::error!(%peer, error = %err.to_string().escape_debug(), "cannot serve team");
            return close(&mut sink, &hub, CloseReason::Storage).await;
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
    let welcome = welcome(head);
    hub.metrics.bytes_sent.inc_by(welcome.len() as u64);
    let reason = if sink.send(Message::Binary(welcome.into())).await.is_err() {
        None
    } else {
        exchange(&mut sink, &mut stream, &mut outbox, &connection, file, &hub).await
    };
    hub.leave(file, &connection);
    if let Some(reason) = reason {
        tracing::info!(connection = connection.id, ?reason, "closing");
        close(&mut sink, &hub, reason).await;
    } else {
        tracing::info!(connection = connection.id, "device disconnected");
    }
}

/// Moves frames both ways until the device leaves (`None`) or the relay closes it.
async fn exchange(
    sink: &mut (impl SinkExt<Message> + Unpin),
    stream: &mut (impl StreamExt<Item = Result<Message, axum::Error>> + Unpin),
    outbox: &mut crate::hub::Outbox,
    connection: &Arc<Connection>,
    file: u32,
    hub: &Arc<Hub>,
) -> Option<CloseReason> {
    let limits = &hub.limits;
    let mut pings = interval(limits.ping_interval);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    pings.tick().await;
    let mut last_heard = Instant::now();
    loop {
        if let Some(reason) = *outbox.close.borrow() {
            return Some(reason);
        }
        tokio::select! {
            biased;
            _ = outbox.close.changed() => {}
            frame = outbox.frames.recv() => {
                if sink.send(Message::Binary(frame?)).await.is_err() {
                    return None;
                }
            }
            message = stream.next() => {
                last_heard = Instant::now();
                match message {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(Message::Binary(bytes))) => {
                        hub.metrics.bytes_received.inc_by(bytes.len() as u64);
                        hub.frame(file, connection, bytes.to_vec()).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(_))) => return Some(CloseReason::Protocol),
                    Some(Err(err)) => return Some(read_error(connection.id, &err)),
                }
            }
            _ = pings.tick() => {
                if last_heard.elapsed() > limits.ping_timeout {
                    return Some(CloseReason::Heartbeat);
                }
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return None;
                }
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
