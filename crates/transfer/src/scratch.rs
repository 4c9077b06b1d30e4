//! The scratch folder of one import: made beside the store (on the disk the store is on, not
//! in a `/tmp` that may live in memory), removed when the import ends, however it ends. It
//! holds what the import would otherwise keep in memory for every row: the duplicate index and
//! the plan.
//!
//! A killed import cannot remove its folder, so each import holds a lock on a file in its own
//! folder while it runs, and removes the folders beside it whose lock it can take: the lock
//! of a dead process is released with it.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::{OrScratch, TransferError};

/// How scratch folders' names start.
const PREFIX: &str = ".fieldsync-import-";

/// The file in a scratch folder its import holds locked while it runs.
const IN_USE: &str = "in-use";

/// A temporary folder, removed when dropped, and the lock that says it is in use.
pub(crate) struct Scratch {
    folder: TempDir,
    _in_use: File,
}

impl Scratch {
    /// A new scratch folder in the folder of the store file `store`, after removing the ones
    /// killed imports left there.
    pub(crate) fn beside(store: &Path) -> Result<Scratch, TransferError> {
        let parent = match store.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        remove_abandoned(parent);
        let folder = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(parent)
            .or_scratch(parent)?;
        let lock_path = folder.path().join(IN_USE);
        let in_use = File::create(&lock_path).or_scratch(&lock_path)?;
        in_use.try_lock().or_scratch(&lock_path)?;
        Ok(Scratch {
            folder,
            _in_use: in_use,
        })
    }

    /// The path of the file `name` in the folder.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }
}

/// Removes the scratch folders in `parent` whose import is no longer running. Best effort: a
/// folder that cannot be read or removed is left for the next import. One without the lock
/// file is left too: it is either being made this instant, or not this version's.
fn remove_abandoned(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let folder = entry.path();
        let abandoned = File::open(folder.join(IN_USE)).is_ok_and(|lock| lock.try_lock().is_ok());
        if abandoned {
            let _ = std::fs::remove_dir_all(&folder);
        }
    }
}
