//! The HTTP side of the relay: `/sync` (websocket), `/healthz`, `/readyz`, `/metrics`, the bounds on a
//! connection before it authenticates, the members-file watcher and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_server::Handle;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use fieldsync_sync::CloseReason;
use hyper_util::rt::TokioTimer;

use crate::hub::Hub;
use crate::sockets::{CountingAcceptor, Sockets};

/// Bytes read from a socket at a time.
const READ_BUFFER: usize = 8 << 10;

/// The most bytes of an HTTP request's head the relay reads (hyper's least is 8 KiB); a
/// websocket upgrade needs well under 1 KiB.
const REQUEST_HEAD_BYTES: usize = 16 << 10;

/// How often the members file is checked for changes, and idle teams for stopping.
const MEMBERS_POLL: Duration = Duration::from_millis(200);

struct AppState {
    hub: Arc<Hub>,
}

async fn sync(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let hub = state.hub.clone();
    // Small buffers: an idle connection should cost little (the defaults are 128 KiB each);
    // frames are written whole as they are sent.
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(hub.limits.max_frame)
        .max_frame_size(hub.limits.max_frame)
        .on_upgrade(move |socket| crate::connection::serve(socket, peer, hub))
}

/// 200 "ready" when the relay can serve every team; 503 with what is wrong otherwise.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let hub = state.hub.clone();
    let problems = tokio::task::spawn_blocking(move || hub.readiness())
        .await
        .unwrap_or_else(|err| vec![format!("the readiness check failed: {err}")]);
    if problems.is_empty() {
        "ready\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready:\n{}\n", problems.join("\n")),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> String {
    state.hub.metrics.render()
}

/// Serves on `listener` (TLS with `tls`, plain otherwise) until `stop` completes, then closes
/// every connection with a reason, lets the team workers finish what they were handed, and
/// returns.
pub async fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    hub: Arc<Hub>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = Arc::new(AppState { hub: hub.clone() });
    let app = Router::new()
        .route("/sync", get(sync))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    let watcher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MEMBERS_POLL);
            loop {
                tick.tick().await;
                if let Err(err) = hub.reload_members() {
                    tracing::error!(error = %err, "cannot read the members file; keeping the last good one");
                }
                let idle = hub.limits.team_idle;
                let stopping = hub.clone();
                let _ = tokio::task::spawn_blocking(move || stopping.stop_idle_workers(idle)).await;
            }
        })
    };
    let admin = {
        let hub = hub.clone();
        tokio::spawn(async move {
            if let Err(err) = crate::admin::serve(hub.data(), hub.clone()).await {
                tracing::error!(error = %err, "the admin socket stopped; `fieldsync-relay backup` cannot reach this relay");
            }
        })
    };
    let handle: Handle<SocketAddr> = Handle::new();
    let shutdown = {
        let hub = hub.clone();
        let handle = handle.clone();
        async move {
            stop.await;
            tracing::info!("shutting down: closing connections");
            hub.close_all(CloseReason::ShuttingDown);
            handle.graceful_shutdown(Some(Duration::from_secs(2)));
        }
    };
    let stopping = tokio::spawn(shutdown);
    // Before a device has authenticated it gets the hello timeout for each step (the TLS
    // handshake, the HTTP request, then the hello) and 16 KiB for its request's head. Every
    // socket counts against the connection limit from the moment it is accepted.
    let deadline = hub.limits.hello_timeout;
    let mut server = axum_server::from_tcp(listener)?
        .handle(handle)
        .first_request_timeout(deadline);
    server
        .http_builder()
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(deadline)
        .max_buf_size(REQUEST_HEAD_BYTES);
    let sockets = Sockets::new(
        hub.limits.max_connections,
        hub.metrics.sockets.clone(),
        hub.metrics.closes.with_label_values(&["full"]),
    );
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(config) => {
            let tls =
                RustlsAcceptor::new(RustlsConfig::from_config(config)).handshake_timeout(deadline);
            let acceptor = CountingAcceptor::new(tls, sockets);
            server.acceptor(acceptor).serve(service).await?;
        }
        None => {
            let acceptor = CountingAcceptor::new(DefaultAcceptor::new(), sockets);
            server.acceptor(acceptor).serve(service).await?;
        }
    }
    stopping.abort();
    watcher.abort();
    admin.abort();
    let _ = std::fs::remove_file(crate::admin::socket_path(hub.data()));
    // Connections were asked to close; give their tasks a moment to send the close frames.
    let _ = tokio::time::timeout(Duration::from_secs(2), hub.idle()).await;
    let workers = hub.clone();
    tokio::task::spawn_blocking(move || workers.stop_workers()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
