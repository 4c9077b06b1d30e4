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
use crate::packing::{self, Packer};
use crate::tables::{CHANGES, DOCS, META, ROWS, meta_key};
use crate::{Store, decode_json, put_meta};

/// Documents read, packed on every core, and written back at a time by `compact`.
const RESAVE_CHUNK: usize = 4096;

/// The packer for the store's dictionary, training one on up to `MAX_SAMPLES` of `ids` (spread
/// over them) if the store has none; `None` while there are too few documents to train on.
fn packer(
    tables: &mut LeadTables<'_>,
    ids: &[LeadId],
    actor: &automerge::ActorId,
) -> Result<Option<Packer>, StoreError> {
    if let Some(entry) = tables.dictionaries.first()? {
        return Ok(Some(Packer::new(entry.1.value())));
    }
    let step = ids.len().div_ceil(packing::MAX_SAMPLES).max(1);
    let mut samples = Vec::new();
    for id in ids.iter().step_by(step) {
        let saved = tables.saved(id.as_str())?;
        let doc = LeadDoc::load(&tables.unpacked(&saved)?, actor.clone())?;
        samples.push(doc.save_uncompressed());
    }
    let Some((id, dictionary)) = packing::train(&samples)? else {
        return Ok(None);
    };
    tables.dictionaries.insert(id, dictionary.as_slice())?;
    Ok(Some(Packer::new(&dictionary)))
}

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

    /// Checks every page of the file (redb's own check) before a command rewrites it all: a
    /// damaged store is refused with the way back instead of being rewritten.
    pub fn check_integrity(&mut self) -> Result<(), StoreError> {
        self.writer()?;
        let Some(crate::handle::Handle::Write(db)) = &mut self.handle else {
            return Ok(());
        };
        match db.check_integrity() {
            // Repaired is redb's recovery after an unclean shutdown: nothing committed lost.
            Ok(_) => Ok(()),
            Err(err) => Err(StoreError::Corrupt(format!(
                "{err}: run `fieldsync repair` to rebuild the store from what still reads, keeping the changes not yet pushed"
            ))),
        }
    }

    /// Folds every lead's pending changes into its saved document, packs every document with
    /// the store's dictionary (trained on the documents the first time there are enough of
    /// them; see `packing`), then compacts the file. Returns the number of documents re-saved.
    pub fn compact(&mut self) -> Result<usize, StoreError> {
        self.check_integrity()?;
        let actor = self.meta.actor.clone();
        let resaved = self.write(|txn| {
            let mut tables = LeadTables::open(txn)?;
            let folded = tables.leads_with_changes()?;
            for id in &folded {
                let (doc, _) = tables.load(id, &actor)?;
                tables.fold(id, &doc)?;
            }
            let mut resaved: std::collections::HashSet<LeadId> = folded.into_iter().collect();
            let ids = tables.lead_ids()?;
            // Too few documents for a dictionary: Automerge's own deflate.
            let packer = packer(&mut tables, &ids, &actor)?;
            for chunk in ids.chunks(RESAVE_CHUNK) {
                let saved = chunk
                    .iter()
                    .map(|id| tables.saved(id.as_str()))
                    .collect::<Result<Vec<_>, _>>()?;
                let unpacked = saved
                    .iter()
                    .map(|bytes| tables.unpacked(bytes))
                    .collect::<Result<Vec<_>, _>>()?;
                let packed: Vec<Vec<u8>> = unpacked
                    .par_iter()
                    .map(|bytes| {
                        let doc = LeadDoc::load(bytes, actor.clone())?;
                        match &packer {
                            Some(packer) => packer.pack(&doc.save_uncompressed()),
                            None => Ok(doc.save()),
                        }
                    })
                    .collect::<Result<_, StoreError>>()?;
                for ((id, old), new) in chunk.iter().zip(&saved).zip(packed) {
                    if new.len() < old.len() {
                        tables.replace_saved(id.as_str(), &new)?;
                        resaved.insert(id.clone());
                    }
                }
            }
            Ok(resaved.len())
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
