//! A store written in a copy that then replaces it, so that other processes keep reading the
//! last committed store while a long write runs (an import of thousands of rows).
//!
//! The writer holds the store's shared read lock throughout, which keeps every other writer
//! out: the copy starts from the last commit and nothing commits to the store after it. The
//! copy is written and committed on its own, then renamed over the store, under a lock file
//! that orders two such writers; one that finds the store replaced since its copy was made is
//! refused and leaves the store as the other wrote it. Readers that opened the store before the
//! rename read the old file to their end; those that open it after read the new one.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use redb::Database;

use crate::error::StoreError;
use crate::private;

/// A copy of a store being written.
pub(crate) struct Copy {
    path: PathBuf,
    db: Database,
    /// The store file the copy was made from, to notice it being replaced.
    source: File,
}

fn io_error(what: &str, path: &Path, err: io::Error) -> StoreError {
    StoreError::Storage(format!("{what} {}: {err}", path.display()))
}

/// The same file (device and inode), not just the same name.
#[cfg(unix)]
fn same_file(a: &File, b: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (a.metadata()?, b.metadata()?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Without the means to tell files apart, no copy replaces a store (see
/// `Store::write_batch_in_copy`, which writes in place there).
#[cfg(not(unix))]
fn same_file(_: &File, _: &File) -> io::Result<bool> {
    Ok(false)
}

impl Copy {
    /// Copies the store file `store` to `copy` (made readable by its owner only) and opens it
    /// for writing.
    pub(crate) fn of(store: &Path, copy: &Path) -> Result<Copy, StoreError> {
        let mut source = File::open(store).map_err(|err| io_error("cannot read", store, err))?;
        let mut target =
            private::create_file(copy).map_err(|err| io_error("cannot make", copy, err))?;
        io::copy(&mut source, &mut target).map_err(|err| io_error("cannot copy to", copy, err))?;
        target
            .sync_all()
            .map_err(|err| io_error("cannot write", copy, err))?;
        drop(target);
        let db = Database::builder()
            .set_cache_size(crate::handle::WRITE_CACHE_BYTES)
            .open(copy)
            .map_err(|err| StoreError::Storage(format!("cannot open {}: {err}", copy.display())))?;
        Ok(Copy {
            path: copy.to_owned(),
            db,
            source,
        })
    }

    /// The copy, open for writing.
    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// Closes the copy and renames it over `store`, unless `store` is no longer the file the
    /// copy was made from.
    pub(crate) fn replace(self, store: &Path) -> Result<(), StoreError> {
        drop(self.db);
        let lock_path = store.with_extension("replacing");
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options
            .open(&lock_path)
            .map_err(|err| io_error("cannot open", &lock_path, err))?;
        lock.lock()
            .map_err(|err| io_error("cannot lock", &lock_path, err))?;
        let now = File::open(store).map_err(|err| io_error("cannot read", store, err))?;
        if !same_file(&now, &self.source).map_err(|err| io_error("cannot read", store, err))? {
            let _ = std::fs::remove_file(&self.path);
            return Err(StoreError::Storage(
                "another write replaced the store while this one ran, so nothing was written; do it again".into(),
            ));
        }
        std::fs::rename(&self.path, store).map_err(|err| io_error("cannot replace", store, err))?;
        if let Some(folder) = store.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)
                .and_then(|folder| folder.sync_all())
                .map_err(|err| io_error("cannot write", folder, err))?;
        }
        Ok(())
    }
}
