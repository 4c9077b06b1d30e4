//! Property: any sequence of creates, follow-ups, moves, edits, compactions, reopens and row
//! rebuilds leaves the store agreeing with a plain in-memory model of what was done: every
//! follow-up kept, the last stage and title standing, rows matching documents.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use automerge::ScalarValue;
use chrono::{DateTime, Duration, Utc};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadHistory, LeadId, LeadRow, NewLead, Stamp,
    templates,
};
use fieldsync_store::{Store, StoreOptions};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Create,
    Log(usize),
    Move(usize, usize),
    Retitle(usize, u8),
    Compact,
    Reopen,
    RebuildRows,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Create),
        4 => (0usize..8).prop_map(Op::Log),
        2 => (0usize..8, 1usize..6).prop_map(|(l, s)| Op::Move(l, s)),
        1 => (0usize..8, 0u8..4).prop_map(|(l, t)| Op::Retitle(l, t)),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::RebuildRows),
    ]
}

/// What the test expects of one lead.
#[derive(Default, Debug)]
struct Expected {
    followups: Vec<String>,
    stage: String,
    title: Option<String>,
}

fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn the_store_agrees_with_a_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.redb");
        let pipeline = templates::b2b();
        let mut store = Store::init(&path, "lina", pipeline.clone(), StoreOptions::default()).unwrap();
        let start: DateTime<Utc> = "2024-03-01T00:00:00Z".parse().unwrap();
        let mut model: BTreeMap<LeadId, Expected> = BTreeMap::new();
        let mut order: Vec<LeadId> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            let now = start + Duration::hours(step as i64);
            let stamp = Stamp { by: "lina".into(), now };
            let lead = |n: &usize| order.get(n % order.len().max(1)).cloned();
            match op {
                Op::Create => {
                    let id = LeadId::from_bytes((step as u128 + 1).to_be_bytes());
                    store.create_lead(LeadHistory {
                        id: id.clone(),
                        new: NewLead {
                            fields: vec![(Field::Company, ScalarValue::Str(format!("公司 {step}").into())), (Field::Contact, ScalarValue::Str("张伟".into()))],
                            owner: Some("lina".into()),
                            created_at: now,
                            number: None,
                        },
                        creator: stamp,
                        events: Vec::new(),
                    }).unwrap();
                    model.insert(id.clone(), Expected { stage: pipeline.stages[0].key.clone(), ..Expected::default() });
                    order.push(id);
                }
                Op::Log(n) => if let Some(id) = lead(n) {
                    let summary = format!("跟进 {step}");
                    let draft = FollowUpDraft { at: now, channel: ContactChannel::Visit, summary: summary.clone(), feedback: None, next: None, due: None, zone: chrono::Offset::fix(&chrono::Utc) };
                    store.update_lead(&id, &[Action::Log(draft)], &stamp).unwrap();
                    model.get_mut(&id).unwrap().followups.push(summary);
                },
                Op::Move(n, stage) => if let Some(id) = lead(n) {
                    let to = pipeline.stages[*stage].key.clone();
                    let result = store.update_lead(&id, &[Action::Move { to: to.clone(), at: now }], &stamp);
                    let expected = model.get_mut(&id).unwrap();
                    if expected.stage == to || Some(to.as_str()) == pipeline.win_stage.as_deref() {
                        prop_assert!(result.is_err(), "a move to the current stage, or to the win stage, is refused");
                    } else {
                        result.unwrap();
                        expected.stage = to;
                    }
                },
                Op::Retitle(n, title) => if let Some(id) = lead(n) {
                    let title = format!("title {title}");
                    store.update_lead(&id, &[Action::Edit(vec![(Field::Title, Some(ScalarValue::Str(title.as_str().into())))])], &stamp).unwrap();
                    model.get_mut(&id).unwrap().title = Some(title);
                },
                Op::Compact => { store.compact().unwrap(); }
                Op::Reopen => { drop(store); store = open(&path); }
                Op::RebuildRows => { store.rebuild_rows().unwrap(); }
            }
        }
        drop(store);
        let store = open(&path);
        let rows: BTreeMap<LeadId, LeadRow> = store.rows().unwrap().into_iter().map(|r| (r.id.clone(), r)).collect();
        prop_assert_eq!(rows.len(), model.len());
        for (id, expected) in &model {
            let lead = store.load(id).unwrap().view();
            let summaries: Vec<String> = lead.followups.iter().map(|f| f.summary.clone()).collect();
            prop_assert_eq!(&summaries, &expected.followups);
            prop_assert_eq!(&lead.stage, &expected.stage);
            prop_assert_eq!(lead.text(Field::Title), expected.title.clone().unwrap_or_default());
            prop_assert_eq!(&rows[id], &LeadRow::from_lead(&lead), "the row matches the document");
        }
    }
}
