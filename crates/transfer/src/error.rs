//! What can stop an import or an export.

use std::fmt;
use std::path::Path;

use fieldsync_store::StoreError;

/// Why an import or export stopped. Nothing was written to the store when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The file could not be read, or is not a table this tool reads.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why, and what to do about it.
        reason: String,
    },
    /// The header or a `--map` cannot be used.
    #[error("{0}")]
    Columns(String),
    /// The file changed between the check and the import.
    #[error("{0} changed while it was being imported; nothing was imported: run the import again")]
    Changed(String),
    /// An output could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The import's scratch folder, beside the store, could not be made or written.
    #[error(
        "cannot use the import's scratch space {path}: {reason} (free some disk space beside the store, or make its folder writable); nothing was imported"
    )]
    Scratch {
        /// The folder or file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TransferError {
    /// A failure of the scratch space at `path`.
    pub fn scratch(path: &Path, reason: impl fmt::Display) -> TransferError {
        TransferError::Scratch {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Turns any failure of the scratch space at a path into [`TransferError::Scratch`].
pub(crate) trait OrScratch<T> {
    /// The value, or the failure as a scratch error about `path`.
    fn or_scratch(self, path: &Path) -> Result<T, TransferError>;
}

impl<T, E: fmt::Display> OrScratch<T> for Result<T, E> {
    fn or_scratch(self, path: &Path) -> Result<T, TransferError> {
        self.map_err(|err| TransferError::scratch(path, err))
    }
}
