//! One team's documents and changes feed in a redb file, `teams/N.redb` in the data directory.
//!
//! A document is its saved bytes plus the change chunks stored since (folded into the saved
//! bytes once [`FOLD_AFTER`] have gathered). The feed keeps one entry per document, at its
//! latest sequence number, so a device that asks for what came after N reads only the
//! documents changed since N. Each lead's access (its owner register and who may hold it) is
//! kept beside it and committed with it, so the feed can be filtered per member without loading
//! a document. Every commit is durable before it returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::Automerge;
use fieldsync_model::{Access, TEAM_DOC_ID};
use fieldsync_store::{copy_table, private};
use fieldsync_sync::message::FeedEntry;
use fieldsync_sync::{Heads, NewChanges, TeamStore};

use crate::storage::{BoxedStore, RelayStore, StorageError, TeamFiles};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Document id -> saved document.
const DOCS: TableDefinition<&str, &[u8]> = TableDefinition::new("docs");
/// (document id, n) -> a change chunk stored after the saved document.
const CHANGES: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("changes");
/// Sequence number -> document id.
const FEED: TableDefinition<u64, &str> = TableDefinition::new("feed");
/// Document id -> (its latest sequence number, its heads, 32 bytes each).
const POSITIONS: TableDefinition<&str, (u64, &[u8])> = TableDefinition::new("positions");

/// Document id -> its access (JSON `fieldsync_model::Access`); the team document has none.
const ACCESS: TableDefinition<&str, &[u8]> = TableDefinition::new("access");
/// Member -> the feed head when their role last changed.
const ROLE_CHANGES: TableDefinition<&str, u64> = TableDefinition::new("role_changes");
/// The file's own facts: `feed`, the name of its feed (made when the file is, made anew when
/// it is restored from a backup).
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const FEED_NAME: &str = "feed";

/// Change chunks kept per document before they are folded into its saved bytes.
pub const FOLD_AFTER: u32 = 16;

macro_rules! impl_from {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(err: $t) -> Self {
                StorageError(err.to_string())
            }
        }
    )*};
}
impl_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// The team files of a relay's data directory, `teams/N.redb`.
pub struct RedbFiles {
    data: PathBuf,
    documents: prometheus::IntGauge,
}

impl RedbFiles {
    /// The team files under `data`, counting their documents into `documents`.
    pub fn new(data: &Path, documents: prometheus::IntGauge) -> Arc<RedbFiles> {
        Arc::new(RedbFiles {
            data: data.to_owned(),
            documents,
        })
    }
}

impl TeamFiles for RedbFiles {
    fn relative_path(&self, file: u32) -> PathBuf {
        Path::new("teams").join(format!("{file}.redb"))
    }

    fn open(&self, file: u32, cache_bytes: usize) -> Result<BoxedStore, StorageError> {
        let path = self.data.join(self.relative_path(file));
        let store = RedbTeamStore::open(&path, cache_bytes, self.documents.clone())
            .map_err(|err| StorageError(format!("cannot open {}: {err}", path.display())))?;
        Ok(Box::new(store))
    }

    fn make(&self, file: u32) -> Result<(), StorageError> {
        let path = self.data.join(self.relative_path(file));
        RedbTeamStore::create(&path, 1 << 20, self.documents.clone())
            .map(drop)
            .map_err(|err| StorageError(format!("cannot make {}: {err}", path.display())))
    }
}

/// A team's redb file.
pub struct RedbTeamStore {
    db: Database,
    head: u64,
    /// Documents in the file, as counted into `documents`.
    count: i64,
    /// The name of its feed.
    feed_name: String,
    path: PathBuf,
    documents: prometheus::IntGauge,
}

impl RedbTeamStore {
    /// Opens the team file at `path`, which must exist, with a page cache of at most
    /// `cache_bytes`, counting its documents into `documents`. Every page is checked on open:
    /// a file damaged outside redb is refused as damaged, never trusted.
    pub fn open(
        path: &Path,
        cache_bytes: usize,
        documents: prometheus::IntGauge,
    ) -> Result<RedbTeamStore, StorageError> {
        if !path.exists() {
            return Err(StorageError(
                "the file is missing (it held the team's documents; the relay will not start the team empty)".into(),
            ));
        }
        RedbTeamStore::open_or_make(path, cache_bytes, documents)
    }

    /// Makes the team file at `path` if there is none, and opens it as [`RedbTeamStore::open`]
    /// does.
    pub fn create(
        path: &Path,
        cache_bytes: usize,
        documents: prometheus::IntGauge,
    ) -> Result<RedbTeamStore, StorageError> {
        if let Some(parent) = path.parent() {
            private::create_dir(parent).map_err(|err| StorageError(err.to_string()))?;
        }
        // A team file holds customers' phone numbers: made readable by the relay's user only.
        if !path.exists() {
            drop(private::create_file(path).map_err(|err| StorageError(err.to_string()))?);
        }
        RedbTeamStore::open_or_make(path, cache_bytes, documents)
    }

    fn open_or_make(
        path: &Path,
        cache_bytes: usize,
        documents: prometheus::IntGauge,
    ) -> Result<RedbTeamStore, StorageError> {
        // One found wider than its owner (made by an earlier release) is reported.
        for warning in private::warnings(path, "a team's customers") {
            tracing::warn!("{warning}");
        }
        let repaired = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .set_check_integrity_on_open(true)
            .set_repair_callback({
                let repaired = repaired.clone();
                move |_| repaired.store(true, std::sync::atomic::Ordering::Relaxed)
            })
            .create(path)?;
        if repaired.load(std::sync::atomic::Ordering::Relaxed) {
            // After a crash this is redb's recovery; after damage it may fall back to the
            // commit before: the feed is then behind the devices, which push again what it lost.
            tracing::warn!(
                file = %path.display(),
                "the team file was not closed cleanly, or was damaged, and was repaired; devices ahead of it push again what it lacks"
            );
        }
        let txn = db.begin_write()?;
        {
            txn.open_table(DOCS)?;
            txn.open_table(CHANGES)?;
            txn.open_table(FEED)?;
            txn.open_table(POSITIONS)?;
            txn.open_table(ROLE_CHANGES)?;
            fill_access(&txn)?;
            let mut meta = txn.open_table(META)?;
            if meta.get(FEED_NAME)?.is_none() {
                meta.insert(FEED_NAME, new_feed_name().as_str())?;
            }
        }
        txn.commit()?;
        let (head, count, feed_name) = {
            use redb::ReadableTableMetadata;
            let txn = db.begin_read()?;
            let feed = txn.open_table(FEED)?;
            let head = feed.last()?.map_or(0, |(seq, _)| seq.value());
            let feed_name = txn
                .open_table(META)?
                .get(FEED_NAME)?
                .map(|name| name.value().to_owned())
                .unwrap_or_default();
            (head, txn.open_table(POSITIONS)?.len()?, feed_name)
        };
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        documents.add(count);
        Ok(RedbTeamStore {
            db,
            head,
            count,
            feed_name,
            path: path.to_owned(),
            documents,
        })
    }

    /// Names the feed of the team file at `path` anew (it was restored from a backup, so
    /// devices that followed it start over); returns the new name.
    pub fn rename_feed(path: &Path) -> Result<String, StorageError> {
        let db = Database::open(path)?;
        let name = new_feed_name();
        let txn = db.begin_write()?;
        txn.open_table(META)?.insert(FEED_NAME, name.as_str())?;
        txn.commit()?;
        Ok(name)
    }
}

fn new_feed_name() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

impl RelayStore for RedbTeamStore {
    fn snapshot(&mut self, to: &Path) -> Result<(), StorageError> {
        let from = self.db.begin_read()?;
        drop(private::create_file(to).map_err(|err| StorageError(err.to_string()))?);
        let copy = Database::create(to)?;
        let txn = copy.begin_write()?;
        copy_table::<_, _, StorageError>(&from, &txn, DOCS)?;
        copy_table::<_, _, StorageError>(&from, &txn, CHANGES)?;
        copy_table::<_, _, StorageError>(&from, &txn, FEED)?;
        copy_table::<_, _, StorageError>(&from, &txn, POSITIONS)?;
        copy_table::<_, _, StorageError>(&from, &txn, ACCESS)?;
        copy_table::<_, _, StorageError>(&from, &txn, ROLE_CHANGES)?;
        copy_table::<_, _, StorageError>(&from, &txn, META)?;
        txn.commit()?;
        Ok(())
    }

    fn compact(&mut self) -> Result<(u64, u64), StorageError> {
        let size = || {
            std::fs::metadata(&self.path)
                .map(|meta| meta.len())
                .map_err(|err| StorageError(err.to_string()))
        };
        let before = size()?;
        self.db
            .compact()
            .map_err(|err| StorageError(format!("cannot compact: {err}")))?;
        Ok((before, size()?))
    }
}

impl Drop for RedbTeamStore {
    /// A closed file's documents are no longer counted (it may be opened again).
    fn drop(&mut self) {
        self.documents.sub(self.count);
    }
}

impl TeamStore for RedbTeamStore {
    type Error = StorageError;

    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let txn = self.db.begin_read()?;
        let docs = txn.open_table(DOCS)?;
        let changes = txn.open_table(CHANGES)?;
        load_from(&docs, &changes, id)
    }

    fn access(&mut self, id: &str) -> Result<Option<Access>, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ACCESS)?;
        read_access(&table, id)
    }

    fn role_changed_at(&mut self, member: &str) -> Result<u64, StorageError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ROLE_CHANGES)?;
        Ok(table.get(member)?.map_or(0, |seq| seq.value()))
    }

    fn commit(
        &mut self,
        new: &[NewChanges],
        role_changed: &[String],
    ) -> Result<Vec<u64>, StorageError> {
        if new.is_empty() && role_changed.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.db.begin_write()?;
        let mut seqs = Vec::with_capacity(new.len());
        let mut head = self.head;
        let mut created = 0;
        {
            let mut docs = txn.open_table(DOCS)?;
            let mut changes = txn.open_table(CHANGES)?;
            let mut feed = txn.open_table(FEED)?;
            let mut positions = txn.open_table(POSITIONS)?;
            let mut access = txn.open_table(ACCESS)?;
            for (n, change) in new.iter().enumerate() {
                if let Some(lead) = &change.access {
                    let lead = lead.clone().numbered(self.head + n as u64 + 1);
                    access.insert(change.id.as_str(), encode_access(&lead)?.as_slice())?;
                }
                let id = change.id.as_str();
                let next = changes
                    .range((id, 0)..=(id, u32::MAX))?
                    .next_back()
                    .transpose()?
                    .map_or(0, |(key, _)| key.value().1 + 1);
                if change.access.as_ref().is_some_and(|access| access.removed) {
                    // A tombstone: the document's bytes go; its access and feed entry stay.
                    docs.remove(id)?;
                    for n in 0..next {
                        changes.remove((id, n))?;
                    }
                } else if next + 1 >= FOLD_AFTER {
                    fold(&mut docs, &mut changes, id, &change.data)?;
                } else {
                    changes.insert((id, next), change.data.as_slice())?;
                }
                head += 1;
                let previous = positions
                    .insert(id, (head, change.heads.to_bytes().as_slice()))?
                    .map(|old| old.value().0);
                match previous {
                    Some(old) => {
                        feed.remove(old)?;
                    }
                    None => created += 1,
                }
                feed.insert(head, id)?;
                seqs.push(head);
            }
            let mut roles = txn.open_table(ROLE_CHANGES)?;
            for member in role_changed {
                roles.insert(member.as_str(), head)?;
            }
        }
        txn.commit()?;
        self.head = head;
        self.count += created;
        self.documents.add(created);
        Ok(seqs)
    }

    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, StorageError> {
        let txn = self.db.begin_read()?;
        let feed = txn.open_table(FEED)?;
        let positions = txn.open_table(POSITIONS)?;
        let access = txn.open_table(ACCESS)?;
        let mut entries = Vec::new();
        for entry in feed.range(after.saturating_add(1)..)?.take(limit) {
            let (seq, id) = entry?;
            let id = id.value().to_owned();
            let heads = positions
                .get(id.as_str())?
                .and_then(|position| Heads::from_bytes(position.value().1))
                .ok_or_else(|| StorageError(format!("document {id} has no position")))?;
            let lead = read_access(&access, &id)?;
            entries.push((
                FeedEntry {
                    id,
                    seq: seq.value(),
                    heads,
                },
                lead,
            ));
        }
        Ok(entries)
    }

    fn feed_id(&mut self) -> Result<String, StorageError> {
        Ok(self.feed_name.clone())
    }

    fn feed_head(&mut self) -> Result<u64, StorageError> {
        Ok(self.head)
    }
}

fn load_from(
    docs: &impl ReadableTable<&'static str, &'static [u8]>,
    changes: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    id: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    let mut bytes = match docs.get(id)? {
        Some(saved) => saved.value().to_vec(),
        None => Vec::new(),
    };
    for chunk in changes.range((id, 0)..=(id, u32::MAX))? {
        bytes.extend_from_slice(chunk?.1.value());
    }
    Ok((!bytes.is_empty()).then_some(bytes))
}

fn encode_access(access: &Access) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(access).map_err(|err| StorageError(err.to_string()))
}

fn read_access(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<Access>, StorageError> {
    table
        .get(id)?
        .map(|bytes| {
            serde_json::from_slice(bytes.value())
                .map_err(|err| StorageError(format!("the access of {id} is malformed: {err}")))
        })
        .transpose()
}

/// Gives every lead stored by a relay from before visibility its access, read from the lead's
/// own owner register and owner-change log.
fn fill_access(txn: &redb::WriteTransaction) -> Result<(), StorageError> {
    use redb::ReadableTableMetadata;
    let mut access = txn.open_table(ACCESS)?;
    let positions = txn.open_table(POSITIONS)?;
    if !access.is_empty()? || positions.is_empty()? {
        return Ok(());
    }
    let docs = txn.open_table(DOCS)?;
    let changes = txn.open_table(CHANGES)?;
    for entry in positions.iter()? {
        let id = entry?.0.value().to_owned();
        if id == TEAM_DOC_ID {
            continue;
        }
        let Some(bytes) = load_from(&docs, &changes, &id)? else {
            continue;
        };
        let doc = Automerge::load(&bytes)
            .map_err(|err| StorageError(format!("document {id} does not load: {err}")))?;
        let mut lead = Access::of(&doc);
        // When it entered the pool is not known: any device may hold it.
        lead.pooled_at = None;
        // When its owner last changed is not known: at its latest change, at the latest.
        lead.owners_since = positions
            .get(id.as_str())?
            .map_or(0, |position| position.value().0);
        access.insert(id.as_str(), encode_access(&lead)?.as_slice())?;
    }
    Ok(())
}

/// Replaces a document's saved bytes and chunks with one saved document including `latest`.
fn fold(
    docs: &mut redb::Table<&str, &[u8]>,
    changes: &mut redb::Table<(&str, u32), &[u8]>,
    id: &str,
    latest: &[u8],
) -> Result<(), StorageError> {
    let mut bytes = docs
        .get(id)?
        .map(|saved| saved.value().to_vec())
        .unwrap_or_default();
    for chunk in changes.range((id, 0)..=(id, u32::MAX))? {
        bytes.extend_from_slice(chunk?.1.value());
    }
    bytes.extend_from_slice(latest);
    let doc = Automerge::load(&bytes)
        .map_err(|err| StorageError(format!("document {id} does not load: {err}")))?;
    docs.insert(id, doc.save().as_slice())?;
    changes.retain_in((id, 0)..=(id, u32::MAX), |_, _| false)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    #[test]
    fn changes_fold_and_the_feed_keeps_one_entry_per_document() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teams/1.redb");
        let gauge = prometheus::IntGauge::new("documents", "test").unwrap();
        let mut store = RedbTeamStore::create(&path, 1 << 20, gauge.clone()).unwrap();
        let mut doc = AutoCommit::new();
        let mut heads = Vec::new();
        for n in 0..40 {
            doc.put(ROOT, "n", n).unwrap();
            doc.commit();
            let change = NewChanges {
                id: "a".into(),
                data: doc.save_after(&heads),
                heads: Heads::new(doc.get_heads()),
                access: None,
            };
            heads = doc.get_heads();
            store.commit(&[change], &[]).unwrap();
        }
        store
            .commit(
                &[NewChanges {
                    id: "b".into(),
                    data: AutoCommit::new().save(),
                    heads: Heads::default(),
                    access: Some(Access::default()),
                }],
                &[],
            )
            .unwrap();
        assert_eq!(gauge.get(), 2);
        drop(store);
        let reopened = prometheus::IntGauge::new("documents", "test").unwrap();
        let mut store = RedbTeamStore::open(&path, 1 << 20, reopened.clone()).unwrap();
        assert_eq!(reopened.get(), 2);
        assert_eq!(store.feed_head().unwrap(), 41);
        let feed = store.feed(0, 10).unwrap();
        assert_eq!(
            feed.iter()
                .map(|(e, access)| (e.id.as_str(), e.seq, access.is_some()))
                .collect::<Vec<_>>(),
            [("a", 40, false), ("b", 41, true)]
        );
        assert_eq!(feed[0].0.heads, Heads::new(doc.get_heads()));
        assert!(store.feed(40, 10).unwrap().iter().all(|(e, _)| e.id == "b"));
        let loaded = Automerge::load(&store.load("a").unwrap().unwrap()).unwrap();
        assert_eq!(loaded.get_heads(), doc.get_heads());
        assert_eq!(store.load("zzz").unwrap(), None);
    }

    #[test]
    fn a_change_that_moves_the_owners_is_stamped_with_its_feed_number() {
        let dir = tempfile::tempdir().unwrap();
        let gauge = prometheus::IntGauge::new("documents", "test").unwrap();
        let mut store =
            RedbTeamStore::create(&dir.path().join("teams/1.redb"), 1 << 20, gauge).unwrap();
        let change = |id: &str, owners_since| NewChanges {
            id: id.into(),
            data: AutoCommit::new().save(),
            heads: Heads::default(),
            access: Some(Access {
                owners_since,
                ..Access::default()
            }),
        };
        // 0 means "the owners moved": the store writes the change's number; another number is
        // kept as it was.
        let seqs = store
            .commit(&[change("a", 0), change("b", 0), change("c", 1)], &[])
            .unwrap();
        assert_eq!(seqs, [1, 2, 3]);
        let since = |store: &mut RedbTeamStore, id| store.access(id).unwrap().unwrap().owners_since;
        assert_eq!(since(&mut store, "a"), 1);
        assert_eq!(since(&mut store, "b"), 2);
        assert_eq!(since(&mut store, "c"), 1);
    }

    #[test]
    fn a_team_file_from_before_visibility_gets_each_leads_access_from_its_owner_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("teams/1.redb");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // The previous release's layout: documents, chunks, feed and positions only.
        let mut lead = AutoCommit::new();
        lead.put(ROOT, "owner", "lina").unwrap();
        lead.commit();
        lead.put(ROOT, "owner", "wang").unwrap();
        let log = lead
            .put_object(ROOT, "owner_changes", automerge::ObjType::List)
            .unwrap();
        let entry = lead
            .insert_object(&log, 0, automerge::ObjType::Map)
            .unwrap();
        lead.put(&entry, "from", "lina").unwrap();
        lead.put(&entry, "to", "wang").unwrap();
        lead.commit();
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                txn.open_table(DOCS)
                    .unwrap()
                    .insert("l1", lead.save().as_slice())
                    .unwrap();
                txn.open_table(CHANGES).unwrap();
                txn.open_table(FEED).unwrap().insert(1, "l1").unwrap();
                let heads = Heads::new(lead.get_heads()).to_bytes();
                txn.open_table(POSITIONS)
                    .unwrap()
                    .insert("l1", (1, heads.as_slice()))
                    .unwrap();
            }
            txn.commit().unwrap();
        }
        let gauge = prometheus::IntGauge::new("documents", "test").unwrap();
        let mut store = RedbTeamStore::open(&path, 1 << 20, gauge).unwrap();
        let access = store.access("l1").unwrap().unwrap();
        assert_eq!(access.owners, [Some("wang".to_owned())]);
        assert!(access.may_hold("lina", fieldsync_model::Role::Rep));
        assert!(!access.visible_to("lina", fieldsync_model::Role::Rep));
        assert!(!access.may_hold("zhang", fieldsync_model::Role::Rep));
        let feed = store.feed(0, 10).unwrap();
        assert_eq!(feed[0].1.as_ref(), Some(&access));
    }
}
