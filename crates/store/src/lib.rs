//! fieldsync's device store: one redb file holding every lead's Automerge document, the
//! incremental changes not yet folded into it, a projection row per lead, and metadata.
//!
//! Every user action is one write transaction covering the document change and its row, so a
//! crash leaves the old state or the new one. A refused action writes nothing at all: the file
//! is opened read-only until a checked change is ready to commit ([`handle`] says why).
//! Rows are derived data and are rebuilt from the documents when their layout changes.
//!
//! - [`tables`]: the table definitions and metadata keys.
//! - [`handle`]: opening the file read-only or for writing, waiting on other processes.
//! - [`leads`]: creating, changing, loading and listing leads.
//! - [`maintenance`]: compaction, row rebuilds and statistics.
//! - [`staged`]: large writes committed in stages, undone as a whole.
//! - [`team`]: the team document: the pipeline in force and the members.
//! - [`sync`]: the relay joined, the feed position, unpushed leads, merging the relay's changes.
//! - [`quarantine`]: documents from the relay this device could not read, set aside.
//! - [`revoke`]: dropping leads the member no longer sees, and wiping a team on removal.
//! - `packing`: documents at rest packed with a dictionary trained by `compact`.
//! - [`private`]: the store's file and folder readable by their owner only.
//! - [`salvage`]: `repair`, a damaged store rebuilt from what still reads.
//! - [`panics`]: what a panic of the storage engine said, for those who contain it.
//!
//! ```
//! use fieldsync_store::{Store, StoreOptions};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("store.redb");
//! let store = Store::init(&path, "alice", fieldsync_model::templates::b2b(), StoreOptions::default()).unwrap();
//! assert_eq!(store.me(), "alice");
//! assert!(store.rows().unwrap().is_empty());
//! ```

mod error;
mod handle;
pub mod handover;
pub mod leads;
pub mod maintenance;
mod numbers;
mod packing;
pub mod panics;
pub mod private;
pub mod quarantine;
mod replace;
pub mod revoke;
mod rewrite;
pub mod salvage;
mod staged;
pub mod sync;
pub mod tables;
pub mod team;

use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::ActorId;
use chrono::{DateTime, Utc};
use fieldsync_model::Pipeline;
use fieldsync_model::row::ROW_VERSION;
use redb::{Database, ReadableTable, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::{LookupError, OpenError, StoreError};
pub use handover::HandoverPlan;
pub use leads::{BUILD_BATCH, LeadBatch, Updated};
pub use maintenance::StoreStats;
pub use panics::panic_message;
pub use quarantine::SetAside;
pub use revoke::Wiped;
pub use rewrite::copy_table;
pub use salvage::{RepairError, Repaired};
pub use sync::{Merged, Outgoing, Remote};

use handle::Handle;
use tables::{META, STORE_SCHEMA, meta_key};

/// How a store is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long to wait for another process to release the file before failing as locked.
    pub lock_wait: Duration,
    /// Leads a large write commits at a time ([`Store::write_batch`]): memory holds the
    /// bookkeeping of one stage, and the write stays all or nothing.
    pub stage_leads: usize,
}

/// Leads per stage of a large write: redb's record of a stage's pages stays near 1 MB.
pub const STAGE_LEADS: usize = 20_000;

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(3),
            stage_leads: STAGE_LEADS,
        }
    }
}

/// Who this device is and how its team works.
#[derive(Clone, Debug)]
struct Meta {
    actor: ActorId,
    me: String,
    pipeline: Pipeline,
}

/// A device's store.
pub struct Store {
    path: PathBuf,
    options: StoreOptions,
    handle: Option<Handle>,
    meta: Meta,
    /// When the unfinished write undone on opening had begun.
    undone: Option<DateTime<Utc>>,
}

/// What the store holds, as a warning about who can read it says.
const HOLDS: &str = "customers' details and this device's relay token";

fn encode_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn decode_json<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|err| StoreError::Corrupt(format!("metadata '{key}': {err}")))
}

/// Writes a metadata value as it was read, bytes unchanged.
fn put_raw_meta(txn: &WriteTransaction, key: &str, value: &[u8]) -> Result<(), StoreError> {
    txn.open_table(META)?.insert(key, value)?;
    Ok(())
}

fn put_meta<T: Serialize>(txn: &WriteTransaction, key: &str, value: &T) -> Result<(), StoreError> {
    let mut table = txn.open_table(META)?;
    table.insert(key, encode_json(value)?.as_slice())?;
    Ok(())
}

impl Store {
    /// Makes a new store at `path` for member `me` with `pipeline`.
    pub fn init(
        path: &Path,
        me: &str,
        pipeline: Pipeline,
        options: StoreOptions,
    ) -> Result<Store, OpenError> {
        Store::init_as(path, me, pipeline, ActorId::random(), options)
    }

    /// [`Store::init`] for a device that keeps its Automerge actor `actor` (a repaired store).
    pub(crate) fn init_as(
        path: &Path,
        me: &str,
        pipeline: Pipeline,
        actor: ActorId,
        options: StoreOptions,
    ) -> Result<Store, OpenError> {
        // The store is made under a temporary name and renamed into place once its metadata is
        // committed, so an interrupted init never leaves a file that looks like a store.
        if path.exists() {
            return Err(OpenError::AlreadyExists(path.to_owned()));
        }
        let partial = path.with_extension("redb.partial");
        let _ = std::fs::remove_file(&partial);
        let db = handle::create(&partial)?;
        let unusable = |err: StoreError| OpenError::Unusable {
            path: path.to_owned(),
            detail: err.to_string(),
        };
        let write = || -> Result<(), StoreError> {
            let txn = db.begin_write()?;
            put_meta(&txn, meta_key::SCHEMA, &STORE_SCHEMA)?;
            put_meta(&txn, meta_key::ROW_VERSION, &ROW_VERSION)?;
            put_meta(&txn, meta_key::ACTOR, &actor.to_hex_string())?;
            put_meta(&txn, meta_key::ME, &me)?;
            put_meta(&txn, meta_key::PIPELINE, &pipeline)?;
            put_meta(&txn, meta_key::CREATED_AT, &Utc::now())?;
            txn.open_table(tables::DOCS)?;
            txn.open_table(tables::DOC_KEYS)?;
            txn.open_table(tables::CHANGES)?;
            txn.open_table(tables::ROWS)?;
            txn.open_table(tables::HEADS)?;
            txn.open_table(tables::ACKED)?;
            txn.open_table(tables::UNPUSHED)?;
            txn.open_table(tables::DICTIONARIES)?;
            txn.commit()?;
            Ok(())
        };
        let written = write();
        drop(db);
        if let Err(err) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(unusable(err));
        }
        std::fs::rename(&partial, path).map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })?;
        let db = handle::open_write(path, options.lock_wait)?;
        Ok(Store {
            path: path.to_owned(),
            options,
            handle: Some(Handle::Write(db)),
            meta: Meta {
                actor,
                me: me.to_owned(),
                pipeline,
            },
            undone: None,
        })
    }

    /// Opens a store read-only for [`Store::repair`], as far as it reads: no upgrade, no undo
    /// of an unfinished write, each step contained; `Err` says which step failed.
    pub(crate) fn open_damaged(path: &Path, options: StoreOptions) -> Result<Store, String> {
        let contained = |step: &str, err: Box<dyn std::any::Any + Send>| {
            format!(
                "{step}: the storage engine stopped ({})",
                panic_message(err.as_ref())
            )
        };
        let read = std::panic::AssertUnwindSafe(|| handle::open_read(path, options.lock_wait));
        let db = std::panic::catch_unwind(read)
            .map_err(|err| contained("opening it", err))?
            .map_err(|err| err.to_string())?;
        let handle = Handle::Read(db);
        let meta =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_meta(path, &handle)))
                .map_err(|err| contained("reading who this device is", err))?
                .map_err(|err| match err {
                    MetaError::Open(err) => err.to_string(),
                    MetaError::Store(err) => err.to_string(),
                })?
                .0;
        Ok(Store {
            path: path.to_owned(),
            options,
            handle: Some(handle),
            meta,
            undone: None,
        })
    }

    /// Opens an existing store read-only; it becomes writable on the first change. A store
    /// from before sync existed (layout 1) or before pipelines named a win stage (layout 2) is
    /// upgraded first, one layout at a time.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, OpenError> {
        loop {
            match Store::open_current(path, options.clone()) {
                Err(OpenError::OlderSchema { found: 1, .. }) => upgrade_from_v1(path, &options)?,
                Err(OpenError::OlderSchema { found: 2, .. }) => upgrade_from_v2(path, &options)?,
                Err(OpenError::OlderSchema { found: 3, .. }) => upgrade_from_v3(path, &options)?,
                other => return other,
            }
        }
    }

    fn open_current(path: &Path, options: StoreOptions) -> Result<Store, OpenError> {
        let db = handle::open_read(path, options.lock_wait)?;
        let handle = Handle::Read(db);
        let unusable = |err: StoreError| OpenError::Unusable {
            path: path.to_owned(),
            detail: err.to_string(),
        };
        let (meta, row_version) = read_meta(path, &handle).map_err(|err| match err {
            MetaError::Open(err) => err,
            MetaError::Store(err) => unusable(err),
        })?;
        let unfinished =
            staged::left_unfinished(&handle.begin_read().map_err(unusable)?).map_err(unusable)?;
        let mut store = Store {
            path: path.to_owned(),
            options,
            handle: Some(handle),
            meta,
            undone: None,
        };
        if let Some(unfinished) = unfinished {
            store.undo(&unfinished).map_err(|err| match err {
                StoreError::Open(err) => err,
                other => OpenError::Unusable {
                    path: path.to_owned(),
                    detail: format!(
                        "a large write begun at {} did not finish, and undoing it failed: {other}",
                        unfinished.started_at
                    ),
                },
            })?;
        }
        if row_version != ROW_VERSION {
            store.rebuild_rows().map_err(unusable)?;
        }
        Ok(store)
    }

    /// Undoes the staged write a killed process left behind.
    fn undo(&mut self, unfinished: &staged::Unfinished) -> Result<(), StoreError> {
        let per_stage = self.options.stage_leads;
        staged::undo(self.writer()?, per_stage)?;
        self.undone = Some(unfinished.started_at);
        Ok(())
    }

    /// A warning for the store's file and folder if other users of the machine can read them
    /// (made by a release that followed the umask, or changed since), each saying how to fix it.
    pub fn exposed(&self) -> Vec<String> {
        private::warnings(&self.path, HOLDS)
    }

    /// When a large write (an import, a handover) had begun that did not finish, its process
    /// having died, and that opening this store undid: the store is as it was before it.
    pub fn undone_write(&self) -> Option<DateTime<Utc>> {
        self.undone
    }

    /// The store file.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// The member using this device.
    pub fn me(&self) -> &str {
        &self.meta.me
    }

    /// The pipeline in force: the team document's, or the template the store was made with.
    pub fn pipeline(&self) -> &Pipeline {
        &self.meta.pipeline
    }

    /// This device's Automerge actor.
    pub fn actor(&self) -> &ActorId {
        &self.meta.actor
    }

    pub(crate) fn handle(&self) -> Result<&Handle, StoreError> {
        self.handle
            .as_ref()
            .ok_or_else(|| StoreError::Storage("the store is closed".into()))
    }

    /// Runs `work` in one write transaction, upgrading to a writer first; commits only if it succeeds.
    pub(crate) fn write<T>(
        &mut self,
        work: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with(work)
    }

    /// [`Store::write`] for work whose errors are of another type, such as a reader's.
    pub(crate) fn write_with<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&WriteTransaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let txn = self.writer()?.begin_write().map_err(StoreError::from)?;
        match work(&txn) {
            Ok(value) => {
                txn.commit().map_err(StoreError::from)?;
                Ok(value)
            }
            Err(err) => {
                txn.abort().map_err(StoreError::from)?;
                Err(err)
            }
        }
    }

    /// The database open for writing, upgrading the read-only handle first.
    pub(crate) fn writer(&mut self) -> Result<&Database, StoreError> {
        if !matches!(self.handle, Some(Handle::Write(_))) {
            // The read-only handle must be closed before an exclusive writer can open the file.
            self.handle = None;
            let db = handle::open_write(&self.path, self.options.lock_wait)?;
            self.handle = Some(Handle::Write(db));
        }
        match &self.handle {
            Some(Handle::Write(db)) => Ok(db),
            _ => Err(StoreError::Storage("the store is closed".into())),
        }
    }

    /// Whether this process only reads the store (through the shared handle), on a system
    /// where a copy can safely replace it.
    pub(crate) fn reads_shared(&self) -> bool {
        cfg!(unix) && matches!(self.handle, Some(Handle::Read(_)))
    }

    /// Lets go of the handle and reads the store file at its path again (it was replaced).
    pub(crate) fn reopen_read(&mut self) -> Result<(), StoreError> {
        self.handle = None;
        self.handle = Some(Handle::Read(handle::open_read(
            &self.path,
            self.options.lock_wait,
        )?));
        Ok(())
    }

    /// Compacts the redb file itself, returning freed pages to the file system.
    pub(crate) fn compact_file(&mut self) -> Result<(), StoreError> {
        self.write(|_| Ok(()))?;
        if let Some(Handle::Write(db)) = &self.handle {
            rewrite::rewrite(&self.path, db)?;
        }
        // The handle still reads the old file: let it go, and read the new one.
        self.reopen_read()
    }
}

/// Upgrades the store at `path` to layout `to` with `work`, in one transaction that also
/// records the new layout: the store is upgraded whole, or left as it was.
fn upgrade_layout(
    path: &Path,
    options: &StoreOptions,
    to: u32,
    work: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
) -> Result<(), OpenError> {
    let db = handle::open_write(path, options.lock_wait)?;
    let upgrade = || -> Result<(), StoreError> {
        let txn = db.begin_write()?;
        work(&txn)?;
        put_meta(&txn, meta_key::SCHEMA, &to)?;
        txn.commit()?;
        Ok(())
    };
    upgrade().map_err(|err| OpenError::Unusable {
        path: path.to_owned(),
        detail: format!("upgrading it to layout {to} failed: {err}"),
    })
}

/// Layout 3 to 4: documents may be stored packed with a dictionary (`crate::packing`), kept in
/// a new table. Nothing is repacked until `compact`; a release that reads layout 3 refuses
/// layout 4 with "made by a newer fieldsync" rather than failing on a packed document.
fn upgrade_from_v3(path: &Path, options: &StoreOptions) -> Result<(), OpenError> {
    upgrade_layout(path, options, 4, |txn| {
        txn.open_table(tables::DICTIONARIES)?;
        Ok(())
    })
}

/// Layout 2 to 3: the template the store keeps (its pipeline until the team edits one) gets
/// what its built-in template now says (the win stage, criteria, ideal loads, source aliases;
/// see `templates::upgraded`). A release that reads layout 2 refuses layout 3 with "made by a
/// newer fieldsync" rather than misreading the pipeline's new fields.
fn upgrade_from_v2(path: &Path, options: &StoreOptions) -> Result<(), OpenError> {
    upgrade_layout(path, options, 3, |txn| {
        let stored = team::template_in(&txn.open_table(META)?)?;
        put_meta(
            txn,
            meta_key::PIPELINE,
            &fieldsync_model::templates::upgraded(stored),
        )
    })
}

/// Layout 1 to 2: adds the sync tables, counting every lead as not yet pushed.
fn upgrade_from_v1(path: &Path, options: &StoreOptions) -> Result<(), OpenError> {
    upgrade_layout(path, options, 2, |txn| {
        let actor: String = {
            let meta = txn.open_table(META)?;
            let bytes = meta
                .get(meta_key::ACTOR)?
                .ok_or_else(|| StoreError::Corrupt("metadata 'actor' is missing".into()))?;
            decode_json(meta_key::ACTOR, bytes.value())?
        };
        let actor = ActorId::try_from(actor.as_str())
            .map_err(|err| StoreError::Corrupt(format!("metadata 'actor': {err}")))?;
        sync::fill_sync_tables(txn, &actor)
    })
}

enum MetaError {
    Open(OpenError),
    Store(StoreError),
}

impl From<StoreError> for MetaError {
    fn from(err: StoreError) -> Self {
        MetaError::Store(err)
    }
}

fn read_meta(path: &Path, handle: &Handle) -> Result<(Meta, u32), MetaError> {
    let txn = handle.begin_read()?;
    let table = txn.open_table(META).map_err(|err| match err {
        redb::TableError::TableDoesNotExist(_) => MetaError::Open(OpenError::Unusable {
            path: path.to_owned(),
            detail: "it has no fieldsync metadata (is it another program's redb file?)".into(),
        }),
        other => MetaError::Store(other.into()),
    })?;
    let get = |key: &str| -> Result<Vec<u8>, StoreError> {
        Ok(table
            .get(key)?
            .ok_or_else(|| StoreError::Corrupt(format!("metadata '{key}' is missing")))?
            .value()
            .to_vec())
    };
    let schema: u32 = decode_json(meta_key::SCHEMA, &get(meta_key::SCHEMA)?)?;
    if schema != STORE_SCHEMA {
        let (found, supported, path) = (schema, STORE_SCHEMA, path.to_owned());
        return Err(MetaError::Open(if schema < STORE_SCHEMA {
            OpenError::OlderSchema {
                path,
                found,
                supported,
            }
        } else {
            OpenError::NewerSchema {
                path,
                found,
                supported,
            }
        }));
    }
    let actor: String = decode_json(meta_key::ACTOR, &get(meta_key::ACTOR)?)?;
    let actor = ActorId::try_from(actor.as_str())
        .map_err(|err| StoreError::Corrupt(format!("metadata 'actor': {err}")))?;
    let pipeline = team::read_pipeline(&txn, &actor)?;
    if pipeline.stages.is_empty() {
        return Err(StoreError::Corrupt("metadata 'pipeline' has no stages".into()).into());
    }
    let meta = Meta {
        actor,
        me: decode_json(meta_key::ME, &get(meta_key::ME)?)?,
        pipeline,
    };
    let row_version = decode_json(meta_key::ROW_VERSION, &get(meta_key::ROW_VERSION)?)?;
    Ok((meta, row_version))
}

#[doc(hidden)]
/// Overwrites a metadata value; for tests that need a store from another version.
pub fn set_meta_for_tests<T: Serialize>(
    store: &mut Store,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    store.write(|txn| put_meta(txn, key, value))
}
