//! A team's storage that fails with an I/O error recovers without a restart once the fault
//! clears: the fault is injected behind the storage trait, in a store that (like redb) refuses
//! everything after its first I/O error, so only reopening it brings the team back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldsync_model::{Access, Role};
use fieldsync_relay::storage::{
    BoxedStore, Health, RelayStore, Reopening, StorageError, TeamFiles,
};
use fieldsync_relay::team_store::RedbFiles;
use fieldsync_sync::message::{FeedEntry, Message, Pull, Push};
use fieldsync_sync::relay::Budget;
use fieldsync_sync::{CloseReason, DocChanges, Heads, NewChanges, Team, TeamStore, Viewer, codec};

/// Team files whose stores fail while `fault` is set.
struct FaultyFiles {
    inner: Arc<RedbFiles>,
    fault: Arc<AtomicBool>,
    opens: AtomicUsize,
}

impl TeamFiles for FaultyFiles {
    fn relative_path(&self, file: u32) -> std::path::PathBuf {
        self.inner.relative_path(file)
    }

    fn open(&self, file: u32, cache_bytes: usize) -> Result<BoxedStore, StorageError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(Poisoned {
            inner: self.inner.open(file, cache_bytes)?,
            fault: self.fault.clone(),
            poisoned: false,
        }))
    }

    fn make(&self, file: u32) -> Result<(), StorageError> {
        self.inner.make(file)
    }
}

/// A store that fails at every use from its first failure on.
struct Poisoned {
    inner: BoxedStore,
    fault: Arc<AtomicBool>,
    poisoned: bool,
}

impl Poisoned {
    fn check(&mut self) -> Result<&mut BoxedStore, StorageError> {
        self.poisoned |= self.fault.load(Ordering::SeqCst);
        match self.poisoned {
            true => Err(StorageError(
                "No space left on device (os error 28); a previous I/O error occurred".into(),
            )),
            false => Ok(&mut self.inner),
        }
    }
}

impl TeamStore for Poisoned {
    type Error = StorageError;

    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.check()?.load(id)
    }
    fn access(&mut self, id: &str) -> Result<Option<Access>, StorageError> {
        self.check()?.access(id)
    }
    fn commit(
        &mut self,
        changes: &[NewChanges],
        roles: &[String],
    ) -> Result<Vec<u64>, StorageError> {
        self.check()?.commit(changes, roles)
    }
    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, StorageError> {
        self.check()?.feed(after, limit)
    }
    fn feed_head(&mut self) -> Result<u64, StorageError> {
        self.check()?.feed_head()
    }
    fn role_changed_at(&mut self, member: &str) -> Result<u64, StorageError> {
        self.check()?.role_changed_at(member)
    }
    fn feed_id(&mut self) -> Result<String, StorageError> {
        self.check()?.feed_id()
    }
}

impl RelayStore for Poisoned {
    fn snapshot(&mut self, to: &std::path::Path) -> Result<(), StorageError> {
        self.check()?.snapshot(to)
    }
    fn compact(&mut self) -> Result<(u64, u64), StorageError> {
        self.check()?.compact()
    }
}

fn push(batch: u64, id: &str) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    fieldsync_model::well_formed::put_skeleton(&mut doc, id, "boss").unwrap();
    doc.put(ROOT, "company", format!("{id} Co.")).unwrap();
    codec::encode(&Message::Push(Push {
        batch,
        docs: vec![DocChanges {
            id: id.into(),
            heads: Heads::new(doc.get_heads()),
            data: doc.save(),
        }],
    }))
}

#[test]
fn a_team_store_that_failed_recovers_without_a_restart_once_the_fault_clears() {
    let data = tempfile::tempdir().unwrap();
    let documents = prometheus::IntGauge::new("documents", "test").unwrap();
    let fault = Arc::new(AtomicBool::new(false));
    let files = Arc::new(FaultyFiles {
        inner: RedbFiles::new(data.path(), documents.clone()),
        fault: fault.clone(),
        opens: AtomicUsize::new(0),
    });
    let failing = prometheus::IntGauge::new("failing", "test").unwrap();
    let errors = prometheus::IntCounter::new("errors", "test").unwrap();
    let health = Health::new(failing.clone(), errors.clone());
    files.make(1).unwrap();
    let store = Reopening::new(files.clone(), 1, 1 << 20, health.clone());
    let mut team = Team::new(store, Budget::new(64 << 20));
    let boss = Viewer {
        member: "boss".into(),
        role: Role::Manager,
    };

    assert!(team.handle(&push(1, "lead-1"), &boss).is_ok());

    // The disk fills: the push is refused as the relay's failure ("try again later").
    fault.store(true, Ordering::SeqCst);
    let refused = team.handle(&push(2, "lead-2"), &boss).unwrap_err();
    assert_eq!(refused.close_reason(), CloseReason::Storage);
    assert_eq!(failing.get(), 1);
    assert!(health.report()[0].1.contains("No space left"));

    // Space is freed: the next push is stored, on a store opened again, with no restart.
    fault.store(false, Ordering::SeqCst);
    assert!(team.handle(&push(3, "lead-2"), &boss).is_ok());
    assert_eq!(files.opens.load(Ordering::SeqCst), 2);
    assert_eq!(failing.get(), 0);
    assert!(health.report().is_empty());
    assert_eq!(errors.get(), 1);
    assert_eq!(
        documents.get(),
        2,
        "the closed store's documents are not counted twice"
    );

    // Both leads are in the feed.
    let pulled = team
        .handle(&codec::encode(&Message::Pull(Pull { since: 0 })), &boss)
        .unwrap();
    let offered: Vec<String> = pulled
        .reply
        .iter()
        .filter_map(|frame| match codec::decode(frame).unwrap() {
            Message::Offer(offer) => Some(offer.entries),
            _ => None,
        })
        .flatten()
        .map(|entry| entry.id)
        .collect();
    assert_eq!(offered, ["lead-1", "lead-2"]);
}
