//! Large writes (an import, a handover, a batch of new leads) committed in stages and undone
//! as a whole.
//!
//! redb keeps, in memory, a record of every page a write transaction has touched until it
//! commits: writing 100,000 leads in one transaction grew the process by about 5 MB per
//! 100,000 leads. A staged write commits every [`crate::StoreOptions::stage_leads`] leads
//! instead, and still lands whole or not at all:
//!
//! - its first stage records in the metadata that a staged write is under way;
//! - each stage records, in the [`UNDO`] table and in the same commit, what every lead it
//!   touches was just before: nothing (a lead it creates) or all of the lead's entries;
//! - its last commit drops that record; if the work fails, or if the process dies and the next
//!   open of the store finds the record ([`crate::Store::open`]), [`undo`] puts every lead
//!   back, a stage at a time, so that undoing can itself be interrupted and resumed;
//! - nothing else sees a stage: the writer holds the file until the write ends or is undone.
//!
//! A persistent redb savepoint would undo a write as well, but while one exists redb frees no
//! page a stage replaces: importing 100,000 leads left a file of 570 MB instead of 285 MB.

use chrono::{DateTime, Utc};
use redb::{
    Database, ReadTransaction, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::leads::LeadTables;
use crate::tables::{META, meta_key};
use crate::{decode_json, put_meta};

/// Sequence number -> postcard-encoded `(lead id, Option<LeadEntries>)`: what a lead was just
/// before the staged write under way touched it (`None`: the write created it). Filed in the
/// order of the touches, so that recording appends to the B-tree and undoing them from the
/// last back leaves each lead as it was before its first. Empty between writes.
const UNDO: TableDefinition<u64, &[u8]> = TableDefinition::new("undo");

/// The metadata record of a staged write under way.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Unfinished {
    /// When it began.
    pub(crate) started_at: DateTime<Utc>,
}

/// A lead's entries in every lead table.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LeadEntries {
    pub(crate) filed_at: u64,
    pub(crate) doc: Vec<u8>,
    pub(crate) changes: Vec<(u32, Vec<u8>)>,
    pub(crate) row: Option<Vec<u8>>,
    pub(crate) heads: Option<Vec<u8>>,
    pub(crate) acked: Option<Vec<u8>>,
    pub(crate) unpushed: bool,
}

/// Marks a staged write as under way; committed with its first stage.
pub(crate) fn begin(txn: &WriteTransaction) -> Result<(), StoreError> {
    let unfinished = Unfinished {
        started_at: Utc::now(),
    };
    put_meta(txn, meta_key::UNFINISHED_WRITE, &unfinished)
}

/// Ends a staged write in `txn`: once it commits, everything the write did is kept.
pub(crate) fn finish(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.delete_table(UNDO)?;
    txn.open_table(META)?.remove(meta_key::UNFINISHED_WRITE)?;
    Ok(())
}

/// The staged write a killed process left unfinished, if any.
pub(crate) fn left_unfinished(txn: &ReadTransaction) -> Result<Option<Unfinished>, StoreError> {
    let meta = txn.open_table(META)?;
    meta.get(meta_key::UNFINISHED_WRITE)?
        .map(|bytes| decode_json(meta_key::UNFINISHED_WRITE, bytes.value()))
        .transpose()
}

/// The undo record of the open stage.
pub(crate) struct UndoLog<'txn> {
    table: Table<'txn, u64, &'static [u8]>,
    next: u64,
}

impl<'txn> UndoLog<'txn> {
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        let table = txn.open_table(UNDO)?;
        let next = table.last()?.map_or(0, |(seq, _)| seq.value() + 1);
        Ok(UndoLog { table, next })
    }

    /// Records lead `id` as `before` the write touches it (`None`: the write creates it).
    pub(crate) fn record(
        &mut self,
        id: &str,
        before: Option<&LeadEntries>,
    ) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(&(id, before))
            .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.table.insert(self.next, bytes.as_slice())?;
        self.next += 1;
        Ok(())
    }

    /// Records that the write creates lead `id`.
    pub(crate) fn created(&mut self, id: &str) -> Result<(), StoreError> {
        self.record(id, None)
    }

    /// Records lead `id` as it is in `tables`, before the write changes it.
    pub(crate) fn touching(&mut self, tables: &LeadTables<'_>, id: &str) -> Result<(), StoreError> {
        self.record(id, tables.entries(id)?.as_ref())
    }
}

/// Puts back every lead a staged write touched, the last touch first, `per_stage` touches
/// per commit, then clears its record. Interrupted, it resumes on the next open: each touch is
/// undone in the same commit that removes it from the record.
pub(crate) fn undo(db: &Database, per_stage: usize) -> Result<(), StoreError> {
    loop {
        let txn = db.begin_write()?;
        let mut log = txn.open_table(UNDO)?;
        let mut tables = LeadTables::open(&txn)?;
        let mut stage = Vec::with_capacity(per_stage);
        for entry in log.iter()?.rev().take(per_stage) {
            let (seq, before) = entry?;
            stage.push((seq.value(), before.value().to_vec()));
        }
        for (seq, bytes) in &stage {
            let (id, before): (&str, Option<LeadEntries>) = postcard::from_bytes(bytes)
                .map_err(|err| StoreError::Corrupt(format!("undo record {seq}: {err}")))?;
            tables.put_entries(id, before.as_ref())?;
            log.remove(seq)?;
        }
        let done = log.is_empty()?;
        drop((log, tables));
        if done {
            finish(&txn)?;
        }
        txn.commit()?;
        if done {
            return Ok(());
        }
    }
}
