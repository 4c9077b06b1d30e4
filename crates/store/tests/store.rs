//! The store against real redb files in temporary folders.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::ScalarValue;
use chrono::{DateTime, Utc};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadHistory, LeadId, NewLead, Outcome, Stamp,
    templates,
};
use fieldsync_store::tables::{COMPACT_AFTER, meta_key};
use fieldsync_store::{LookupError, OpenError, Store, StoreError, StoreOptions};

fn now() -> DateTime<Utc> {
    "2024-03-20T09:00:00Z".parse().unwrap()
}

fn stamp() -> Stamp {
    Stamp {
        by: "alice".into(),
        now: now(),
    }
}

fn history(id: LeadId, company: &str) -> LeadHistory {
    LeadHistory {
        id,
        new: NewLead {
            fields: vec![
                (Field::Company, ScalarValue::Str(company.into())),
                (Field::Contact, ScalarValue::Str("王芳".into())),
            ],
            owner: Some("alice".into()),
            created_at: now(),
            number: None,
        },
        creator: stamp(),
        events: Vec::new(),
    }
}

fn id(prefix_byte: u8, n: u8) -> LeadId {
    let mut bytes = [n; 16];
    bytes[0] = prefix_byte;
    bytes[1] = prefix_byte;
    LeadId::from_bytes(bytes)
}

fn fresh() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let store = Store::init(&path, "alice", templates::b2b(), StoreOptions::default()).unwrap();
    (dir, path, store)
}

fn reopen(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).unwrap()
}

fn log(summary: &str) -> Action {
    Action::Log(FollowUpDraft {
        at: now(),
        channel: ContactChannel::Phone,
        summary: summary.into(),
        feedback: None,
        next: None,
        due: None,
        zone: chrono::Offset::fix(&chrono::Utc),
    })
}

#[test]
fn leads_survive_a_restart_with_their_rows() {
    let (_dir, path, mut store) = fresh();
    let lead = store
        .create_lead(history(id(0xab, 1), "深圳市腾飞科技有限公司"))
        .unwrap();
    store
        .update_lead(&lead, &[log("首次拜访")], &stamp())
        .unwrap();
    drop(store);
    let store = reopen(&path);
    assert_eq!(store.me(), "alice");
    assert_eq!(store.pipeline().template, "b2b");
    let rows = store.rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].company, "深圳市腾飞科技有限公司");
    assert_eq!(rows[0].followups, 1);
    assert_eq!(
        store.load(&lead).unwrap().view().followups[0].summary,
        "首次拜访"
    );
}

#[test]
fn every_row_comes_back_once_in_id_order_across_read_batches() {
    // More than two of `rows`' read batches (4,096 rows), ending in a partial one.
    const LEADS: u32 = 9_001;
    let (_dir, path, mut store) = fresh();
    let mut ids: Vec<LeadId> = (0..LEADS)
        .map(|n| {
            let mut bytes = [0u8; 16];
            // Spread the ids so that creation order is not id order.
            bytes[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
            bytes[12..].copy_from_slice(&n.to_be_bytes());
            LeadId::from_bytes(bytes)
        })
        .collect();
    let histories = ids
        .iter()
        .map(|id| history(id.clone(), &format!("Company {id}")));
    assert_eq!(
        store.create_leads(histories, |_| {}).unwrap(),
        LEADS as usize
    );
    drop(store);
    let rows = reopen(&path).rows().unwrap();
    ids.sort();
    let read: Vec<&LeadId> = rows.iter().map(|row| &row.id).collect();
    assert_eq!(read, ids.iter().collect::<Vec<_>>());
    assert!(
        rows.iter()
            .all(|row| row.company == format!("Company {}", row.id))
    );
}

#[test]
fn a_refused_action_leaves_the_file_byte_for_byte_unchanged() {
    let (_dir, path, mut store) = fresh();
    let lead = store
        .create_lead(history(id(0xab, 1), "A Tech Co."))
        .unwrap();
    drop(store);
    let before = std::fs::read(&path).unwrap();
    let mut store = reopen(&path);
    let err = store
        .update_lead(
            &lead,
            &[Action::Move {
                to: "acquisition".into(),
                at: now(),
            }],
            &stamp(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Lead(_)), "{err}");
    let unchanged = store
        .update_lead(
            &lead,
            &[Action::Edit(vec![(
                Field::Company,
                Some(ScalarValue::Str("A Tech Co.".into())),
            )])],
            &stamp(),
        )
        .unwrap();
    assert!(!unchanged.changed);
    store.rows().unwrap();
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn changes_are_stored_incrementally_and_compacted() {
    let (_dir, path, mut store) = fresh();
    let lead = store.create_lead(history(id(0xab, 1), "B Group")).unwrap();
    for n in 0..COMPACT_AFTER - 1 {
        store
            .update_lead(&lead, &[log(&format!("call {n}"))], &stamp())
            .unwrap();
    }
    assert_eq!(
        store.stats().unwrap().pending_changes,
        u64::from(COMPACT_AFTER - 1)
    );
    store.update_lead(&lead, &[log("folds")], &stamp()).unwrap();
    assert_eq!(
        store.stats().unwrap().pending_changes,
        0,
        "the {COMPACT_AFTER}th change folds the rest into the document"
    );
    store
        .update_lead(&lead, &[log("pending again")], &stamp())
        .unwrap();
    assert_eq!(store.compact().unwrap(), 1);
    drop(store);
    let store = reopen(&path);
    assert_eq!(store.stats().unwrap().pending_changes, 0);
    assert_eq!(
        store.load(&lead).unwrap().view().followups.len(),
        COMPACT_AFTER as usize + 1
    );
}

#[test]
fn a_change_committed_by_another_handle_in_between_is_kept() {
    let (_dir, path, mut store) = fresh();
    let lead = store
        .create_lead(history(id(0xab, 1), "C Trading"))
        .unwrap();
    drop(store);
    // Two handles stand for two processes: each reads, then writes in turn.
    let mut first = reopen(&path);
    first.load(&lead).unwrap();
    first
        .update_lead(&lead, &[log("from the first")], &stamp())
        .unwrap();
    drop(first);
    let mut second = reopen(&path);
    second
        .update_lead(&lead, &[log("from the second")], &stamp())
        .unwrap();
    drop(second);
    let followups = reopen(&path).load(&lead).unwrap().view().followups;
    assert_eq!(followups.len(), 2);
}

#[test]
fn ids_resolve_by_unique_prefix() {
    let (_dir, _path, mut store) = fresh();
    let a = store
        .create_lead(history(id(0xab, 1), "A Tech Co."))
        .unwrap();
    store.create_lead(history(id(0xab, 2), "B Group")).unwrap();
    let c = store
        .create_lead(history(id(0xcd, 3), "C Trading"))
        .unwrap();
    assert_eq!(store.resolve(&c.as_str()[..4]).unwrap(), c);
    assert_eq!(store.resolve(&a.as_str()[..6].to_uppercase()).unwrap(), a);
    let ambiguous = store.resolve("abab").unwrap_err();
    assert!(
        matches!(&ambiguous, LookupError::Ambiguous { matches, .. } if matches.len() == 2),
        "{ambiguous}"
    );
    assert!(ambiguous.to_string().contains("A Tech Co."), "{ambiguous}");
    assert!(matches!(
        store.resolve("ffff").unwrap_err(),
        LookupError::NotFound(_)
    ));
    assert!(matches!(
        store.resolve("ab").unwrap_err(),
        LookupError::Malformed(_)
    ));
}

#[test]
fn stores_from_other_schema_versions_are_refused_clearly() {
    let (_dir, path, mut store) = fresh();
    fieldsync_store::set_meta_for_tests(&mut store, meta_key::SCHEMA, &0u32).unwrap();
    drop(store);
    let err = Store::open(&path, StoreOptions::default()).err().unwrap();
    assert!(
        matches!(err, OpenError::OlderSchema { found: 0, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("older fieldsync"), "{err}");
    let mut store = Store::init(
        &path.with_extension("new"),
        "a",
        templates::b2b(),
        StoreOptions::default(),
    )
    .unwrap();
    fieldsync_store::set_meta_for_tests(&mut store, meta_key::SCHEMA, &99u32).unwrap();
    drop(store);
    let err = Store::open(&path.with_extension("new"), StoreOptions::default())
        .err()
        .unwrap();
    assert!(
        matches!(err, OpenError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn stale_rows_are_rebuilt_on_open() {
    let (_dir, path, mut store) = fresh();
    let lead = store
        .create_lead(history(id(0xab, 1), "A Tech Co."))
        .unwrap();
    store
        .update_lead(
            &lead,
            &[Action::Won {
                amount: "25".parse().unwrap(),
                at: now(),
                note: None,
            }],
            &stamp(),
        )
        .unwrap();
    fieldsync_store::set_meta_for_tests(&mut store, meta_key::ROW_VERSION, &0u32).unwrap();
    drop(store);
    let store = reopen(&path);
    assert_eq!(store.rows().unwrap()[0].outcome, Outcome::Won);
}

#[test]
fn missing_garbage_and_locked_stores_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.redb");
    assert!(matches!(
        Store::open(&missing, StoreOptions::default())
            .err()
            .unwrap(),
        OpenError::NotFound(_)
    ));
    let garbage = dir.path().join("garbage.redb");
    std::fs::write(&garbage, b"this is not a database").unwrap();
    assert!(matches!(
        Store::open(&garbage, StoreOptions::default())
            .err()
            .unwrap(),
        OpenError::Unusable { .. }
    ));

    let (_dir, path, store) = fresh();
    let options = StoreOptions {
        lock_wait: Duration::from_millis(100),
        ..StoreOptions::default()
    };
    let err = Store::open(&path, options.clone()).err().unwrap();
    assert!(
        matches!(err, OpenError::Locked(_)),
        "a store open for writing elsewhere is locked: {err}"
    );
    drop(store);
    let reader = Store::open(&path, options.clone()).unwrap();
    let second_reader = Store::open(&path, options).unwrap();
    assert!(
        reader.rows().unwrap().is_empty() && second_reader.rows().unwrap().is_empty(),
        "readers share the file"
    );
    assert!(matches!(
        Store::init(&path, "x", templates::b2b(), StoreOptions::default())
            .err()
            .unwrap(),
        OpenError::AlreadyExists(_)
    ));
}

#[test]
fn a_batch_is_all_or_nothing() {
    let (_dir, _path, mut store) = fresh();
    let mut bad = history(id(0xcd, 2), "bad");
    bad.events.push((
        Action::Move {
            to: "nowhere".into(),
            at: now(),
        },
        stamp(),
    ));
    let err = store
        .create_leads([history(id(0xab, 1), "good"), bad], |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("unknown stage 'nowhere'"), "{err}");
    assert!(store.rows().unwrap().is_empty());
}

#[test]
fn init_builds_under_a_temporary_name_and_leaves_no_partial_file() {
    let (dir, path, store) = fresh();
    drop(store);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["store.redb"], "only the finished store remains");
    // A leftover partial file from an interrupted init is not a store and does not block a new one.
    let other = dir.path().join("other.redb");
    std::fs::write(other.with_extension("redb.partial"), b"interrupted").unwrap();
    assert!(matches!(
        Store::open(&other, StoreOptions::default()).err().unwrap(),
        OpenError::NotFound(_)
    ));
    Store::init(&other, "bob", templates::b2b(), StoreOptions::default()).unwrap();
    assert!(!other.with_extension("redb.partial").exists());
    let _ = path;
}

#[test]
fn a_pipeline_without_stages_is_refused_on_open() {
    let (_dir, path, mut store) = fresh();
    let mut empty = templates::b2b();
    empty.stages.clear();
    fieldsync_store::set_meta_for_tests(&mut store, meta_key::PIPELINE, &empty).unwrap();
    drop(store);
    let err = Store::open(&path, StoreOptions::default()).err().unwrap();
    assert!(
        err.to_string()
            .contains("metadata 'pipeline' has no stages"),
        "{err}"
    );
}

#[test]
fn a_store_left_unclean_by_a_killed_writer_is_repaired_and_read() {
    let (dir, path, mut store) = fresh();
    store
        .create_lead(history(id(1, 1), "Before the crash"))
        .unwrap();
    // A copy taken while the writer is live is what a killed writer leaves: redb marks the file
    // as needing repair while a writer holds it, and read-only handles cannot repair.
    let crashed = dir.path().join("crashed.redb");
    std::fs::copy(&path, &crashed).unwrap();
    drop(store);
    let store = Store::open(&crashed, StoreOptions::default()).unwrap();
    let rows = store.rows().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].company, "Before the crash");
}

/// A store whose large writes commit every two leads.
fn fresh_staged() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let options = StoreOptions {
        stage_leads: 2,
        ..StoreOptions::default()
    };
    let store = Store::init(&path, "alice", templates::b2b(), options).unwrap();
    (dir, path, store)
}

fn companies(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = store
        .rows()
        .unwrap()
        .into_iter()
        .map(|row| row.company.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_staged_write_undoes_the_stages_it_committed() {
    let (_dir, path, mut store) = fresh_staged();
    store.create_lead(history(id(1, 1), "Before")).unwrap();
    let err = store
        .write_batch(|batch| -> Result<(), StoreError> {
            // Touched in two stages: undoing both, the last first, leaves it as before the first.
            batch.update(&id(1, 1), &[log("early in the write")], &stamp())?;
            for n in 2..7 {
                batch.create_all(vec![history(id(n, n), "During")])?;
            }
            batch.update(&id(1, 1), &[log("late in the write")], &stamp())?;
            Err(StoreError::Storage("the file went away".into()))
        })
        .unwrap_err();
    assert!(err.to_string().contains("the file went away"), "{err}");
    assert_eq!(
        companies(&store),
        ["Before"],
        "three stages were committed, then undone"
    );
    assert_eq!(store.load(&id(1, 1)).unwrap().view().followups.len(), 0);
    drop(store);
    let mut store = reopen(&path);
    assert_eq!(store.undone_write(), None, "nothing was left to undo");
    store.create_lead(history(id(9, 9), "After")).unwrap();
    assert_eq!(companies(&store), ["After", "Before"]);
}

#[test]
fn a_staged_write_killed_after_a_stage_is_undone_when_the_store_opens() {
    let (dir, path, mut store) = fresh_staged();
    store.create_lead(history(id(1, 1), "Before")).unwrap();
    let heads_before = store.heads(&[id(1, 1).as_str()]).unwrap()[0]
        .clone()
        .unwrap();
    store
        .acknowledge(&[(id(1, 1).as_str().to_owned(), heads_before.clone())])
        .unwrap();
    assert_eq!(store.unpushed_count().unwrap(), 0);
    // A copy taken while the writer is live is what a killed writer leaves (see the test above).
    let killed = dir.path().join("killed.redb");
    store
        .write_batch(|batch| -> Result<(), StoreError> {
            batch.update(&id(1, 1), &[log("during the write")], &stamp())?;
            for n in 2..7 {
                batch.create_all(vec![history(id(n, n), "During")])?;
            }
            std::fs::copy(&path, &killed).unwrap();
            Ok(())
        })
        .unwrap();
    assert_eq!(companies(&store).len(), 6, "the finished write is kept");
    drop(store);
    assert_eq!(reopen(&path).undone_write(), None);

    let before_open = std::time::SystemTime::now();
    let mut store = reopen(&killed);
    let undone = store.undone_write().expect("the killed write is undone");
    assert!(undone <= DateTime::<Utc>::from(before_open));
    assert_eq!(companies(&store), ["Before"]);
    assert_eq!(store.load(&id(1, 1)).unwrap().view().followups.len(), 0);
    assert_eq!(
        store.heads(&[id(1, 1).as_str()]).unwrap()[0],
        Some(heads_before),
        "the lead's heads are back"
    );
    assert_eq!(
        store.unpushed_count().unwrap(),
        0,
        "and the relay holds it all"
    );
    store.create_lead(history(id(9, 9), "After")).unwrap();
    drop(store);
    let store = reopen(&killed);
    assert_eq!(store.undone_write(), None, "undone once, and only once");
    assert_eq!(companies(&store), ["After", "Before"]);
}

#[test]
fn a_lead_changed_twice_in_one_batch_keeps_both_changes() {
    let (_dir, _path, mut store) = fresh();
    store.create_lead(history(id(1, 1), "Twice")).unwrap();
    store.create_lead(history(id(2, 2), "Once")).unwrap();
    let changed = store
        .update_leads(
            &[
                (id(1, 1), vec![log("first")]),
                (id(2, 2), vec![log("only")]),
                (id(1, 1), vec![log("second")]),
            ],
            &stamp(),
        )
        .unwrap();
    assert_eq!(changed, 3);
    let summaries = |n| -> Vec<String> {
        store
            .load(&id(n, n))
            .unwrap()
            .view()
            .followups
            .iter()
            .map(|followup| followup.summary.clone())
            .collect()
    };
    assert_eq!(summaries(1), ["first", "second"]);
    assert_eq!(summaries(2), ["only"]);
}

#[test]
fn compact_packs_documents_with_a_dictionary_and_every_lead_reads_the_same() {
    let (_dir, path, mut store) = fresh();
    let cities = ["杭州", "苏州", "宁波", "温州", "上海"];
    let histories: Vec<LeadHistory> = (0..200u8)
        .map(|n| {
            history(
                id(n, n.wrapping_mul(7)),
                &format!("{}云栖科技有限公司 {n}", cities[usize::from(n) % 5]),
            )
        })
        .collect();
    store.create_leads(histories, |_| {}).unwrap();
    let ids: Vec<LeadId> = store
        .rows()
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect();
    for id in &ids[..20] {
        store.update_lead(id, &[log("a visit")], &stamp()).unwrap();
    }
    let views: Vec<_> = ids
        .iter()
        .map(|id| store.load(id).unwrap().view())
        .collect();
    let pushed_before = store.unpushed(None, 1000).unwrap();
    let before = store.stats().unwrap();
    // A copy left by a compact that was killed is removed by the next.
    let leftover = path.with_extension("redb.compacting");
    std::fs::write(&leftover, b"half a copy").unwrap();
    assert_eq!(store.compact().unwrap(), ids.len());
    assert!(!leftover.exists());
    let after = store.stats().unwrap();
    assert!(
        after.document_bytes * 2 < before.document_bytes,
        "packed {} B against {} B",
        after.document_bytes,
        before.document_bytes
    );
    assert!(
        after.file_bytes * 2 < before.file_bytes,
        "{after:?} {before:?}"
    );
    // Every lead reads as before, after a restart too; what goes to the relay is the same
    // document; a change after compact lands on the packed document.
    drop(store);
    let mut store = reopen(&path);
    for (id, view) in ids.iter().zip(&views) {
        assert_eq!(&store.load(id).unwrap().view(), view);
    }
    let pushed_after = store.unpushed(None, 1000).unwrap();
    assert_eq!(pushed_after.len(), pushed_before.len());
    for out in &pushed_after {
        let doc = automerge::Automerge::load(&out.data).unwrap();
        assert_eq!(doc.get_heads(), out.heads);
    }
    store
        .update_lead(&ids[0], &[log("after compact")], &stamp())
        .unwrap();
    assert_eq!(store.load(&ids[0]).unwrap().view().followups.len(), 2);
    // A second compact reuses the dictionary and changes nothing it need not.
    assert_eq!(store.compact().unwrap(), 1);
}
