//! Creating, changing, loading and listing leads.
//!
//! A change is checked twice: first against the document as read (through the read-only
//! handle, so a refusal writes nothing), then applied again inside the write transaction to the
//! document as it is at that moment, so a change another process committed in between is
//! merged rather than overwritten, and this device's Automerge sequence numbers never repeat.

use automerge::ActorId;
use fieldsync_model::id::normalize_prefix;
use fieldsync_model::search::Search;
use fieldsync_model::{Action, Lead, LeadDoc, LeadHistory, LeadId, LeadRow, Pipeline, Stamp};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;

use rayon::prelude::*;
use redb::{Database, Range, ReadableTable, Table, WriteTransaction};

use crate::Store;
use crate::error::{LookupError, StoreError};
use crate::numbers::{self, Numbering};
use crate::packing::unpack;
use crate::staged::{self, LeadEntries, UndoLog};
use crate::tables::{
    ACKED, CHANGES, COMPACT_AFTER, DICTIONARIES, DOC_KEYS, DOCS, HEADS, ROWS, UNPUSHED,
};

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

/// Calls to [`LeadBatch::create_all`] whose leads may be building while the writer inserts
/// older ones: with one, a core sat idle whenever inserting took longer than building.
const BUILDS_AHEAD: usize = 4;

/// The leads written by one [`Store::write_batch`]: a staged write (`crate::staged`), all of
/// it kept or none.
pub struct LeadBatch<'db, 'meta> {
    db: &'db Database,
    /// The open stage; `None` only if a stage's commit or the next one's start failed.
    txn: Option<WriteTransaction>,
    /// Leads written in the open stage, and how many a stage holds.
    in_stage: usize,
    stage_leads: usize,
    /// Whether a stage has been committed, so that undoing needs the savepoint.
    committed: bool,
    pipeline: &'meta Pipeline,
    actor: &'meta ActorId,
    /// The leads of the last calls to `create_all`, oldest first, being built on the thread
    /// pool.
    building: VecDeque<mpsc::Receiver<Result<Vec<PreparedLead>, StoreError>>>,
    /// The lead numbers given so far, saved with each stage.
    numbering: Numbering,
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

/// Runs `work` as one staged write on `db`, undone if it fails.
fn batch_into<T, E: From<StoreError>>(
    db: &Database,
    stage_leads: usize,
    pipeline: &Pipeline,
    actor: &ActorId,
    work: impl FnOnce(&mut LeadBatch<'_, '_>) -> Result<T, E>,
) -> Result<T, E> {
    let mut batch = LeadBatch::begin(db, stage_leads, pipeline, actor)?;
    work(&mut batch)
        .and_then(|done| batch.finish().map(|()| done).map_err(E::from))
        .or_else(|err| {
            batch.undo()?;
            Err(err)
        })
}

impl<'db, 'meta> LeadBatch<'db, 'meta> {
    /// Starts a staged write on `db`.
    fn begin(
        db: &'db Database,
        stage_leads: usize,
        pipeline: &'meta Pipeline,
        actor: &'meta ActorId,
    ) -> Result<Self, StoreError> {
        let txn = db.begin_write()?;
        staged::begin(&txn)?;
        let numbering = numbers::numbering(&txn, actor)?;
        Ok(LeadBatch {
            numbering,
            db,
            txn: Some(txn),
            in_stage: 0,
            stage_leads: stage_leads.max(1),
            committed: false,
            pipeline,
            actor,
            building: VecDeque::new(),
        })
    }

    /// The open stage.
    fn stage(&self) -> Result<&WriteTransaction, StoreError> {
        self.txn
            .as_ref()
            .ok_or_else(|| StoreError::Storage("a stage of the write failed to start".into()))
    }

    /// Counts `leads` written; commits the stage once it is full and opens the next.
    fn wrote(&mut self, leads: usize) -> Result<(), StoreError> {
        self.in_stage += leads;
        if self.in_stage >= self.stage_leads {
            if let Some(txn) = self.txn.take() {
                txn.commit()?;
            }
            self.committed = true;
            self.in_stage = 0;
            self.txn = Some(self.db.begin_write()?);
        }
        Ok(())
    }

    /// Inserts the leads still being built, and keeps everything written.
    fn finish(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        staged::finish(self.stage()?)?;
        if let Some(txn) = self.txn.take() {
            txn.commit()?;
        }
        Ok(())
    }

    /// Drops everything written: the open stage, and the committed ones if there are any.
    fn undo(mut self) -> Result<(), StoreError> {
        if let Some(txn) = self.txn.take() {
            txn.abort()?;
        }
        if self.committed {
            staged::undo(self.db, self.stage_leads)?;
        }
        Ok(())
    }

    /// Creates leads with their histories. Their documents are built on the thread pool (most
    /// of the work) while the caller goes on: up to [`BUILDS_AHEAD`] calls' leads are being
    /// built while this call inserts the oldest ones built, and the caller reads its next
    /// rows. The batch inserts the last ones before it ends (or before an update, which may
    /// concern them).
    pub fn create_all(&mut self, mut histories: Vec<LeadHistory>) -> Result<(), StoreError> {
        for history in &mut histories {
            self.numbering.number(history);
        }
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
        self.building.push_back(building);
        while self.building.len() > BUILDS_AHEAD {
            self.insert_oldest()?;
        }
        Ok(())
    }

    /// Waits for the oldest build and inserts what it built.
    fn insert_oldest(&mut self) -> Result<(), StoreError> {
        let Some(building) = self.building.pop_front() else {
            return Ok(());
        };
        let built = building
            .recv()
            .map_err(|_| StoreError::Storage("a lead builder stopped".into()))??;
        let txn = self.stage()?;
        let (mut tables, mut undo) = (LeadTables::open(txn)?, UndoLog::open(txn)?);
        for lead in &built {
            undo.created(lead.id.as_str())?;
            tables.insert_new(lead, Origin::Local)?;
        }
        drop((tables, undo));
        self.numbering.save(txn)?;
        self.wrote(built.len())
    }

    /// Inserts the leads still being built.
    fn flush(&mut self) -> Result<(), StoreError> {
        while !self.building.is_empty() {
            self.insert_oldest()?;
        }
        Ok(())
    }

    /// Applies each lead's actions as one change to that lead, as [`LeadBatch::update`]
    /// would one after the other, [`BUILD_BATCH`] leads at a time: the writer reads their
    /// entries, the thread pool loads and changes their documents, and the writer stores the
    /// changes. Returns how many leads changed.
    pub fn update_all(
        &mut self,
        updates: &[(LeadId, Vec<Action>)],
        stamp: &Stamp,
    ) -> Result<usize, StoreError> {
        self.flush()?;
        let mut changed = 0;
        let mut rest = updates;
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(distinct_prefix(rest, BUILD_BATCH));
            rest = after;
            let txn = self.stage()?;
            let mut tables = LeadTables::open(txn)?;
            let mut undo = UndoLog::open(txn)?;
            let mut stored = Vec::with_capacity(chunk.len());
            for (id, actions) in chunk {
                let entries = tables
                    .entries(id.as_str())?
                    .ok_or_else(|| StoreError::Missing(id.clone()))?;
                undo.record(id.as_str(), Some(&entries))?;
                stored.push((entries, actions));
            }
            let prepared = stored
                .par_iter()
                .map(|(entries, actions)| {
                    prepare_update(entries, actions, self.pipeline, self.actor, stamp)
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for change in prepared.iter().flatten() {
                tables.write_change(change, Origin::Local)?;
            }
            drop((tables, undo));
            let chunk_changed = prepared.iter().flatten().count();
            changed += chunk_changed;
            self.wrote(chunk_changed)?;
        }
        Ok(changed)
    }

    /// Applies `actions` to a lead (stored, or created earlier in this batch) as one change.
    pub fn update(
        &mut self,
        id: &LeadId,
        actions: &[Action],
        stamp: &Stamp,
    ) -> Result<Updated, StoreError> {
        self.flush()?;
        let txn = self.stage()?;
        let mut tables = LeadTables::open(txn)?;
        UndoLog::open(txn)?.touching(&tables, id.as_str())?;
        let updated = tables.apply_local(id, actions, self.pipeline, self.actor, stamp)?;
        drop(tables);
        self.wrote(usize::from(updated.changed))?;
        Ok(updated)
    }
}

/// How a change to a stored lead is kept.
enum Saved {
    /// The whole document, replacing the saved one and its pending changes.
    Whole(Vec<u8>),
    /// One more pending change, with its sequence number.
    Chunk(u32, Vec<u8>),
}

/// A change to a stored lead ready to write: everything derived from its document, computed
/// off the writer.
struct PreparedChange {
    id: LeadId,
    saved: Saved,
    heads: Vec<u8>,
    row: Vec<u8>,
}

impl PreparedChange {
    /// The change made to `doc` (now reading as `lead`) since `heads`: folded into the whole
    /// document once [`COMPACT_AFTER`] changes have accumulated.
    fn new(
        doc: &LeadDoc,
        lead: &Lead,
        heads: &[automerge::ChangeHash],
        next_seq: u32,
    ) -> Result<Self, StoreError> {
        Ok(PreparedChange {
            id: lead.id.clone(),
            saved: if next_seq + 1 >= COMPACT_AFTER {
                Saved::Whole(doc.save())
            } else {
                Saved::Chunk(next_seq, doc.save_after(heads))
            },
            heads: fieldsync_model::heads::to_bytes(&doc.heads()),
            row: encode_row(lead)?,
        })
    }
}

/// The length of the longest start of `updates`, up to `most`, that changes no lead twice:
/// a lead's second change must see its first.
fn distinct_prefix(updates: &[(LeadId, Vec<Action>)], most: usize) -> usize {
    let mut seen = std::collections::HashSet::new();
    updates
        .iter()
        .take(most)
        .take_while(|(id, _)| seen.insert(id))
        .count()
}

/// Applies `actions` to `doc` (whose next change sequence number is `next_seq`) as one
/// change: the lead it then reads as, and the change to write (`None` if nothing changed).
fn change_doc(
    mut doc: LeadDoc,
    next_seq: u32,
    actions: &[Action],
    pipeline: &Pipeline,
    stamp: &Stamp,
) -> Result<(Lead, Option<PreparedChange>), StoreError> {
    let heads = doc.heads();
    let changed = doc.apply(actions, pipeline, stamp)?;
    let lead = doc.view();
    let change = changed
        .then(|| PreparedChange::new(&doc, &lead, &heads, next_seq))
        .transpose()?;
    Ok((lead, change))
}

/// [`change_doc`] on the lead stored as `entries`.
fn prepare_update(
    entries: &LeadEntries,
    actions: &[Action],
    pipeline: &Pipeline,
    actor: &ActorId,
    stamp: &Stamp,
) -> Result<Option<PreparedChange>, StoreError> {
    let chunks = entries
        .changes
        .iter()
        .map(|(seq, chunk)| (*seq, chunk.as_slice()));
    let (doc, next_seq) = assemble(&entries.doc, chunks, actor)?;
    Ok(change_doc(doc, next_seq, actions, pipeline, stamp)?.1)
}

/// The `DOCS` key of a lead, from `DOC_KEYS`; `None` if the lead is not in the store.
pub(crate) fn doc_key<'a>(
    keys: &impl ReadableTable<&'static str, u64>,
    id: &'a str,
) -> Result<Option<(u64, &'a str)>, StoreError> {
    Ok(keys.get(id)?.map(|created| (created.value(), id)))
}

/// The creation time a new lead's document is filed at, unless the last one filed is later
/// (ms since the epoch; never negative).
fn filing_time(lead: &Lead) -> u64 {
    u64::try_from(lead.created_at.timestamp_millis()).unwrap_or(0)
}

/// Loads a lead's document from its saved bytes and pending changes; also returns the next
/// change sequence number.
fn load_from(
    docs: &impl ReadableTable<(u64, &'static str), &'static [u8]>,
    keys: &impl ReadableTable<&'static str, u64>,
    changes: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    dictionaries: &impl ReadableTable<u32, &'static [u8]>,
    id: &LeadId,
    actor: &ActorId,
) -> Result<Option<(LeadDoc, u32)>, StoreError> {
    let Some(key) = doc_key(keys, id.as_str())? else {
        return Ok(None);
    };
    let saved = docs
        .get(key)?
        .ok_or_else(|| StoreError::Corrupt(format!("the document of lead {id} is missing")))?;
    let mut chunks = Vec::new();
    for entry in changes.range((id.as_str(), 0)..=(id.as_str(), u32::MAX))? {
        let (key, chunk) = entry?;
        chunks.push((key.value().1, chunk));
    }
    let chunks = chunks.iter().map(|(seq, chunk)| (*seq, chunk.value()));
    assemble(&unpack(saved.value(), dictionaries)?, chunks, actor).map(Some)
}

/// A document from its saved bytes and its pending changes in sequence order; also returns
/// the next change sequence number.
fn assemble<'a>(
    saved: &[u8],
    changes: impl Iterator<Item = (u32, &'a [u8])>,
    actor: &ActorId,
) -> Result<(LeadDoc, u32), StoreError> {
    let mut doc = LeadDoc::load(saved, actor.clone())?;
    let mut next = 0;
    for (seq, chunk) in changes {
        doc.load_incremental(chunk)?;
        next = seq + 1;
    }
    Ok((doc, next))
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
    pub(crate) dictionaries: Table<'txn, u32, &'static [u8]>,
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
            dictionaries: txn.open_table(DICTIONARIES)?,
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
        // Filed after the last document, so that leads created together (an import, all
        // created "now") append to the B-tree rather than land among each other at random.
        let last = self.docs.last()?.map(|(key, _)| key.value().0);
        let filed_at = last.map_or(lead.filed_at, |last| lead.filed_at.max(last + 1));
        self.keys.insert(id, filed_at)?;
        self.docs.insert((filed_at, id), lead.saved.as_slice())?;
        self.record_head_bytes(id, &lead.heads, origin)?;
        self.rows.insert(id, lead.row.as_slice())?;
        Ok(())
    }

    /// Every entry of lead `id`; `None` if it is not in the store.
    pub(crate) fn entries(&self, id: &str) -> Result<Option<LeadEntries>, StoreError> {
        let Some(filed_at) = self.keys.get(id)?.map(|at| at.value()) else {
            return Ok(None);
        };
        let bytes = |entry: Option<redb::AccessGuard<'_, &'static [u8]>>| {
            entry.map(|bytes| bytes.value().to_vec())
        };
        let mut changes = Vec::new();
        for entry in self.changes.range((id, 0)..=(id, u32::MAX))? {
            let (key, chunk) = entry?;
            changes.push((key.value().1, chunk.value().to_vec()));
        }
        Ok(Some(LeadEntries {
            filed_at,
            doc: bytes(self.docs.get((filed_at, id))?).unwrap_or_default(),
            changes,
            row: bytes(self.rows.get(id)?),
            heads: bytes(self.heads.get(id)?),
            acked: bytes(self.acked.get(id)?),
            unpushed: self.unpushed.get(id)?.is_some(),
        }))
    }

    /// Replaces every entry of lead `id` with `entries`, or removes the lead if `None`.
    pub(crate) fn put_entries(
        &mut self,
        id: &str,
        entries: Option<&LeadEntries>,
    ) -> Result<(), StoreError> {
        if let Some(filed_at) = self.keys.remove(id)?.map(|at| at.value()) {
            self.docs.remove((filed_at, id))?;
        }
        self.changes
            .retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
        self.rows.remove(id)?;
        self.heads.remove(id)?;
        self.acked.remove(id)?;
        self.unpushed.remove(id)?;
        let Some(entries) = entries else {
            return Ok(());
        };
        self.keys.insert(id, entries.filed_at)?;
        self.docs
            .insert((entries.filed_at, id), entries.doc.as_slice())?;
        for (seq, chunk) in &entries.changes {
            self.changes.insert((id, *seq), chunk.as_slice())?;
        }
        let optional = [
            (&mut self.rows, &entries.row),
            (&mut self.heads, &entries.heads),
            (&mut self.acked, &entries.acked),
        ];
        for (table, value) in optional {
            if let Some(value) = value {
                table.insert(id, value.as_slice())?;
            }
        }
        if entries.unpushed {
            self.unpushed.insert(id, ())?;
        }
        Ok(())
    }

    /// Records a document's new heads (as bytes) and whether the relay still lacks some of it.
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
        load_from(
            &self.docs,
            &self.keys,
            &self.changes,
            &self.dictionaries,
            id,
            actor,
        )
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
        self.write_change(&PreparedChange::new(doc, lead, heads, next_seq)?, origin)
    }

    /// Writes a change [`PreparedChange::new`] made ready.
    fn write_change(&mut self, change: &PreparedChange, origin: Origin) -> Result<(), StoreError> {
        let id = change.id.as_str();
        match &change.saved {
            Saved::Whole(bytes) => self.replace_doc(id, bytes)?,
            Saved::Chunk(seq, bytes) => {
                self.changes.insert((id, *seq), bytes.as_slice())?;
            }
        }
        self.record_head_bytes(id, &change.heads, origin)?;
        self.rows.insert(id, change.row.as_slice())?;
        Ok(())
    }

    /// Saves `doc` whole under its key and drops the lead's pending changes.
    pub(crate) fn fold(&mut self, id: &LeadId, doc: &LeadDoc) -> Result<(), StoreError> {
        self.replace_doc(id.as_str(), &doc.save())
    }

    /// A lead's saved document as stored (without its pending changes), packed or not.
    pub(crate) fn saved(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let key = doc_key(&self.keys, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("lead {id} has no document key")))?;
        Ok(self
            .docs
            .get(key)?
            .map(|bytes| bytes.value().to_vec())
            .unwrap_or_default())
    }

    /// A saved document's Automerge bytes.
    pub(crate) fn unpacked(&self, saved: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(unpack(saved, &self.dictionaries)?.into_owned())
    }

    /// Replaces a lead's saved document with `bytes` (the same document, saved again) and
    /// drops its pending changes.
    pub(crate) fn replace_saved(&mut self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.replace_doc(id, bytes)
    }

    /// Replaces a lead's saved document with `bytes` and drops its pending changes.
    fn replace_doc(&mut self, id: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let key = doc_key(&self.keys, id)?
            .ok_or_else(|| StoreError::Corrupt(format!("lead {id} has no document key")))?;
        self.docs.insert(key, bytes)?;
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
        let (doc, next_seq) = self.load(id, actor)?;
        let (lead, change) = change_doc(doc, next_seq, actions, pipeline, stamp)?;
        if let Some(change) = &change {
            self.write_change(change, Origin::Local)?;
        }
        Ok(Updated {
            changed: change.is_some(),
            lead,
        })
    }

    /// Removes every projection row.
    pub(crate) fn clear_rows(&mut self) -> Result<(), StoreError> {
        self.rows.retain(|_, _| false)?;
        Ok(())
    }
}

impl Store {
    /// Creates one lead; validation failures, and an owner the roster refuses (see
    /// [`fieldsync_model::Roster::check_owner`]), write nothing.
    pub fn create_lead(&mut self, mut history: LeadHistory) -> Result<LeadId, StoreError> {
        self.check_owner(history.new.owner.as_deref())?;
        // Checked before the file is opened for writing: a refused lead leaves its bytes as
        // they were. The lead is built again with its number inside the write.
        PreparedLead::build(&history, &self.meta.pipeline, &self.meta.actor)?;
        let (pipeline, actor) = (self.meta.pipeline.clone(), self.meta.actor.clone());
        self.write(|txn| {
            let mut numbering = numbers::numbering(txn, &actor)?;
            numbering.number(&mut history);
            let new = PreparedLead::build(&history, &pipeline, &actor)?;
            LeadTables::open(txn)?.insert_new(&new, Origin::Local)?;
            numbering.save(txn)
        })?;
        Ok(history.id)
    }

    /// Creates many leads in one transaction: all of them, or none if one fails (an owner the
    /// roster refuses among them).
    /// `progress` is called with the number handed to the builders so far.
    pub fn create_leads(
        &mut self,
        histories: impl IntoIterator<Item = LeadHistory>,
        mut progress: impl FnMut(usize),
    ) -> Result<usize, StoreError> {
        let (members, me) = (self.members()?, self.me().to_owned());
        let roster = fieldsync_model::Roster {
            members: &members,
            me: &me,
        };
        self.write_batch(|batch| {
            let mut count = 0;
            let mut histories = histories.into_iter().peekable();
            while histories.peek().is_some() {
                let pending: Vec<LeadHistory> = histories.by_ref().take(BUILD_BATCH).collect();
                for history in &pending {
                    roster.check_owner("owner", history.new.owner.as_deref())?;
                }
                count += pending.len();
                batch.create_all(pending)?;
                progress(count);
            }
            Ok(count)
        })
    }

    /// Runs `work` as one staged write (`crate::staged`): every lead it creates or changes is
    /// kept, or, if it returns an error (its own, such as a file that cannot be read any
    /// further, or the store's) or the process dies, none is.
    pub fn write_batch<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut LeadBatch<'_, '_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let (pipeline, actor) = (self.meta.pipeline.clone(), self.meta.actor.clone());
        let stage_leads = self.options.stage_leads;
        batch_into(self.writer()?, stage_leads, &pipeline, &actor, work)
    }

    /// [`Store::write_batch`] into a copy of the store made at `copy` (a path on the store's
    /// file system that does not exist yet), which then replaces the store. Other processes
    /// read the store as last committed for as long as the batch takes, instead of waiting
    /// for it; writers wait as they would. Refused, with nothing written, if the store was
    /// replaced meanwhile by another such write. A store already open for writing, or a
    /// system without the means to check, writes in place.
    pub fn write_batch_in_copy<T, E: From<StoreError>>(
        &mut self,
        copy: &Path,
        work: impl FnOnce(&mut LeadBatch<'_, '_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if !self.reads_shared() {
            return self.write_batch(work);
        }
        let (pipeline, actor) = (self.meta.pipeline.clone(), self.meta.actor.clone());
        let stage_leads = self.options.stage_leads;
        // This store's shared read lock keeps every writer out while the copy is made and
        // written: the copy starts from the last commit, and nothing commits after it.
        let copied = crate::replace::Copy::of(self.path(), copy)?;
        let done = batch_into(copied.database(), stage_leads, &pipeline, &actor, work)?;
        copied.replace(self.path())?;
        self.reopen_read()?;
        Ok(done)
    }

    /// Refuses an assignment the roster does not allow, before anything is written.
    fn check_assignments<'a>(
        &self,
        actions: impl IntoIterator<Item = &'a Action>,
    ) -> Result<(), StoreError> {
        for action in actions {
            if let Action::Assign { owner, .. } = action {
                self.check_owner(owner.as_deref())?;
            }
        }
        Ok(())
    }

    /// Applies `actions` to a lead as one change. A refused action writes nothing.
    pub fn update_lead(
        &mut self,
        id: &LeadId,
        actions: &[Action],
        stamp: &Stamp,
    ) -> Result<Updated, StoreError> {
        self.check_assignments(actions)?;
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
        self.check_assignments(updates.iter().flat_map(|(_, actions)| actions))?;
        self.write_batch(|batch| batch.update_all(updates, stamp))
    }

    /// Loads a lead's document.
    pub fn load(&self, id: &LeadId) -> Result<LeadDoc, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let docs = txn.open_table(DOCS)?;
        let keys = txn.open_table(DOC_KEYS)?;
        let changes = txn.open_table(CHANGES)?;
        let dictionaries = txn.open_table(DICTIONARIES)?;
        load_from(&docs, &keys, &changes, &dictionaries, id, &self.meta.actor)?
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

    /// The one lead `text` names: by the start of its id (at least 4 hex characters), by its
    /// lead number, or else as the one lead (not deleted) a [`Search`] for it finds.
    pub fn find(&self, text: &str) -> Result<LeadId, LookupError> {
        let by_id = match self.resolve(text) {
            Err(err @ (LookupError::Malformed(_) | LookupError::NotFound(_))) => err,
            found => return found,
        };
        // What was typed like an id and matches no name keeps the id's error ("too short").
        let looks_like_id = text.trim().bytes().all(|b| b.is_ascii_hexdigit());
        // A lead number names its lead exactly.
        if fieldsync_model::number::looks_like_number(text) {
            let wanted = text.trim().to_ascii_uppercase();
            let mut numbered: Vec<(LeadId, String)> = Vec::new();
            self.visit_rows(|rows| {
                let found = rows
                    .iter()
                    .filter(|row| !row.deleted && row.number == wanted);
                numbered.extend(found.map(|row| (row.id.clone(), row.company.to_string())));
                Ok::<_, LookupError>(())
            })?;
            match numbered.len() {
                0 => {}
                1 => return Ok(numbered.remove(0).0),
                _ => {
                    return Err(LookupError::Ambiguous {
                        prefix: wanted,
                        matches: numbered,
                    });
                }
            }
        }
        let not_found = || match &by_id {
            LookupError::Malformed(problem) if looks_like_id => {
                LookupError::Malformed(problem.clone())
            }
            _ => LookupError::NotFound(text.trim().to_owned()),
        };
        let search = Search::new(text).ok_or_else(not_found)?;
        // Up to five matches, to name in the error.
        let mut matches: Vec<(LeadId, String)> = Vec::new();
        self.visit_rows(|rows| {
            let found = rows
                .iter()
                .filter(|row| !row.deleted && search.matches(row));
            for row in found.take(5 - matches.len()) {
                matches.push((row.id.clone(), row.company.to_string()));
            }
            Ok::<_, LookupError>(())
        })?;
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches.remove(0).0),
            _ => Err(LookupError::Ambiguous {
                prefix: text.trim().to_owned(),
                matches,
            }),
        }
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
