//! Compacting the file by writing its tables afresh: redb's own `compact` moves pages but
//! leaves the B-trees as their history of splits made them, about two and a half times the
//! size of the same tables written anew (11.1 MB against 4.5 MB for the 3,000-lead demo store);
//! redb's compaction of the fresh copy then trims the unused end of its last region (17.7 MB
//! -> 11.3 MB for the 10,000-lead demo store; docs/benchmarks.md). The copy is written beside the store and renamed over it while the
//! store is still held, so no other process opens either file half-written; a copy left by a
//! killed compact is removed by the next.

use std::path::{Path, PathBuf};

use redb::{
    Database, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, Value,
    WriteTransaction,
};

use crate::error::StoreError;
use crate::tables::{
    ACKED, CHANGES, DICTIONARIES, DOC_KEYS, DOCS, HEADS, META, ROWS, TEAM, UNPUSHED,
};

/// Where the fresh copy of the store at `path` is written.
fn fresh_path(path: &Path) -> PathBuf {
    path.with_extension("redb.compacting")
}

/// Writes every table of `from` into a new file beside `path`, then renames it over `path`.
/// The caller holds `path` open for writing, and must reopen it afterwards.
pub(crate) fn rewrite(path: &Path, from: &Database) -> Result<(), StoreError> {
    let fresh = fresh_path(path);
    let _ = std::fs::remove_file(&fresh);
    let io = |err: std::io::Error| StoreError::Storage(format!("{}: {err}", fresh.display()));
    {
        // Made readable by its owner only, as the store it replaces.
        drop(crate::private::create_file(&fresh).map_err(io)?);
        let mut target = Database::builder()
            .create(&fresh)
            .map_err(|err| StoreError::Storage(format!("{}: {err}", fresh.display())))?;
        let source = from.begin_read()?;
        let txn = target.begin_write()?;
        copy_table::<_, _, StoreError>(&source, &txn, DOCS)?;
        copy_table::<_, _, StoreError>(&source, &txn, DOC_KEYS)?;
        copy_table::<_, _, StoreError>(&source, &txn, CHANGES)?;
        copy_table::<_, _, StoreError>(&source, &txn, ROWS)?;
        copy_table::<_, _, StoreError>(&source, &txn, HEADS)?;
        copy_table::<_, _, StoreError>(&source, &txn, ACKED)?;
        copy_table::<_, _, StoreError>(&source, &txn, UNPUSHED)?;
        copy_table::<_, _, StoreError>(&source, &txn, TEAM)?;
        copy_table::<_, _, StoreError>(&source, &txn, DICTIONARIES)?;
        copy_table::<_, _, StoreError>(&source, &txn, META)?;
        txn.commit()?;
        // The file grows a region at a time; compacting the copy trims what it left unused.
        while target.compact()? {}
    }
    std::fs::rename(&fresh, path).map_err(io)
}

/// Copies every row of `table` as `source` sees it into `txn`; a table `source` lacks (a file
/// of an earlier layout) copies as nothing. The relay copies its team files with it too.
pub fn copy_table<K, V, E>(
    source: &ReadTransaction,
    txn: &WriteTransaction,
    table: TableDefinition<K, V>,
) -> Result<(), E>
where
    K: Key + 'static,
    V: Value + 'static,
    E: From<redb::TableError> + From<redb::StorageError>,
{
    let from = match source.open_table(table) {
        Ok(from) => from,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let mut to = txn.open_table(table)?;
    for entry in from.iter()? {
        let (key, value) = entry?;
        to.insert(key.value(), value.value())?;
    }
    Ok(())
}
