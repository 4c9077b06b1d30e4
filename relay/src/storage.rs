//! The relay's storage as the hub sees it: any engine behind the protocol core's
//! [`TeamStore`] trait, opened team by team through [`TeamFiles`], and reopened after a
//! failure, so a fault that clears (a full disk freed, a volume back) needs no restart.
//!
//! [`Health`] keeps which teams' storage is failing now, for `/readyz` and the metrics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use fieldsync_model::Access;
use fieldsync_sync::message::FeedEntry;
use fieldsync_sync::{NewChanges, TeamStore};

/// A storage failure, as text (each engine says what went wrong in its own words).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StorageError(pub String);

/// What the relay needs of a team's store besides what the protocol does.
pub trait RelayStore: TeamStore<Error = StorageError> + Send {
    /// Writes a consistent copy of the whole store, as of now, to a new file at `to`.
    fn snapshot(&mut self, to: &Path) -> Result<(), StorageError>;
    /// Gives back the space freed inside the store's file; returns its size before and after,
    /// in bytes.
    fn compact(&mut self) -> Result<(u64, u64), StorageError>;
}

/// A team's store, whatever the engine.
pub type BoxedStore = Box<dyn RelayStore>;

/// Opens team stores: the one place a storage engine is chosen.
pub trait TeamFiles: Send + Sync {
    /// Opens the store of team file `file`, which must have been made, with a page cache of
    /// at most `cache_bytes`; a missing or damaged store is an error, never made again empty.
    fn open(&self, file: u32, cache_bytes: usize) -> Result<BoxedStore, StorageError>;
    /// Makes the empty store of a new team's file `file` (nothing if it is there already).
    fn make(&self, file: u32) -> Result<(), StorageError>;
    /// Where team file `file` is, under a data directory (or a backup's).
    fn relative_path(&self, file: u32) -> PathBuf;
}

/// Which teams' storage is failing now, and the metrics that say so.
pub struct Health {
    failing: Mutex<BTreeMap<u32, String>>,
    gauge: prometheus::IntGauge,
    errors: prometheus::IntCounter,
}

impl Health {
    /// Health counted into `gauge` (teams failing) and `errors` (failures seen).
    pub fn new(gauge: prometheus::IntGauge, errors: prometheus::IntCounter) -> Arc<Health> {
        Arc::new(Health {
            failing: Mutex::new(BTreeMap::new()),
            gauge,
            errors,
        })
    }

    fn failing(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, String>> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, file: u32, err: &StorageError) {
        tracing::error!(team_file = file, error = %err, "storage failed; the team's store is reopened on its next request");
        self.errors.inc();
        let mut failing = self.failing();
        failing.insert(file, err.0.clone());
        self.gauge.set(failing.len() as i64);
    }

    fn worked(&self, file: u32) {
        let mut failing = self.failing();
        if failing.remove(&file).is_some() {
            tracing::info!(team_file = file, "storage works again");
            self.gauge.set(failing.len() as i64);
        }
    }

    /// The teams whose storage is failing, each with its last error.
    pub fn report(&self) -> Vec<(u32, String)> {
        self.failing()
            .iter()
            .map(|(file, err)| (*file, err.clone()))
            .collect()
    }
}

/// A team's store that is dropped at its first failure and opened again on the next request:
/// an engine that refuses everything after one I/O error (as redb does) recovers once the
/// fault clears.
pub struct Reopening {
    files: Arc<dyn TeamFiles>,
    file: u32,
    cache_bytes: usize,
    store: Option<BoxedStore>,
    health: Arc<Health>,
}

impl Reopening {
    /// Team file `file`'s store, opened from `files` when first needed.
    pub fn new(
        files: Arc<dyn TeamFiles>,
        file: u32,
        cache_bytes: usize,
        health: Arc<Health>,
    ) -> Reopening {
        Reopening {
            files,
            file,
            cache_bytes,
            store: None,
            health,
        }
    }

    fn with<T>(
        &mut self,
        operation: impl FnOnce(&mut BoxedStore) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let store = match &mut self.store {
            Some(store) => store,
            None => match contained(|| self.files.open(self.file, self.cache_bytes)) {
                Ok(store) => self.store.insert(store),
                Err(err) => {
                    self.health.failed(self.file, &err);
                    return Err(err);
                }
            },
        };
        match contained(|| operation(store)) {
            Ok(done) => {
                self.health.worked(self.file);
                Ok(done)
            }
            Err(err) => {
                // A store that failed (or whose engine panicked) is dropped, and opened again,
                // with every page checked, at the next request.
                if let Some(store) = self.store.take() {
                    let _ = contained(|| {
                        drop(store);
                        Ok(())
                    });
                }
                self.health.failed(self.file, &err);
                Err(err)
            }
        }
    }
}

/// Runs `work`, turning a panic inside the storage engine (a file damaged in a way its checks
/// missed) into an error: the team's worker goes on, and reports the team as failing.
fn contained<T>(work: impl FnOnce() -> Result<T, StorageError>) -> Result<T, StorageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        Err(StorageError(format!(
            "the storage engine failed inside (the file may be damaged): {}",
            fieldsync_store::panic_message(panic.as_ref())
        )))
    })
}

impl TeamStore for Reopening {
    type Error = StorageError;

    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.with(|store| store.load(id))
    }
    fn access(&mut self, id: &str) -> Result<Option<Access>, StorageError> {
        self.with(|store| store.access(id))
    }
    fn commit(
        &mut self,
        changes: &[NewChanges],
        role_changed: &[String],
    ) -> Result<Vec<u64>, StorageError> {
        self.with(|store| store.commit(changes, role_changed))
    }
    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, StorageError> {
        self.with(|store| store.feed(after, limit))
    }
    fn feed_head(&mut self) -> Result<u64, StorageError> {
        self.with(|store| store.feed_head())
    }
    fn role_changed_at(&mut self, member: &str) -> Result<u64, StorageError> {
        self.with(|store| store.role_changed_at(member))
    }
    fn feed_id(&mut self) -> Result<String, StorageError> {
        self.with(|store| store.feed_id())
    }
}

impl RelayStore for Reopening {
    fn snapshot(&mut self, to: &Path) -> Result<(), StorageError> {
        self.with(|store| store.snapshot(to))
    }
    fn compact(&mut self) -> Result<(u64, u64), StorageError> {
        self.with(|store| store.compact())
    }
}
