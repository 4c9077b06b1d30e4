//! What the sync protocol needs of the store: the relay this device joined, its position in
//! the relay's changes feed, the documents the relay has not acknowledged, and merging what
//! the relay sends.
//!
//! Every local write marks its lead unpushed and records its heads in the same transaction
//! (see [`crate::leads`]); an acknowledgement clears the mark only if the document has not
//! changed since the push, so an edit made during a sync is pushed next time, never lost.

use automerge::ActorId;
use automerge::ChangeHash;
use fieldsync_model::{LeadDoc, LeadId, TEAM_DOC_ID, heads};
use rayon::prelude::*;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::leads::{LeadTables, Origin, PreparedLead};
use std::ops::Bound;

use crate::leads::doc_key;
use crate::packing::unpack;
use crate::quarantine;
use crate::tables::{
    ACKED, CHANGES, DICTIONARIES, DOC_KEYS, DOCS, HEADS, META, UNPUSHED, meta_key,
};
use crate::team::{self, TeamMerge};
use crate::{Store, decode_json, put_meta};
use fieldsync_model::well_formed::check_document;

/// The relay a device syncs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// The relay's websocket address, `ws://host:port/sync`.
    pub url: String,
    /// The team.
    pub team: String,
    /// The member's token.
    pub token: String,
    /// Certificates (PEM) of the team's own certificate authority, trusted for a `wss://`
    /// relay besides the web's public ones (`join --ca-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

/// A document's changes the relay lacks, to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The lead.
    pub id: String,
    /// The document's heads now.
    pub heads: Vec<ChangeHash>,
    /// The changes since the heads the relay acknowledged (or the whole document).
    pub data: Vec<u8>,
}

/// What merging the relay's changes did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Documents whose changes depend on changes this device lacks; nothing of them was stored.
    pub incomplete: Vec<String>,
    /// Documents that are neither leads nor the team document (from a newer fieldsync); skipped.
    pub skipped: Vec<String>,
    /// Documents that could not be read as what their id says (they do not load, or do not
    /// name themselves), each with the reason; set aside, not stored, not asked for again.
    pub set_aside: Vec<(String, String)>,
    /// Documents that changed.
    pub changed: usize,
    /// Whether the team document changed (and with it, perhaps, the pipeline).
    pub team_changed: bool,
}

/// Starts the relay's feed from the beginning and counts every document (the team document
/// too, if `team_doc`) as not yet pushed, its whole history to go.
fn start_over(txn: &WriteTransaction, team_doc: bool) -> Result<(), StoreError> {
    put_meta(txn, meta_key::SINCE, &0u64)?;
    txn.open_table(ACKED)?.retain(|_, _| false)?;
    let mut ids: Vec<String> = {
        let keys = txn.open_table(DOC_KEYS)?;
        keys.iter()?
            .map(|entry| entry.map(|(id, _)| id.value().to_owned()))
            .collect::<Result<_, _>>()?
    };
    if team_doc {
        ids.push(TEAM_DOC_ID.to_owned());
    }
    let mut unpushed = txn.open_table(UNPUSHED)?;
    for id in &ids {
        unpushed.insert(id.as_str(), ())?;
    }
    Ok(())
}

fn heads_of(bytes: &[u8], id: &str) -> Result<Vec<ChangeHash>, StoreError> {
    heads::from_bytes(bytes).ok_or_else(|| {
        StoreError::Corrupt(format!("the recorded heads of lead {id} are malformed"))
    })
}

impl Store {
    /// The ids of every lead this store holds, in id order.
    pub fn lead_ids(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let ids = txn
            .open_table(DOC_KEYS)?
            .iter()?
            .map(|entry| entry.map(|(id, _)| id.value().to_owned()))
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// The relay this device joined, if any.
    pub fn remote(&self) -> Result<Option<Remote>, StoreError> {
        self.read_meta_value(meta_key::REMOTE)
    }

    /// The sign-in ticket the relay gave this device at its last sign-in (empty if none).
    pub fn sign_in_ticket(&self) -> Result<String, StoreError> {
        Ok(self.read_meta_value(meta_key::TICKET)?.unwrap_or_default())
    }

    /// Keeps the sign-in ticket the relay gave for the next sign-in (written only if new).
    pub fn keep_sign_in_ticket(&mut self, ticket: &str) -> Result<(), StoreError> {
        if ticket.is_empty() || self.sign_in_ticket()? == ticket {
            return Ok(());
        }
        self.write(|txn| put_meta(txn, meta_key::TICKET, &ticket))
    }

    /// Joins a relay. Joining another relay or team starts its feed from the beginning and
    /// counts every document as not yet pushed there.
    pub fn set_remote(&mut self, remote: &Remote) -> Result<(), StoreError> {
        let previous = self.remote()?;
        let same_feed = previous
            .as_ref()
            .is_some_and(|old| old.url == remote.url && old.team == remote.team);
        let actor = self.meta.actor.clone();
        self.write(|txn| {
            put_meta(txn, meta_key::REMOTE, remote)?;
            if !same_feed {
                txn.open_table(META)?.remove(meta_key::FEED)?;
                start_over(txn, team::change_team(txn, &actor)?)?;
            }
            Ok(())
        })
    }

    /// Records that the relay's feed is `feed` (empty from relays that do not name it); if
    /// this device followed another feed of the same relay and team, or the feed is `behind`
    /// this device's position (its copy was restored from a backup), starts over: position 0
    /// and every document counted as not yet pushed. Returns whether it started over.
    pub fn follow_feed(&mut self, feed: &str, behind: bool) -> Result<bool, StoreError> {
        let followed: Option<String> = self.read_meta_value(meta_key::FEED)?;
        let renamed = followed.as_deref().is_some_and(|old| old != feed);
        if !behind && !renamed && followed.as_deref() == Some(feed) {
            return Ok(false);
        }
        let over = behind || renamed;
        let manager = self.is_manager()?;
        self.write(|txn| {
            put_meta(txn, meta_key::FEED, &feed)?;
            if over {
                start_over(txn, manager)?;
            }
            Ok(())
        })?;
        Ok(over)
    }

    /// Whether the team document names this device's member a manager. Only a manager may push
    /// the team document (the pipeline); a rep's copy is the relay's, which the relay has again
    /// from the managers' devices.
    fn is_manager(&self) -> Result<bool, StoreError> {
        Ok(self
            .team()?
            .and_then(|team| team.member(self.me()))
            .is_some_and(|member| member.role == fieldsync_model::Role::Manager))
    }

    /// Starts over with the relay: position 0 and every document this device holds counted as
    /// not yet pushed (the team document only on a manager's device), as after a restore.
    pub fn start_over(&mut self) -> Result<(), StoreError> {
        let manager = self.is_manager()?;
        self.write(|txn| start_over(txn, manager))
    }

    /// The relay's feed position this device has applied everything up to.
    pub fn since(&self) -> Result<u64, StoreError> {
        Ok(self.read_meta_value(meta_key::SINCE)?.unwrap_or(0))
    }

    /// Records the feed position.
    pub fn set_since(&mut self, seq: u64) -> Result<(), StoreError> {
        self.write(|txn| put_meta(txn, meta_key::SINCE, &seq))
    }

    /// Number of leads with changes the relay has not acknowledged.
    pub fn unpushed_count(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let txn = self.handle()?.begin_read()?;
        Ok(txn.open_table(UNPUSHED)?.len()?)
    }

    /// Up to `limit` leads with changes the relay has not acknowledged, after `after` in id
    /// order, each with its changes since what the relay acknowledged.
    pub fn unpushed(&self, after: Option<&str>, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let unpushed = txn.open_table(UNPUSHED)?;
        let range = match after {
            Some(after) => unpushed.range::<&str>((Bound::Excluded(after), Bound::Unbounded))?,
            None => unpushed.range::<&str>(..)?,
        };
        let ids = range
            .take(limit)
            .map(|entry| Ok(entry?.0.value().to_owned()))
            .collect::<Result<Vec<String>, StoreError>>()?;
        self.outgoing(&txn, &ids)
    }

    /// Of `ids`, those with changes the relay has not acknowledged, each with its changes since
    /// what the relay acknowledged.
    pub fn unpushed_of(&self, ids: &[String]) -> Result<Vec<Outgoing>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let unpushed = txn.open_table(UNPUSHED)?;
        let mut pending = Vec::new();
        for id in ids {
            if unpushed.get(id.as_str())?.is_some() {
                pending.push(id.clone());
            }
        }
        self.outgoing(&txn, &pending)
    }

    /// Each of `ids` (all unpushed) with its changes since what the relay acknowledged.
    fn outgoing(
        &self,
        txn: &redb::ReadTransaction,
        ids: &[String],
    ) -> Result<Vec<Outgoing>, StoreError> {
        let acked = txn.open_table(ACKED)?;
        let current = txn.open_table(HEADS)?;
        let docs = txn.open_table(DOCS)?;
        let keys = txn.open_table(DOC_KEYS)?;
        let changes = txn.open_table(CHANGES)?;
        let dictionaries = txn.open_table(DICTIONARIES)?;
        let mut out = Vec::new();
        for id in ids {
            let id = id.clone();
            let base = match acked.get(id.as_str())? {
                Some(bytes) => heads_of(bytes.value(), &id)?,
                None => Vec::new(),
            };
            if id == TEAM_DOC_ID {
                out.extend(team::team_changes(txn, &self.meta.actor, &base)?);
                continue;
            }
            if base.is_empty() {
                // Nothing of it acknowledged: send it as stored, without loading it.
                let heads = current.get(id.as_str())?.ok_or_else(|| {
                    StoreError::Corrupt(format!("lead {id} has no recorded heads"))
                })?;
                let key = doc_key(&keys, &id)?
                    .ok_or_else(|| StoreError::Corrupt(format!("lead {id} has no document key")))?;
                let saved = docs.get(key)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("the document of lead {id} is missing"))
                })?;
                let mut data = unpack(saved.value(), &dictionaries)?.into_owned();
                for chunk in changes.range((id.as_str(), 0)..=(id.as_str(), u32::MAX))? {
                    data.extend_from_slice(chunk?.1.value());
                }
                out.push(Outgoing {
                    heads: heads_of(heads.value(), &id)?,
                    data,
                    id,
                });
                continue;
            }
            let lead = LeadId::parse(&id).ok_or_else(|| {
                StoreError::Corrupt(format!("unpushed entry '{id}' is not a lead id"))
            })?;
            let doc = self.load(&lead)?;
            out.push(Outgoing {
                heads: doc.heads(),
                data: doc.save_after(&base),
                id,
            });
        }
        Ok(out)
    }

    /// A lead's (or the team document's) whole document, to push again.
    pub fn whole(&self, id: &str) -> Result<Option<Outgoing>, StoreError> {
        if id == TEAM_DOC_ID {
            let txn = self.handle()?.begin_read()?;
            return team::team_changes(&txn, &self.meta.actor, &[]);
        }
        let Some(lead) = LeadId::parse(id) else {
            return Ok(None);
        };
        match self.load(&lead) {
            Ok(doc) => Ok(Some(Outgoing {
                id: id.to_owned(),
                heads: doc.heads(),
                data: doc.save(),
            })),
            Err(StoreError::Missing(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Records that the relay holds these heads; a lead whose document still has exactly
    /// those heads has nothing left to push.
    pub fn acknowledge(&mut self, stored: &[(String, Vec<ChangeHash>)]) -> Result<(), StoreError> {
        self.write(|txn| {
            let current = txn.open_table(HEADS)?;
            let mut acked = txn.open_table(ACKED)?;
            let mut unpushed = txn.open_table(UNPUSHED)?;
            for (id, pushed) in stored {
                if current.get(id.as_str())?.is_none() {
                    // Dropped since it was pushed (the member no longer sees it).
                    continue;
                }
                let bytes = heads::to_bytes(pushed);
                acked.insert(id.as_str(), bytes.as_slice())?;
                let unchanged = current
                    .get(id.as_str())?
                    .is_some_and(|now| now.value() == bytes.as_slice());
                if unchanged {
                    unpushed.remove(id.as_str())?;
                }
            }
            Ok(())
        })
    }

    /// Each lead's current heads, `None` for a lead not in the store.
    pub fn heads(&self, ids: &[&str]) -> Result<Vec<Option<Vec<ChangeHash>>>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let table = txn.open_table(HEADS)?;
        ids.iter()
            .map(|id| match table.get(*id)? {
                Some(bytes) => heads_of(bytes.value(), id).map(Some),
                None => Ok(None),
            })
            .collect()
    }

    /// Merges changes from the relay into the leads, all in one transaction. Leads new to
    /// this device are read on every core first (reading a document is most of the cost).
    pub fn merge_remote(&mut self, incoming: &[(&str, &[u8])]) -> Result<Merged, StoreError> {
        let actor = self.meta.actor.clone();
        let merged = self.write(|txn| {
            let mut merged = Merged::default();
            // The team document first: it shares the heads table the lead tables hold open.
            for &(id, data) in incoming.iter().filter(|(id, _)| *id == TEAM_DOC_ID) {
                match team::merge_team(txn, data, &actor)? {
                    TeamMerge::Incomplete => merged.incomplete.push(id.to_owned()),
                    TeamMerge::Unreadable(why) => merged.set_aside.push((id.to_owned(), why)),
                    TeamMerge::Unchanged => {}
                    TeamMerge::Changed => {
                        merged.changed += 1;
                        merged.team_changed = true;
                    }
                }
            }
            let mut tables = LeadTables::open(txn)?;
            let mut new = Vec::new();
            for &(id, data) in incoming.iter().filter(|(id, _)| *id != TEAM_DOC_ID) {
                let Some(lead_id) = LeadId::parse(id) else {
                    merged.skipped.push(id.to_owned());
                    continue;
                };
                if !tables.contains(id)? {
                    new.push((lead_id, data));
                    continue;
                }
                let (mut doc, next_seq) = tables.load(&lead_id, &actor)?;
                let before = doc.heads();
                if let Err(err) = doc.load_incremental(data) {
                    merged
                        .set_aside
                        .push((id.to_owned(), format!("its changes do not load: {err}")));
                    continue;
                }
                if !doc.missing_deps().is_empty() {
                    merged.incomplete.push(id.to_owned());
                } else if let Err(err) = check_document(id, doc.automerge()) {
                    merged.set_aside.push((id.to_owned(), err.to_string()));
                } else if doc.heads() != before {
                    let lead = doc.view();
                    tables.store_changes(&doc, &lead, &before, next_seq, Origin::Relay)?;
                    merged.changed += 1;
                }
            }
            for ((id, _), read) in new.iter().zip(read_all(&new, &actor)) {
                match read? {
                    Read::Lead(lead) => {
                        tables.insert_new(&lead, Origin::Relay)?;
                        merged.changed += 1;
                    }
                    Read::Incomplete => merged.incomplete.push(id.to_string()),
                    Read::Unreadable(why) => merged.set_aside.push((id.to_string(), why)),
                }
            }
            drop(tables);
            for (id, why) in &merged.set_aside {
                quarantine::set_aside(txn, id, why)?;
            }
            for &(id, _) in incoming {
                if !merged.set_aside.iter().any(|(aside, _)| aside == id)
                    && !merged.incomplete.iter().any(|missing| missing == id)
                {
                    quarantine::release(txn, id)?;
                }
            }
            Ok(merged)
        })?;
        if merged.team_changed {
            self.refresh_pipeline()?;
        }
        Ok(merged)
    }

    fn read_meta_value<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let meta = txn.open_table(META)?;
        meta.get(key)?
            .map(|bytes| decode_json(key, bytes.value()))
            .transpose()
    }
}

/// A lead read from bytes received whole.
enum Read {
    /// Ready to insert.
    Lead(PreparedLead),
    /// Changes it depends on are missing.
    Incomplete,
    /// It does not load, or is not the lead it was sent as.
    Unreadable(String),
}

fn read_one(id: &LeadId, data: &[u8], actor: &ActorId) -> Result<Read, StoreError> {
    let doc = match LeadDoc::load(data, actor.clone()) {
        Ok(doc) => doc,
        Err(err) => return Ok(Read::Unreadable(format!("it does not load: {err}"))),
    };
    if !doc.missing_deps().is_empty() {
        return Ok(Read::Incomplete);
    }
    if let Err(err) = check_document(id.as_str(), doc.automerge()) {
        return Ok(Read::Unreadable(err.to_string()));
    }
    let lead = doc.view();
    PreparedLead::new(&doc, &lead, data.to_vec()).map(Read::Lead)
}

/// Reads every lead of `new`, split across the machine's cores.
fn read_all(new: &[(LeadId, &[u8])], actor: &ActorId) -> Vec<Result<Read, StoreError>> {
    new.par_iter()
        .map(|(id, data)| read_one(id, data, actor))
        .collect()
}

/// Fills the sync tables of a store made before sync existed: every lead's heads, and every
/// lead counted as not yet pushed.
pub(crate) fn fill_sync_tables(
    txn: &redb::WriteTransaction,
    actor: &automerge::ActorId,
) -> Result<(), StoreError> {
    let ids: Vec<LeadId> = LeadTables::open(txn)?.lead_ids()?;
    let mut tables = LeadTables::open(txn)?;
    for id in ids {
        let (doc, _) = tables.load(&id, actor)?;
        tables
            .heads
            .insert(id.as_str(), heads::to_bytes(&doc.heads()).as_slice())?;
        tables.unpushed.insert(id.as_str(), ())?;
    }
    Ok(())
}
