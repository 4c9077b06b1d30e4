//! What can stop an import or an export.

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
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}
