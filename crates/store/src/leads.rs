//! Creating, changing, loading and listing leads.
//!
//! A change is checked twice: first against the document as read (through the read-only
//! handle, so a refusal writes nothing), then applied again inside the write transaction to the
//! document as it is at that moment, so a change another process committed in between is
//! merged rather than overwritten, and this device's Automerge sequence numbers never repeat.

use automerge::ActorId;
use fieldsync_model::id::normalize_prefix;
use fieldsync_model::{Action, Lead, LeadDoc, LeadHistory, LeadId, LeadRow, Pipeline, Stamp};
use std::sync::mpsc;

use rayon::prelude::*;
use redb::{Range, ReadableTable, Table, WriteTransaction};

use crate::Store;
use crate::error::{LookupError, StoreError};
use crate::tables::{ACKED, CHANGES, COMPACT_AFTER, DOC_KEYS, DOCS, HEADS, ROWS, UNPUSHED};

/// The result of a change.
#[derive(Debug)]
pub struct Updated {
    /// Whether anything was written (setting a field to its value writes nothing).
    pub changed: bool,
    /// The lead after the change.
    pub lead: Lead,
}

/// Leads whose documents are built together by [`Store::create_leads`]: enough to keep every
/// core busy, few enough that progress moves.
pub const BUILD_BATCH: usize = 256;

/// The leads written in one transaction of [`Store::write_batch`].
pub struct LeadBatch<'txn, 'meta> {
    tables: LeadTables<'txn>,
    pipeline: &'meta Pipeline,
    actor: &'meta ActorId,
    /// The leads of the last `create_all`, being built on the thread pool.
    building: Option<mpsc::Receiver<Result<Vec<PreparedLead>, StoreError>>>,
}

/// A new lead ready to insert: everything derived from its document, computed off the writer.
pub(crate) struct PreparedLead {
    id: LeadId,
    filed_at: u64,
    saved: Vec<u8>,
    heads: Vec<u8>,
    row: Vec<u8>,
}

impl PreparedLead {
    /// Derives what the tables hold from a new lead's document. `saved` is the document's
    /// bytes as they should be stored (`doc.save()`, or bytes received whole).
    pub(crate) fn new(
        doc: &LeadDoc,
        lead: &Lead,
        saved: Vec<u8>,
    ) -> Result<PreparedLead, StoreError> {
        Ok(PreparedLead {
            id: lead.id.clone(),
            filed_at: filing_time(lead),
            saved,
            heads: fieldsync_model::heads::to_bytes(&doc.heads()),
            row: encode_row(lead)?,
        })
    }

    /// Builds a new lead's document from its history, with the lead's rules.
    fn build(
        history: &LeadHistory,
        pipeline: &Pipeline,
        actor: &ActorId,
    ) -> Result<PreparedLead, StoreError> {
        let (doc, lead) = LeadDoc::from_history_with_view(history, pipeline, actor.clone())?;
        PreparedLead::new(&doc, &lead, doc.save_uncompressed())
    }
}

impl LeadBatch<'_, '_> {
    /// Creates leads with their histories. Their documents are built on the thread pool (most
    /// of the work) while the caller goes on: this call inserts the leads of the previous one,
    /// and the caller reads its next rows, as the builders work. The batch inserts the last
    /// ones before it ends (or before an update, which may concern them).
    pub fn create_all(&mut self, histories: Vec<LeadHistory>) -> Result<(), StoreError> {
        let (pipeline, actor) = (self.pipeline.clone(), self.actor.clone());
        let (done, building) = mpsc::sync_channel(1);
        rayon::spawn(move || {
            let built = std::panic::catch_unwind(|| {
                histories
                    .par_iter()
                    .map(|history| PreparedLead::build(history, &pipeline, &actor))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .unwrap_or_else(|_| Err(StoreError::Storage("building a lead panicked".into())));
            // The receiver is gone only if the batch already failed.
            let _ = done.send(built);
        });
        let previous = self.building.replace(building);
        self.insert_built(previous)
    }

    /// Waits for a build and inserts what it built.
    fn insert_built(
        &mut self,
        building: Option<mpsc::Receiver<Result<Vec<PreparedLead>, StoreError>>>,
    ) -> Result<(), StoreError> {
        let Some(building) = building else {
            return Ok(());
        };
        let built = building
            .recv()
            .map_err(|_| StoreError::Storage("a lead builder stopped".into()))??;
        for lead in &built {
            self.tables.insert_new(lead, Origin::Local)?;
        }
        Ok(())
    }

    /// Inserts the leads still being built.
    fn flush(&mut self) -> Result<(), StoreError> {
        let building = self.building.take();
        self.insert_built(building)
    }

    /// Applies `actions` to a lead (stored, or created earlier in this batch) as one change.
    pub fn update(
        &mut self,
        id: &LeadId,
        actions: &[Action],
        stamp: &Stamp,
    ) -> Result<Updated, StoreError> {
        self.flush()?;
        self.tables
            .apply_local(id, actions, self.pipeline, self.actor, stamp)
    }
}

/// The `DOCS` key of a lead, from `DOC_KEYS`; `None` if the lead is not in the store.
pub(crate) fn doc_key<'a>(
    keys: &impl ReadableTable<&'static str, u64>,
    id: &'a str,
) -> Result<Option<(u64, &'a str)>, StoreError> {
    Ok(keys.get(id)?.map(|created| (created.value(), id)))
}

/// The creation time a new lead's document is filed under (ms since the epoch; never negative).
fn filing_time(lead: &Lead) -> u64 {
    u64::try_from(lead.created_at.timestamp_millis()).unwrap_or(0)
}

/// Loads a lead's document from its saved bytes and pending changes; also returns the next
/// change sequence number.
fn load_from(
    docs: &impl ReadableTable<(u64, &'static str), &'static [u8]>,
    keys: &impl ReadableTable<&'static str, u64>,
    changes: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    id: &LeadId,
    actor: &ActorId,
) -> Result<Option<(LeadDoc, u32)>, StoreError> {
    let Some(key) = doc_key(keys, id.as_str())? else {
        return Ok(None);
    };
    let saved = docs
        .get(key)?
        .ok_or_else(|| StoreError::Corrupt(format!("the document of lead {id} is missing")))?;
    let mut doc = LeadDoc::load(saved.value(), actor.clone())?;
    let mut next = 0;
    for entry in changes.range((id.as_str(), 0)..=(id.as_str(), u32::MAX))? {
        let (key, chunk) = entry?;
        doc.load_incremental(chunk.value())?;
        next = key.value().1 + 1;
    }
    Ok(Some((doc, next)))
}

fn encode_row(lead: &Lead) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(&LeadRow::from_lead(lead))
        .map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// Where a change to a document came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Made on this device: the relay does not have it yet.
    Local,
    /// Received from the relay, which holds it.
    Relay,
}

/// The tables a change to one lead touches, open together in one write transaction.
pub(crate) struct LeadTables<'txn> {
    docs: Table<'txn, (u64, &'static str), &'static [u8]>,
    keys: Table<'txn, &'static str, u64>,
    changes: Table<'txn, (&'static str, u32), &'static [u8]>,
    rows: Table<'txn, &'static str, &'static [u8]>,
    pub(crate) heads: Table<'txn, &'static str, &'static [u8]>,
    pub(crate) acked: Table<'txn, &'static str, &'static [u8]>,
    pub(crate) unpushed: Table<'txn, &'static str, ()>,
}

impl<'txn> LeadTables<'txn> {
    /// Opens the tables in `txn`.
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(LeadTables {
            docs: txn.open_table(DOCS)?,
            keys: txn.open_table(DOC_KEYS)?,
            changes: txn.open_table(CHANGES)?,
            rows: txn.open_table(ROWS)?,
            heads: txn.open_table(HEADS)?,
            acked: txn.open_table(ACKED)?,
            unpushed: txn.open_table(UNPUSHED)?,
        })
    }

    /// Writes a new lead's document, heads and row; refuses an id already in the store.
    pub(crate) fn insert_new(
        &mut self,
        lead: &PreparedLead,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let id = lead.id.as_str();
        if self.keys.get(id)?.is_some() {
            return Err(StoreError::Storage(format!(
                "lead id {id} is already taken"
            )));
        }
        self.keys.insert(id, lead.filed_at)?;
        self.docs
            .insert((lead.filed_at, id), lead.saved.as_slice())?;
        self.record_head_bytes(id, &lead.heads, origin)?;
        self.rows.insert(id, lead.row.as_slice())?;
        Ok(())
    }

    /// Records a document's new heads and whether the relay still lacks some of it.
    fn record_heads(
        &mut self,
        id: &str,
        heads: &[automerge::ChangeHash],
        origin: Origin,
    ) -> Result<(), StoreError> {
        self.record_head_bytes(id, &fieldsync_model::heads::to_bytes(heads), origin)
    }

    /// [`LeadTables::record_heads`] with the heads already as bytes.
    fn record_head_bytes(
        &mut self,
        id: &str,
        bytes: &[u8],
        origin: Origin,
    ) -> Result<(), StoreError> {
        self.heads.insert(id, bytes)?;
        match origin {
            Origin::Local => {
                self.unpushed.insert(id, ())?;
            }
            // What came from the relay it holds; unless this device has changes of its own
            // still unacknowledged, the relay now holds the whole document.
            Origin::Relay => {
                if self.unpushed.get(id)?.is_none() {
                    self.acked.insert(id, bytes)?;
                }
            }
        }
        Ok(())
    }

    /// A lead's document as stored now, and its next change sequence number.
    pub(crate) fn load(&self, id: &LeadId, actor: &ActorId) -> Result<(LeadDoc, u32), StoreError> {
        self.load_if_present(id, actor)?
            .ok_or_else(|| StoreError::Missing(id.clone()))
    }

    /// Like [`LeadTables::load`], with `None` for a lead not in the store.
    pub(crate) fn load_if_present(
        &self,
        id: &LeadId,
        actor: &ActorId,
    ) -> Result<Option<(LeadDoc, u32)>, StoreError> {
        load_from(&self.docs, &self.keys, &self.changes, id, actor)
    }

    /// Ids of the leads that have pending incremental changes.
    pub(crate) fn leads_with_changes(&self) -> Result<Vec<LeadId>, StoreError> {
        let mut ids: Vec<LeadId> = Vec::new();
        for entry in self.changes.iter()? {
            let text = entry?.0.value().0.to_owned();
            let id = LeadId::parse(&text).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "changes filed under '{text}', which is not a lead id"
                ))
            })?;
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Whether the store has a document for `id`.
    pub(crate) fn contains(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.keys.get(id)?.is_some())
    }

    /// Ids of every lead with a document.
    pub(crate) fn lead_ids(&self) -> Result<Vec<LeadId>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.keys.iter()? {
            let text = entry?.0.value().to_owned();
            ids.push(LeadId::parse(&text).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "a document is filed under '{text}', which is not a lead id"
                ))
            })?);
        }
        Ok(ids)
    }

    /// Stores the changes made to `doc` (now reading as `lead`) since `heads`, folding them into
    /// the saved document once [`COMPACT_AFTER`] have accumulated, and updates its row.
    pub(crate) fn store_changes(
        &mut self,
        doc: &LeadDoc,
        lead: &Lead,
        heads: &[automerge::ChangeHash],
        next_seq: u32,
        origin: Origin,
    ) -> Result<(), StoreError> {
        let id = lead.id.as_str();
        if next_seq + 1 >= COMPACT_AFTER {
            self.fold(&lead.id, doc)?;
        } else {
            self.changes
                .insert((id, next_seq), doc.save_after(heads).as_slice())?;
        }
        self.record_heads(id, &doc.heads(), origin)?;
        self.put_row(lead)
    }

    /// Saves `doc` whole under its key and drops the lead's pending changes.
    pub(crate) fn fold(&mut self, id: &LeadId, doc: &LeadDoc) -> Result<(), StoreError> {
        let id = id.as_str();
        let key = doc_key(&self.keys, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("lead {id} has no document key")))?;
        self.docs.insert(key, doc.save().as_slice())?;
        self.changes
            .retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
        Ok(())
    }

    /// Writes a lead's projection row.
    pub(crate) fn put_row(&mut self, lead: &Lead) -> Result<(), StoreError> {
        self.rows
            .insert(lead.id.as_str(), encode_row(lead)?.as_slice())?;
        Ok(())
    }

    /// Applies `actions` to a stored lead as this device, and stores the change.
    fn apply_local(
        &mut self,
        id: &LeadId,
        actions: &[Action],
        pipeline: &Pipeline,
        actor: &ActorId,
        stamp: &Stamp,
    ) -> Result<Updated, StoreError> {
        let (mut doc, next_seq) = self.load(id, actor)?;
        let heads = doc.heads();
        let changed = doc.apply(actions, pipeline, stamp)?;
        let lead = doc.view();
        if changed {
            self.store_changes(&doc, &lead, &heads, next_seq, Origin::Local)?;
        }
        Ok(Updated { changed, lead })
    }

    /// Removes every projection row.
    pub(crate) fn clear_rows(&mut self) -> Result<(), StoreError> {
        self.rows.retain(|_, _| false)?;
        Ok(())
    }
}

impl Store {
    /// Creates one lead; validation failures write nothing.
    pub fn create_lead(&mut self, history: LeadHistory) -> Result<LeadId, StoreError> {
        let new = PreparedLead::build(&history, &self.meta.pipeline, &self.meta.actor)?;
        self.write(|txn| LeadTables::open(txn)?.insert_new(&new, Origin::Local))?;
        Ok(history.id)
    }

    /// Creates many leads in one transaction: all of them, or none if one fails.
    /// `progress` is called with the number handed to the builders so far.
    pub fn create_leads(
        &mut self,
        histories: impl IntoIterator<Item = LeadHistory>,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        self.write_batch(|batch| {
            let mut count = 0;
            let mut histories = histories.into_iter().peekable();
            while histories.peek().is_some() {
                let pending: Vec<LeadHistory> = histories.by_ref().take(BUILD_BATCH).collect();
                count += pending.len();
                batch.create_all(pending)?;
                progress(count);
            }
            Ok(count)
        })
    }

    /// Runs `work` in one write transaction: every lead it creates or changes is written, or,
    /// if it returns an error (its own, such as a file that cannot be read any further, or the
    /// store's), none is.
    pub fn write_batch<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut LeadBatch<'_, '_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let (pipeline, actor) = (self.meta.pipeline.clone(), self.meta.actor.clone());
        self.write_with(|txn| {
            let mut batch = LeadBatch {
                tables: LeadTables::open(txn)?,
                pipeline: &pipeline,
                actor: &actor,
                building: None,
            };
            let done = work(&mut batch)?;
            batch.flush()?;
            Ok(done)
        })
    }

    /// Applies `actions` to a lead as one change. A refused action writes nothing.
    pub fn update_lead(
        &mut self,
        id: &LeadId,
        actions: &[Action],
        stamp: &Stamp,
    ) -> Result<Updated, StoreError> {
        let mut preview = self.load(id)?;
        if !preview.apply(actions, &self.meta.pipeline, stamp)? {
            return Ok(Updated {
                changed: false,
                lead: preview.view(),
            });
        }
        let (pipeline, actor) = (self.meta.pipeline.clone(), self.meta.actor.clone());
        self.write(|txn| LeadTables::open(txn)?.apply_local(id, actions, &pipeline, &actor, stamp))
    }

    /// Applies each lead's actions as one change to that lead, all in one transaction: every
    /// lead changes or, if one is refused, none does. Returns how many leads changed.
    pub fn update_leads(
        &mut self,
        updates: &[(LeadId, Vec<Action>)],
        stamp: &Stamp,
    ) -> Result<usize, StoreError> {
        self.write_batch(|batch| {
            let mut changed = 0;
            for (id, actions) in updates {
                changed += usize::from(batch.update(id, actions, stamp)?.changed);
            }
            Ok(changed)
        })
    }

    /// Loads a lead's document.
    pub fn load(&self, id: &LeadId) -> Result<LeadDoc, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let docs = txn.open_table(DOCS)?;
        let keys = txn.open_table(DOC_KEYS)?;
        let changes = txn.open_table(CHANGES)?;
        load_from(&docs, &keys, &changes, id, &self.meta.actor)?
            .map(|(doc, _)| doc)
            .ok_or_else(|| StoreError::Missing(id.clone()))
    }

    /// Every lead's projection row, deleted ones included, in id order.
    pub fn rows(&self) -> Result<Vec<LeadRow>, StoreError> {
        let mut rows = Vec::new();
        self.visit_rows(|batch| {
            rows.append(batch);
            Ok::<_, StoreError>(())
        })?;
        Ok(rows)
    }

    /// Calls `visit` with every lead's projection row, deleted ones included, in id order, a
    /// batch of a few thousand at a time, so that a caller that needs each row
    /// only once holds one batch, not the store. `visit` may take the rows out of the batch.
    pub fn visit_rows<E: From<StoreError>>(
        &self,
        mut visit: impl FnMut(&mut Vec<LeadRow>) -> Result<(), E>,
    ) -> Result<(), E> {
        let txn = self.handle()?.begin_read()?;
        let table = txn.open_table(ROWS).map_err(StoreError::from)?;
        let mut entries = table.iter().map_err(StoreError::from)?;
        // Decoding is most of the time of reading rows, so one batch is decoded on all cores
        // while the next is read out of redb's pages.
        let (mut reading, mut decoding) = (RawRows::default(), RawRows::default());
        let (mut scratch, mut decoded) = (Vec::new(), Vec::with_capacity(ROWS_PER_BATCH));
        reading.read(&mut entries)?;
        while !reading.spans.is_empty() {
            std::mem::swap(&mut reading, &mut decoding);
            let (read, decoding_done) = rayon::join(
                || reading.read(&mut entries),
                || decoding.decode_into(&mut scratch, &mut decoded),
            );
            read?;
            decoding_done?;
            visit(&mut decoded)?;
            decoded.clear();
        }
        Ok(())
    }

    /// The one lead whose id starts with `prefix` (at least 4 characters).
    pub fn resolve(&self, prefix: &str) -> Result<LeadId, LookupError> {
        let wanted = normalize_prefix(prefix).map_err(LookupError::Malformed)?;
        let txn = self.handle()?.begin_read().map_err(LookupError::Store)?;
        let rows = txn
            .open_table(ROWS)
            .map_err(|e| LookupError::Store(e.into()))?;
        let mut matches = Vec::new();
        for entry in rows
            .range(wanted.as_str()..)
            .map_err(|e| LookupError::Store(e.into()))?
        {
            let (key, bytes) = entry.map_err(|e| LookupError::Store(e.into()))?;
            if !key.value().starts_with(&wanted) || matches.len() == 5 {
                break;
            }
            let company = postcard::from_bytes::<LeadRow>(bytes.value())
                .map(|row| row.company.into())
                .unwrap_or_default();
            matches.push((
                LeadId::parse(key.value())
                    .ok_or_else(|| LookupError::NotFound(prefix.to_owned()))?,
                company,
            ));
        }
        match matches.len() {
            0 => Err(LookupError::NotFound(prefix.trim().to_owned())),
            1 => Ok(matches.remove(0).0),
            _ => Err(LookupError::Ambiguous {
                prefix: prefix.trim().to_owned(),
                matches,
            }),
        }
    }
}

/// Rows read per batch by [`Store::visit_rows`].
const ROWS_PER_BATCH: usize = 4096;

/// A batch of encoded rows copied out of redb's pages, so that other threads can decode them.
#[derive(Default)]
struct RawRows {
    /// Each entry's key then row, back to back.
    bytes: Vec<u8>,
    /// Per entry: where its key starts, where its row starts, where it ends.
    spans: Vec<(usize, usize, usize)>,
}

impl RawRows {
    /// Replaces the batch with the next [`ROWS_PER_BATCH`] entries (none at the end).
    fn read(
        &mut self,
        entries: &mut Range<'_, &'static str, &'static [u8]>,
    ) -> Result<(), StoreError> {
        self.bytes.clear();
        self.spans.clear();
        for entry in entries.by_ref().take(ROWS_PER_BATCH) {
            let (key, row) = entry?;
            let key_at = self.bytes.len();
            self.bytes.extend_from_slice(key.value().as_bytes());
            let row_at = self.bytes.len();
            self.bytes.extend_from_slice(row.value());
            self.spans.push((key_at, row_at, self.bytes.len()));
        }
        Ok(())
    }

    /// Decodes the batch on all cores and appends its rows to `rows` in order; `scratch` is
    /// reused from batch to batch.
    fn decode_into(
        &self,
        scratch: &mut Vec<Result<LeadRow, StoreError>>,
        rows: &mut Vec<LeadRow>,
    ) -> Result<(), StoreError> {
        self.spans
            .par_iter()
            .map(|&(key_at, row_at, end)| {
                postcard::from_bytes(&self.bytes[row_at..end]).map_err(|err| {
                    StoreError::Corrupt(format!(
                        "row of lead {}: {err}",
                        String::from_utf8_lossy(&self.bytes[key_at..row_at])
                    ))
                })
            })
            .collect_into_vec(scratch);
        for row in scratch.drain(..) {
            rows.push(row?);
        }
        Ok(())
    }
}
