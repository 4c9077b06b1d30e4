//! A relay running inside another program (the demo's), on 127.0.0.1 with a port the system
//! picks, on its own thread and runtime, stopped gracefully when dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use tokio::sync::oneshot;

use crate::config::Limits;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::server;
use crate::team_store::RedbFiles;

/// A running in-process relay.
pub struct EmbeddedRelay {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl EmbeddedRelay {
    /// Starts a relay on the data directory `data`, listening on 127.0.0.1.
    pub fn start(data: &Path) -> anyhow::Result<EmbeddedRelay> {
        fieldsync_store::private::create_dir(data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        let metrics = Metrics::default();
        let files = RedbFiles::new(data, metrics.documents.clone());
        let hub = Arc::new(Hub::new(
            data.to_owned(),
            Limits::default(),
            metrics,
            files,
        )?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("embedded-relay".into())
            .spawn(move || {
                runtime.block_on(server::serve(listener, None, hub, async {
                    let _ = stopped.await;
                }))
            })?;
        Ok(EmbeddedRelay {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The sync address, `ws://127.0.0.1:PORT/sync`.
    pub fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// Stops the relay: closes its connections and waits for its workers to finish.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("the embedded relay panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for EmbeddedRelay {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
