//! A lead's history from its change metadata, and the lead as of a past moment, including
//! changes two devices made at the same time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use automerge::{ActorId, ScalarValue};
use fieldsync_model::history::{Revision, ValueChange};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadDoc, LeadId, NewLead, templates,
};
use support::{at, stamp};

fn apply(doc: &mut LeadDoc, by: &str, now: &str, action: Action) {
    doc.apply(&[action], &templates::b2b(), &stamp(by, now))
        .unwrap();
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> ValueChange {
    ValueChange {
        field: field.into(),
        old: old.map(Into::into),
        new: new.map(Into::into),
    }
}

/// Created by alice on 03-20, phone edited by alice on 03-21; then, from the same point, bob
/// logs a visit and moves it on his device while alice changes the phone again on hers.
fn lead_with_history() -> LeadDoc {
    let new = NewLead {
        fields: vec![
            (Field::Company, ScalarValue::Str("华为技术有限公司".into())),
            (Field::Contact, ScalarValue::Str("张伟".into())),
            (Field::Phone, ScalarValue::Str("+86 138 0013 8000".into())),
        ],
        owner: Some("alice".into()),
        created_at: at("2024-03-20T09:00:00Z"),
        number: None,
    };
    let mut alice = LeadDoc::create(
        &LeadId::random(),
        &new,
        &templates::b2b(),
        &stamp("alice", "2024-03-20T09:00:00Z"),
        ActorId::random(),
    )
    .unwrap();
    let phone =
        |text: &str| Action::Edit(vec![(Field::Phone, Some(ScalarValue::Str(text.into())))]);
    apply(
        &mut alice,
        "alice",
        "2024-03-21T09:00:00Z",
        phone("+86 139 0000 0001"),
    );
    let mut bob = alice.fork(ActorId::random());
    apply(
        &mut bob,
        "bob",
        "2024-03-22T10:00:00Z",
        Action::Log(FollowUpDraft {
            at: at("2024-03-22T09:30:00Z"),
            channel: ContactChannel::Visit,
            summary: "演示产品".into(),
            feedback: None,
            next: None,
            due: None,
            zone: chrono::Offset::fix(&chrono::Utc),
        }),
    );
    apply(
        &mut bob,
        "bob",
        "2024-03-22T10:05:00Z",
        Action::Move {
            to: "discovery".into(),
            at: at("2024-03-22T10:00:00Z"),
        },
    );
    apply(
        &mut alice,
        "alice",
        "2024-03-22T11:00:00Z",
        phone("+86 139 0000 0002"),
    );
    alice.merge(&mut bob).unwrap();
    alice
}

fn find<'a>(history: &'a [Revision], action: &str, by: &str) -> &'a Revision {
    history
        .iter()
        .find(|r| r.action == action && r.by == by)
        .unwrap_or_else(|| panic!("no {action} by {by} in {history:#?}"))
}

#[test]
fn every_change_says_who_when_and_what_from_and_to() {
    let history = lead_with_history().history();
    assert_eq!(history.len(), 5, "{history:#?}");
    let created = &history[0];
    assert_eq!(
        (created.by.as_str(), created.action.as_str()),
        ("alice", "create")
    );
    assert_eq!(created.recorded_at, at("2024-03-20T09:00:00Z"));
    assert!(
        created
            .changes
            .contains(&change("company", None, Some("华为技术有限公司")))
    );
    assert!(
        created
            .changes
            .contains(&change("stage", None, Some("acquisition")))
    );
    assert!(
        !created.changes.iter().any(|c| c.field == "outcome"),
        "a new lead is open"
    );

    let edits: Vec<&Revision> = history.iter().filter(|r| r.action == "edit").collect();
    assert_eq!(edits.len(), 2);
    assert_eq!(
        edits[0].changes,
        [change(
            "phone",
            Some("+86 138 0013 8000"),
            Some("+86 139 0000 0001")
        )]
    );
    // Alice's second edit was made beside bob's changes: it shows only what she changed.
    let second = edits
        .iter()
        .find(|r| r.recorded_at == at("2024-03-22T11:00:00Z"))
        .unwrap();
    assert_eq!(
        second.changes,
        [change(
            "phone",
            Some("+86 139 0000 0001"),
            Some("+86 139 0000 0002")
        )]
    );
    let logged = find(&history, "log", "bob");
    assert_eq!(
        logged.changes,
        [change("follow-up", None, Some("visit: 演示产品"))]
    );
    let moved = find(&history, "move", "bob");
    assert_eq!(moved.recorded_at, at("2024-03-22T10:05:00Z"));
    assert_eq!(
        moved.changes,
        [change("stage", Some("acquisition"), Some("discovery"))]
    );
}

#[test]
fn the_lead_as_of_a_moment_has_only_what_was_recorded_by_then() {
    let doc = lead_with_history();
    assert!(
        doc.as_of(at("2024-03-19T00:00:00Z")).is_none(),
        "not created yet"
    );
    let first_day = doc.as_of(at("2024-03-20T23:59:59Z")).unwrap();
    assert_eq!(first_day.text(Field::Phone), "+86 138 0013 8000");
    let before_the_visit = doc.as_of(at("2024-03-22T09:59:59Z")).unwrap();
    assert_eq!(before_the_visit.text(Field::Phone), "+86 139 0000 0001");
    assert!(before_the_visit.followups.is_empty());
    assert_eq!(before_the_visit.stage, "acquisition");
    let after_the_move = doc.as_of(at("2024-03-22T10:30:00Z")).unwrap();
    assert_eq!(after_the_move.stage, "discovery");
    assert_eq!(after_the_move.followups.len(), 1);
    assert_eq!(after_the_move.text(Field::Phone), "+86 139 0000 0001");
    assert_eq!(doc.as_of(at("2024-04-01T00:00:00Z")).unwrap(), doc.view());
}

#[test]
fn a_handover_made_offline_merges_with_the_reps_own_offline_edits() {
    let mut manager = lead_with_history();
    let mut rep = manager.fork(ActorId::random());
    // Offline, at the same time: the manager hands the lead to zhangmin; alice logs a call and
    // corrects the phone on her device.
    apply(
        &mut manager,
        "manager",
        "2024-03-25T09:00:00Z",
        Action::Assign {
            owner: Some("zhangmin".into()),
            at: at("2024-03-25T09:00:00Z"),
        },
    );
    apply(
        &mut rep,
        "alice",
        "2024-03-25T10:00:00Z",
        Action::Log(FollowUpDraft {
            at: at("2024-03-25T09:30:00Z"),
            channel: ContactChannel::Phone,
            summary: "最后一次通话".into(),
            feedback: None,
            next: None,
            due: None,
            zone: chrono::Offset::fix(&chrono::Utc),
        }),
    );
    apply(
        &mut rep,
        "alice",
        "2024-03-25T10:01:00Z",
        Action::Edit(vec![(
            Field::Phone,
            Some(ScalarValue::Str("+86 139 0000 0003".into())),
        )]),
    );
    let mut other_order = rep.fork(ActorId::random());
    other_order
        .merge(&mut manager.fork(ActorId::random()))
        .unwrap();
    manager.merge(&mut rep).unwrap();
    for merged in [manager.view(), other_order.view()] {
        assert_eq!(
            merged.owner.as_deref(),
            Some("zhangmin"),
            "the new owner stands"
        );
        assert_eq!(merged.followups.len(), 2, "the rep's follow-up is kept");
        assert_eq!(merged.followups[1].summary, "最后一次通话");
        assert_eq!(merged.text(Field::Phone), "+86 139 0000 0003");
        let handover = merged.owner_changes.last().unwrap();
        assert_eq!(
            (
                handover.from.as_deref(),
                handover.to.as_deref(),
                handover.times.by.as_str()
            ),
            (Some("alice"), Some("zhangmin"), "manager")
        );
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    }
}
