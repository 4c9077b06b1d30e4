//! Keeping the store tidy: folding incremental changes into documents, compacting the file,
//! rebuilding projection rows, and counting what is there.

use chrono::{DateTime, Utc};
use fieldsync_model::row::ROW_VERSION;
use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use fieldsync_model::{LeadDoc, LeadId};
use rayon::prelude::*;

use crate::error::StoreError;
use crate::leads::LeadTables;
use crate::tables::{CHANGES, DOCS, META, ROWS, meta_key};
use crate::{Store, decode_json, put_meta};

/// Documents read, re-saved on every core, and written back at a time by `compact`.
const RESAVE_CHUNK: usize = 4096;

/// What a store holds.
#[derive(Clone, Debug, Serialize)]
pub struct StoreStats {
    /// Lead documents, deleted ones included.
    pub leads: u64,
    /// Incremental changes not yet folded into their documents.
    pub pending_changes: u64,
    /// Bytes of saved documents and pending changes.
    pub document_bytes: u64,
    /// Bytes of projection rows.
    pub row_bytes: u64,
    /// Size of the store file.
    pub file_bytes: u64,
    /// When the store was made.
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Counts leads, pending changes and bytes.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let docs = txn.open_table(DOCS)?;
        let changes = txn.open_table(CHANGES)?;
        let mut document_bytes = 0;
        for entry in docs.iter()? {
            document_bytes += entry?.1.value().len() as u64;
        }
        for entry in changes.iter()? {
            document_bytes += entry?.1.value().len() as u64;
        }
        let mut row_bytes = 0;
        for entry in txn.open_table(ROWS)?.iter()? {
            row_bytes += entry?.1.value().len() as u64;
        }
        let meta = txn.open_table(META)?;
        let created_at = match meta.get(meta_key::CREATED_AT)? {
            Some(bytes) => decode_json(meta_key::CREATED_AT, bytes.value())?,
            None => DateTime::<Utc>::default(),
        };
        Ok(StoreStats {
            leads: docs.len()?,
            pending_changes: changes.len()?,
            document_bytes,
            row_bytes,
            file_bytes: std::fs::metadata(self.path()).map(|m| m.len()).unwrap_or(0),
            created_at,
        })
    }

    /// Folds every lead's pending changes into its saved document, saves compressed every
    /// document still stored as it was first written (uncompressed, to keep imports fast), then
    /// compacts the file. Returns the number of documents re-saved.
    pub fn compact(&mut self) -> Result<usize, StoreError> {
        let actor = self.meta.actor.clone();
        let resaved = self.write(|txn| {
            let mut tables = LeadTables::open(txn)?;
            let folded = tables.leads_with_changes()?;
            for id in &folded {
                let (doc, _) = tables.load(id, &actor)?;
                tables.fold(id, &doc)?;
            }
            let folded: std::collections::HashSet<LeadId> = folded.into_iter().collect();
            let rest: Vec<LeadId> = tables
                .lead_ids()?
                .into_iter()
                .filter(|id| !folded.contains(id))
                .collect();
            let mut compressed = 0;
            for chunk in rest.chunks(RESAVE_CHUNK) {
                let saved = chunk
                    .iter()
                    .map(|id| tables.saved(id.as_str()))
                    .collect::<Result<Vec<_>, _>>()?;
                let smaller: Vec<Option<Vec<u8>>> = saved
                    .par_iter()
                    .map(|bytes| {
                        let doc = LeadDoc::load(bytes, actor.clone())?;
                        let again = doc.save();
                        Ok((again.len() < bytes.len()).then_some(again))
                    })
                    .collect::<Result<_, StoreError>>()?;
                for (id, bytes) in chunk.iter().zip(smaller) {
                    if let Some(bytes) = bytes {
                        tables.replace_saved(id.as_str(), &bytes)?;
                        compressed += 1;
                    }
                }
            }
            Ok(folded.len() + compressed)
        })?;
        self.compact_file()?;
        Ok(resaved)
    }

    /// Recomputes every projection row from the documents. Returns the number of rows.
    pub fn rebuild_rows(&mut self) -> Result<usize, StoreError> {
        let actor = self.meta.actor.clone();
        self.write(|txn| {
            let mut tables = LeadTables::open(txn)?;
            tables.clear_rows()?;
            let ids = tables.lead_ids()?;
            for id in &ids {
                let (doc, _) = tables.load(id, &actor)?;
                tables.put_row(&doc.view())?;
            }
            drop(tables);
            put_meta(txn, meta_key::ROW_VERSION, &ROW_VERSION)?;
            Ok(ids.len())
        })
    }
}
