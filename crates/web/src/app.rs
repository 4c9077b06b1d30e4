//! The app's shared state: where the store is and how to open it, the launch secret, what the
//! sync loop last reported, and the signal that tells open pages to refresh.
//!
//! The store is opened for each request and closed after it, never held: the sync loop and the
//! command line use the same file between the app's requests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use fieldsync_store::{Store, StoreOptions};
use tokio::sync::broadcast;

use crate::error::AppError;

/// What the sync loop last reported, for the header.
#[derive(Clone, Debug, Default)]
pub struct SyncStatus {
    /// Whether the device has a relay to sync with (`fieldsync join`).
    pub joined: bool,
    /// Whether a session with the relay is open now.
    pub online: bool,
    /// When the relay last acknowledged or sent something.
    pub last_sync: Option<DateTime<Utc>>,
    /// Why the last attempt failed, while offline.
    pub problem: Option<String>,
    /// How far this device's clock was from the relay's at the last connection, if too far.
    pub clock: Option<fieldsync_client::clock::ClockSkew>,
    /// Set when the relay refused this device for good (removed, revoked): what happened and
    /// what to do. The loop has stopped.
    pub refused: Option<String>,
}

/// Why open pages should refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Something changed in the store (here, or arriving from the team).
    Changed,
    /// Only the sync status changed.
    Status,
}

/// Everything the handlers share.
pub struct App {
    store_path: PathBuf,
    options: StoreOptions,
    /// The per-launch secret, in the printed address and then a cookie.
    pub secret: String,
    /// The port it serves on, for the Host and Origin checks.
    pub port: u16,
    status: Mutex<SyncStatus>,
    signal: broadcast::Sender<Signal>,
    /// Woken after each write, so the sync loop pushes it at once.
    pub wrote: tokio::sync::Notify,
}

impl App {
    /// The app over the store at `store_path`, serving on `port`, with a fresh secret.
    pub fn new(store_path: PathBuf, options: StoreOptions, port: u16) -> Arc<App> {
        let secret: [u8; 24] = rand::random();
        Arc::new(App {
            store_path,
            options,
            secret: hex::encode(secret),
            port,
            status: Mutex::new(SyncStatus::default()),
            signal: broadcast::channel(64).0,
            wrote: tokio::sync::Notify::new(),
        })
    }

    /// The address to open, secret included.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?key={}", self.port, self.secret)
    }

    /// Opens the store (waiting a little for another process to release it).
    pub fn open(&self) -> Result<Store, AppError> {
        Ok(Store::open(&self.store_path, self.options.clone())?)
    }

    /// Runs `work` on the store off the async threads.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&app.open()?)).await?
    }

    /// Runs `work` on the store for writing, then tells open pages.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Store) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let app = Arc::clone(self);
        let done = tokio::task::spawn_blocking(move || work(&mut app.open()?)).await??;
        self.wrote.notify_one();
        self.notify(Signal::Changed);
        Ok(done)
    }

    /// The sync status now.
    pub fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .map(|status| status.clone())
            .unwrap_or_default()
    }

    /// Changes the sync status and tells open pages.
    pub fn set_status(&self, change: impl FnOnce(&mut SyncStatus)) {
        if let Ok(mut status) = self.status.lock() {
            change(&mut status);
        }
        self.notify(Signal::Status);
    }

    /// Tells every open page.
    pub fn notify(&self, signal: Signal) {
        // No page open is no one to tell.
        let _ = self.signal.send(signal);
    }

    /// A receiver of every later signal.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.signal.subscribe()
    }
}
