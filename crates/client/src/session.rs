//! One websocket connection to the relay, driving a [`DeviceSession`] until it has synced
//! (or, when watching, until the connection ends).
//!
//! When watching, the store is opened only to handle a frame or to look for local changes and
//! closed right after, so the device's other commands can write in between.

use std::time::Duration;

use anyhow::Context as _;
use fieldsync_store::{Remote, Store};
use fieldsync_sync::{CloseReason, DeviceSession, DeviceStats, Hello, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, interval, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::clock::ClockSkew;
use crate::replica::Replica;

/// Largest frame accepted from the relay (its answers are split well below this).
const MAX_FRAME: usize = 64 << 20;
/// How long to wait for the relay to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A relay silent this long is taken as gone (it pings every 15 s by default).
const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// How often a watching device looks for local changes to push.
const LOCAL_POLL: Duration = Duration::from_millis(500);

/// How a session ended badly.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The relay refused or closed the connection, with its reason.
    #[error("the relay closed the connection: {}", .0.explain())]
    Refused(CloseReason),
    /// The member was removed from the team, and this device wiped the team's data.
    #[error(
        "{member} has been removed from team '{team}': this device removed the team's {} and the team document, and forgot the relay; ask your manager if that is a mistake",
        fieldsync_model::plural::counted(wiped.leads as u64, "lead")
    )]
    Removed {
        /// The member.
        member: String,
        /// The team.
        team: String,
        /// What was removed.
        wiped: fieldsync_store::Wiped,
    },
    /// The relay closed with a code this version does not know.
    #[error("the relay closed the connection (code {code}: {reason})")]
    Closed {
        /// The close code.
        code: u16,
        /// The relay's reason text.
        reason: String,
    },
    /// The network failed; trying again later may work.
    #[error("{0}")]
    Network(String),
    /// The relay's TLS certificate is not trusted, or the handshake failed.
    #[error("{0}")]
    Tls(String),
    /// This device's store or the protocol failed.
    #[error(transparent)]
    Local(#[from] anyhow::Error),
}

impl SessionError {
    /// Whether trying again cannot help until someone changes something.
    pub fn is_final(&self) -> bool {
        match self {
            SessionError::Refused(reason) => matches!(
                reason,
                CloseReason::Unauthorized
                    | CloseReason::Removed
                    | CloseReason::Version
                    | CloseReason::Protocol
                    | CloseReason::Forbidden
                    | CloseReason::NotManager
                    | CloseReason::DocumentTooLarge
            ),
            SessionError::Removed { .. } | SessionError::Tls(_) => true,
            SessionError::Closed { .. } | SessionError::Network(_) => false,
            // Another command holding the store past the lock wait is passing: try again.
            SessionError::Local(err) => !err.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<fieldsync_store::OpenError>(),
                    Some(fieldsync_store::OpenError::Locked(_))
                ) || matches!(
                    cause.downcast_ref::<fieldsync_store::StoreError>(),
                    Some(fieldsync_store::StoreError::Open(
                        fieldsync_store::OpenError::Locked(_)
                    ))
                )
            }),
        }
    }
}

/// What happened, for progress and watch output.
pub enum Event<'a> {
    /// The relay accepted the connection; with how far this device's clock is from the
    /// relay's, when that is too far.
    Connected(Option<ClockSkew>),
    /// A frame was handled; the counts so far.
    Progress(&'a DeviceStats, usize),
}

/// Where the store comes from, and whether to keep it open between frames.
pub struct StoreSlot<'a> {
    open: &'a dyn Fn() -> anyhow::Result<Store>,
    store: Option<Store>,
    keep_open: bool,
}

impl<'a> StoreSlot<'a> {
    /// A slot that opens stores with `open`; `keep_open` holds the store for the whole session.
    pub fn new(open: &'a dyn Fn() -> anyhow::Result<Store>, keep_open: bool) -> Self {
        StoreSlot {
            open,
            store: None,
            keep_open,
        }
    }

    fn get(&mut self) -> anyhow::Result<&mut Store> {
        if self.store.is_none() {
            self.store = Some((self.open)()?);
        }
        self.store
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the store is not open"))
    }

    fn release(&mut self) {
        if !self.keep_open {
            self.store = None;
        }
    }
}

/// Checks a relay address before it is stored or dialled.
pub fn check_url(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"));
    let problem = match rest {
        None => Some(
            "it must start with wss:// (or ws:// behind a TLS-terminating proxy or on a trusted network), like wss://relay.example.com/sync",
        ),
        Some(rest) if rest.split('/').next().is_none_or(str::is_empty) => {
            Some("it has no host, like wss://relay.example.com/sync")
        }
        Some(_) => None,
    };
    match problem {
        Some(problem) => {
            Err(fieldsync_model::ValidationError::new("url", format!("'{url}': {problem}")).into())
        }
        None => Ok(()),
    }
}

fn network(err: impl std::fmt::Display) -> SessionError {
    SessionError::Network(err.to_string())
}

/// What a failed websocket handshake says: the relay's own words when it answered with an
/// HTTP refusal ("at its connection limit"), the error otherwise.
fn http_refusal(err: &tokio_tungstenite::tungstenite::Error) -> String {
    if let tokio_tungstenite::tungstenite::Error::Http(response) = err
        && let Some(text) = response
            .body()
            .as_deref()
            .and_then(|body| std::str::from_utf8(body).ok())
            .map(str::trim)
            .filter(|text| !text.is_empty())
    {
        return format!("{text} (HTTP {})", response.status().as_u16());
    }
    err.to_string()
}

fn close_error(code: CloseCode, reason: &str) -> Option<SessionError> {
    let code = u16::from(code);
    if code == 1000 {
        return None;
    }
    Some(match CloseReason::from_code(code) {
        Some(reason) => SessionError::Refused(reason),
        None => SessionError::Closed {
            code,
            reason: reason.to_owned(),
        },
    })
}

/// Connects to the relay and syncs: until synced, or, watching (`watch` is `Some`), until the
/// connection ends. A watching session looks for changes made on the device every
/// [`LOCAL_POLL`], and at once when `watch`'s notify is woken (the app wakes it as it writes).
/// Returns what was done.
pub async fn run(
    remote: &Remote,
    me: &str,
    device: &str,
    slot: &mut StoreSlot<'_>,
    watch: Option<&tokio::sync::Notify>,
    removing: Vec<String>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(DeviceStats, usize), SessionError> {
    let (since, ticket) = {
        let store = slot.get()?;
        (
            store.since().map_err(anyhow::Error::from)?,
            store.sign_in_ticket().map_err(anyhow::Error::from)?,
        )
    };
    slot.release();
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let connector = crate::tls::connector(remote.ca_pem.as_deref())?;
    let (mut socket, _) = timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_tls_with_config(
            remote.url.as_str(),
            Some(config),
            true,
            Some(connector),
        ),
    )
    .await
    .map_err(|_| {
        network(format!(
            "no answer from {} within {CONNECT_TIMEOUT:?}",
            remote.url
        ))
    })?
    .map_err(|err| match crate::tls::explain(&err) {
        Some(why) => SessionError::Tls(format!("{}: {why}", remote.url)),
        None => network(format!(
            "cannot reach {}: {}",
            remote.url,
            http_refusal(&err)
        )),
    })?;
    let mut session = DeviceSession::new(
        Hello {
            version: PROTOCOL_VERSION,
            team: remote.team.clone(),
            member: me.to_owned(),
            device: device.to_owned(),
            token: remote.token.clone(),
            ticket,
        },
        since,
    )
    .removing(removing);
    socket
        .send(Message::Binary(session.start().into()))
        .await
        .map_err(network)?;
    let mut merged = 0;
    let mut poll = interval(LOCAL_POLL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut welcomed = false;
    loop {
        let deadline = last_heard + SILENCE_LIMIT;
        let outgoing = tokio::select! {
            message = socket.next() => {
                last_heard = Instant::now();
                let frame = match message {
                    None => return Err(network("the relay closed the connection")),
                    Some(Err(err)) => return Err(network(err)),
                    Some(Ok(Message::Binary(frame))) => frame,
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (f.code, f.reason.to_string()))
                            .unwrap_or((CloseCode::Normal, String::new()));
                        return match close_error(code, &reason) {
                            Some(SessionError::Refused(CloseReason::Removed)) => {
                                let wiped = slot.get()?.wipe_team().map_err(anyhow::Error::from)?;
                                Err(SessionError::Removed {
                                    member: me.to_owned(),
                                    team: remote.team.clone(),
                                    wiped,
                                })
                            }
                            Some(err) => Err(err),
                            None => Err(network("the relay closed the connection")),
                        };
                    }
                    Some(Ok(_)) => continue,
                };
                let store = slot.get()?;
                let mut replica = Replica { store, merged: 0 };
                let frames = session
                    .receive(&frame, &mut replica)
                    .context("sync failed")?;
                merged += replica.merged;
                if !welcomed {
                    welcomed = true;
                    let stats = session.stats();
                    replica
                        .store
                        .keep_sign_in_ticket(&stats.ticket)
                        .map_err(anyhow::Error::from)?;
                    on_event(Event::Connected(ClockSkew::measure(
                        stats.relay_time_ms,
                        chrono::Utc::now(),
                    )));
                }
                on_event(Event::Progress(session.stats(), merged));
                frames
            }
            _ = async {
                tokio::select! {
                    _ = poll.tick() => {}
                    () = async { if let Some(nudge) = watch { nudge.notified().await } } => {}
                }
            }, if watch.is_some() && welcomed => {
                let store = slot.get()?;
                if store.unpushed_count().map_err(anyhow::Error::from)? > 0 {
                    session
                        .push_local(&mut Replica { store, merged: 0 })
                        .context("sync failed")?
                } else {
                    Vec::new()
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                return Err(network(format!("the relay sent nothing for {SILENCE_LIMIT:?}")));
            }
        };
        slot.release();
        for frame in outgoing {
            socket
                .send(Message::Binary(frame.into()))
                .await
                .map_err(network)?;
        }
        if watch.is_none() && session.is_synced() {
            let _ = socket.close(None).await;
            return Ok((session.stats().clone(), merged));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_store_is_retried_other_local_failures_are_final() {
        let locked = fieldsync_store::OpenError::Locked("store.redb".into());
        assert!(
            !SessionError::Local(anyhow::Error::from(locked).context("sync failed")).is_final()
        );
        assert!(SessionError::Local(anyhow::anyhow!("corrupt row")).is_final());
        assert!(SessionError::Refused(CloseReason::Removed).is_final());
        assert!(!SessionError::Refused(CloseReason::ShuttingDown).is_final());
    }
}
