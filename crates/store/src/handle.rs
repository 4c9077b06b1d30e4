//! Opening the redb file: read-only until something must be written.
//!
//! Opening redb read-write rewrites header bytes even when nothing is committed, so a command
//! that is refused must never have opened the file for writing: reads and validation go through
//! a [`ReadOnlyDatabase`], and the store upgrades to a writer only to commit a checked change.
//! Another process holding the file makes the open wait up to a bound, then fail as `Locked`.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use redb::{Database, DatabaseError, ReadOnlyDatabase, ReadTransaction, ReadableDatabase};

use crate::error::{OpenError, StoreError};

/// How often a locked store is tried again while waiting.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// The open database: a reader, or a writer once something has been written.
pub(crate) enum Handle {
    /// Shared read-only access; leaves the file untouched.
    Read(ReadOnlyDatabase),
    /// Exclusive read-write access.
    Write(Database),
}

impl Handle {
    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(match self {
            Handle::Read(db) => db.begin_read()?,
            Handle::Write(db) => db.begin_read()?,
        })
    }
}

fn classify(path: &Path, err: DatabaseError) -> OpenError {
    match err {
        DatabaseError::Storage(redb::StorageError::Io(source))
            if source.kind() != std::io::ErrorKind::InvalidData =>
        {
            OpenError::Io {
                path: path.to_owned(),
                source,
            }
        }
        DatabaseError::UpgradeRequired(version) => OpenError::Unusable {
            path: path.to_owned(),
            detail: format!("its file format (redb {version}) is older than this fieldsync reads"),
        },
        other => OpenError::Unusable {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Calls `open` until it stops reporting the database as open elsewhere, for at most `wait`.
fn with_lock_wait<T>(
    path: &Path,
    wait: Duration,
    open: impl Fn() -> Result<T, DatabaseError>,
) -> Result<T, OpenError> {
    let deadline = Instant::now() + wait;
    loop {
        match open() {
            Ok(db) => return Ok(db),
            Err(DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch) => {
                if Instant::now() >= deadline {
                    return Err(OpenError::Locked(path.to_owned()));
                }
                thread::sleep(RETRY_EVERY);
            }
            Err(err) => return Err(classify(path, err)),
        }
    }
}

fn require_file(path: &Path) -> Result<(), OpenError> {
    match path.metadata() {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(OpenError::Unusable {
            path: path.to_owned(),
            detail: "it is not a file".into(),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Err(OpenError::NotFound(path.to_owned()))
        }
        Err(source) => Err(OpenError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Opens an existing store read-only. A file left unclean by a writer that was killed cannot be
/// read until it is repaired, which only a writer may do: it is opened for writing once (redb
/// repairs it on open; nothing else is written) and then read.
pub(crate) fn open_read(path: &Path, wait: Duration) -> Result<ReadOnlyDatabase, OpenError> {
    require_file(path)?;
    let open = || {
        Database::builder()
            .set_cache_size(READ_CACHE_BYTES)
            .open_read_only(path)
    };
    with_lock_wait(path, wait, || match open() {
        Err(DatabaseError::RepairAborted) => {
            drop(Database::open(path)?);
            open()
        }
        other => other,
    })
}

/// A writer's page cache, read cache and dirty pages together. redb writes dirty pages out
/// early once they pass half of it, so a write of 100,000 leads (an import) holds this much,
/// not the whole write (redb's default is 1 GiB). With 64 MiB an import of 100,000 rows
/// peaked at 129 MB against 79-83 MB with 32 MiB, and was no faster once new documents
/// appended to their table (`tables::DOCS`).
pub(crate) const WRITE_CACHE_BYTES: usize = 32 << 20;

/// A reader's page cache. A command reads most pages once (every row for a report, the rows
/// for an import's duplicate check), so a big cache only keeps pages that are not read again:
/// with 64 MiB, checking 10,000 rows against a store of 100,000 leads peaked at 107 MB.
const READ_CACHE_BYTES: usize = 16 << 20;

/// Opens an existing store for writing.
pub(crate) fn open_write(path: &Path, wait: Duration) -> Result<Database, OpenError> {
    require_file(path)?;
    with_lock_wait(path, wait, || {
        Database::builder()
            .set_cache_size(WRITE_CACHE_BYTES)
            .open(path)
    })
}

/// Creates a new store file; refuses to touch an existing one.
pub(crate) fn create(path: &Path) -> Result<Database, OpenError> {
    if path.exists() {
        return Err(OpenError::AlreadyExists(path.to_owned()));
    }
    if let Some(parent) = path.parent() {
        crate::private::create_dir(parent).map_err(|source| OpenError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    // The file is made first, readable by its owner only (it holds customers and the relay
    // token); redb then makes a database in the empty file.
    drop(
        crate::private::create_file(path).map_err(|source| OpenError::Io {
            path: path.to_owned(),
            source,
        })?,
    );
    Database::builder()
        .set_cache_size(WRITE_CACHE_BYTES)
        .create(path)
        .map_err(|err| classify(path, err))
}
