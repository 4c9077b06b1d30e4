//! The store's errors, one enum per family of operations.

use std::path::PathBuf;

use fieldsync_model::{LeadError, LeadId, RoleError, TeamError, ValidationError};
use thiserror::Error;

/// Why a store could not be made or opened.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No store at the path.
    #[error("no store at {}: run `fieldsync init --me NAME` first (or pass --home)", .0.display())]
    NotFound(PathBuf),
    /// `init` on a path that already holds a store.
    #[error("a store already exists at {}", .0.display())]
    AlreadyExists(PathBuf),
    /// Another process holds the store.
    #[error("the store at {} is locked by another process; wait for it to finish and try again", .0.display())]
    Locked(PathBuf),
    /// Made by an older version of fieldsync.
    #[error("the store at {} was made by an older fieldsync (store schema {found}; this version reads schema {supported}); upgrade it with the fieldsync release that made it, or export and re-import", path.display())]
    OlderSchema {
        /// Store path.
        path: PathBuf,
        /// Schema found in the file.
        found: u32,
        /// Schema this code reads.
        supported: u32,
    },
    /// Made by a newer version of fieldsync.
    #[error("the store at {} was made by a newer fieldsync (store schema {found}; this version reads schema {supported}); install the newer fieldsync", path.display())]
    NewerSchema {
        /// Store path.
        path: PathBuf,
        /// Schema found in the file.
        found: u32,
        /// Schema this code reads.
        supported: u32,
    },
    /// The file is not a fieldsync store, or is damaged.
    #[error("{} is not a usable fieldsync store: {detail}", path.display())]
    Unusable {
        /// Store path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Reading or writing the file failed.
    #[error("cannot use the store at {}: {source}", path.display())]
    Io {
        /// Store path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Why an id prefix does not name exactly one lead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Not an id prefix at all.
    #[error("{0}")]
    Malformed(String),
    /// No lead's id starts with it, and no lead's company, contact, phone or email holds it.
    #[error("no lead with id or name '{0}': `fieldsync lead list --search TEXT` finds leads")]
    NotFound(String),
    /// Several leads' ids start with it, or several leads hold it.
    #[error("'{prefix}' is ambiguous: it matches {}; give more of the id or the name", describe(.matches))]
    Ambiguous {
        /// What was typed.
        prefix: String,
        /// Up to five matching leads with their company.
        matches: Vec<(LeadId, String)>,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(matches: &[(LeadId, String)]) -> String {
    matches
        .iter()
        .map(|(id, company)| format!("{} ({company})", id.short()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why reading or writing leads failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The action was refused by the lead's rules or validation.
    #[error(transparent)]
    Lead(#[from] LeadError),
    /// The team's roster refuses it: not a manager, not a member, a rep assigning to another.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// The team document refused the change (boxed: it is rare and large).
    #[error(transparent)]
    Team(Box<TeamError>),
    /// Opening the store for writing failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The lead is not in the store.
    #[error("no lead with id {0}")]
    Missing(LeadId),
    /// The database reported an error.
    #[error("store error: {0}")]
    Storage(String),
    /// The disk is full: nothing was written. Free space and do it again.
    #[error(
        "the disk is full, so nothing was saved ({0}); free some space on this device and try again"
    )]
    DiskFull(String),
    /// Stored bytes could not be decoded.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

impl From<ValidationError> for StoreError {
    fn from(err: ValidationError) -> Self {
        StoreError::Lead(err.into())
    }
}

impl From<TeamError> for StoreError {
    fn from(err: TeamError) -> Self {
        StoreError::Team(Box::new(err))
    }
}

/// Whether redb failed because the disk is full.
fn disk_full(err: Option<&redb::StorageError>) -> bool {
    matches!(err, Some(redb::StorageError::Io(io)) if io.kind() == std::io::ErrorKind::StorageFull)
}

macro_rules! storage_errors {
    ($($ty:ty => $inner:expr),*) => {
        $(impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                let inner: fn(&$ty) -> Option<&redb::StorageError> = $inner;
                match disk_full(inner(&err)) {
                    true => StoreError::DiskFull(err.to_string()),
                    false => StoreError::Storage(err.to_string()),
                }
            }
        })*
    };
}

storage_errors!(
    redb::StorageError => |err| Some(err),
    redb::TableError => |err| match err {
        redb::TableError::Storage(inner) => Some(inner),
        _ => None,
    },
    redb::TransactionError => |err| match err {
        redb::TransactionError::Storage(inner) => Some(inner),
        _ => None,
    },
    redb::CommitError => |err| match err {
        redb::CommitError::Storage(inner) => Some(inner),
        _ => None,
    },
    redb::CompactionError => |err| match err {
        redb::CompactionError::Storage(inner) => Some(inner),
        _ => None,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_storage_failures() {
        let full = redb::StorageError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(matches!(StoreError::from(full), StoreError::DiskFull(_)));
        let commit = redb::CommitError::Storage(redb::StorageError::Io(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        assert!(matches!(StoreError::from(commit), StoreError::DiskFull(_)));
        let other =
            redb::StorageError::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(StoreError::from(other), StoreError::Storage(_)));
    }
}
