//! The scratch folder of one import: made beside the store (on the disk the store is on, not
//! in a `/tmp` that may live in memory), removed when the import ends, however it ends. It
//! holds what the import would otherwise keep in memory for every row: the duplicate index and
//! the plan.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::{OrScratch, TransferError};

/// A temporary folder, removed when dropped.
pub(crate) struct Scratch(TempDir);

impl Scratch {
    /// A new scratch folder in the folder of the store file `store`.
    pub(crate) fn beside(store: &Path) -> Result<Scratch, TransferError> {
        let folder = match store.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        tempfile::Builder::new()
            .prefix(".fieldsync-import-")
            .tempdir_in(folder)
            .map(Scratch)
            .or_scratch(folder)
    }

    /// The path of the file `name` in the folder.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}
