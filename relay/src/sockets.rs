//! Every socket the relay accepts, counted from the moment it is accepted, before TLS, HTTP or
//! authentication: one that would pass the connection limit is refused at once with a plain
//! answer ("503: at the connection limit"), so a flood of half-open or unauthenticated
//! sockets is shed instead of starving the file descriptors that devices and the team files
//! need. Each socket sends without delay (no Nagle). The relay also raises its own
//! file-descriptor limit as far as the system lets it, and keeps the connection limit below it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// File descriptors kept for what is not a connection: team files, the members file, logs.
pub const FD_RESERVE: u64 = 256;

/// What a socket over the limit is told before it is closed.
const AT_LIMIT: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nRetry-After: 30\r\nContent-Length: 55\r\n\r\nthe relay is at its connection limit; sync again later\n";

/// The count of open sockets.
pub struct Sockets {
    open: AtomicUsize,
    limit: usize,
    gauge: prometheus::IntGauge,
    refused: prometheus::IntCounter,
}

impl Sockets {
    /// Counts into `gauge`, refusing (and counting into `refused`) past `limit`.
    pub fn new(
        limit: usize,
        gauge: prometheus::IntGauge,
        refused: prometheus::IntCounter,
    ) -> Arc<Sockets> {
        Arc::new(Sockets {
            open: AtomicUsize::new(0),
            limit,
            gauge,
            refused,
        })
    }

    /// Counts a socket just accepted; its guard uncounts it when dropped. Returns whether it
    /// is within the limit too.
    fn open(self: &Arc<Self>) -> (SocketGuard, bool) {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.gauge.inc();
        (SocketGuard(self.clone()), open <= self.limit)
    }
}

/// One counted socket.
pub struct SocketGuard(Arc<Sockets>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
        self.0.gauge.dec();
    }
}

/// An acceptor that counts every socket before `inner` (plain or TLS) sees it.
#[derive(Clone)]
pub struct CountingAcceptor<A> {
    inner: A,
    sockets: Arc<Sockets>,
}

impl<A> CountingAcceptor<A> {
    /// Counts sockets into `sockets`, then hands them to `inner`.
    pub fn new(inner: A, sockets: Arc<Sockets>) -> Self {
        CountingAcceptor { inner, sockets }
    }
}

impl<A, S> Accept<TcpStream, S> for CountingAcceptor<A>
where
    A: Accept<TcpStream, S>,
    A::Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    A::Service: Send + 'static,
    A::Future: Send + 'static,
{
    type Stream = Counted<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<'static, io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let (guard, within) = self.sockets.open();
        // Frames are written whole and answered at once: an acknowledgement or an update
        // waiting for Nagle's algorithm would wait for the device's next packet (measured: a
        // push's acknowledgement held up to the next push, 12-25 ms at 400-800 pushes a second).
        let _ = stream.set_nodelay(true);
        let refused = self.sockets.refused.clone();
        let accepted = self.inner.accept(stream, service);
        Box::pin(async move {
            let (mut stream, service) = accepted.await?;
            if !within {
                refused.inc();
                let _ = stream.write_all(AT_LIMIT).await;
                let _ = stream.shutdown().await;
                return Err(io::Error::other("at the connection limit"));
            }
            Ok((
                Counted {
                    stream,
                    _guard: guard,
                },
                service,
            ))
        })
    }
}

/// A stream that is counted while it is open.
pub struct Counted<T> {
    stream: T,
    _guard: SocketGuard,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Raises this process's soft limit on open files to its hard limit; returns the soft limit
/// in force afterwards (`None` where there is no such limit).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if let Err(err) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(error = %err, "cannot raise the open-file limit");
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    None
}

/// The connection limit that fits `fd_limit` open files (the files kept aside), or `wanted`
/// if that fits.
pub fn fitting_limit(wanted: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(fds) => {
            let room = usize::try_from(fds.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
            wanted.min(room.max(1))
        }
        None => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_stays_below_the_open_file_limit() {
        assert_eq!(
            fitting_limit(20_000, Some(1024)),
            1024 - FD_RESERVE as usize
        );
        assert_eq!(fitting_limit(500, Some(1_048_576)), 500);
        assert_eq!(fitting_limit(500, None), 500);
        assert_eq!(fitting_limit(500, Some(10)), 1);
    }

    #[test]
    fn the_refusal_says_what_it_says() {
        let text = std::str::from_utf8(AT_LIMIT).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn every_socket_is_counted_until_it_closes() {
        let gauge = prometheus::IntGauge::new("sockets", "test").unwrap();
        let refused = prometheus::IntCounter::new("refused", "test").unwrap();
        let sockets = Sockets::new(2, gauge.clone(), refused);
        let (a, within_a) = sockets.open();
        let (b, within_b) = sockets.open();
        let (c, within_c) = sockets.open();
        assert!(within_a && within_b && !within_c);
        assert_eq!(gauge.get(), 3);
        drop((a, c));
        let (_d, within_d) = sockets.open();
        assert!(within_d);
        drop(b);
        assert_eq!(gauge.get(), 1);
    }
}
