//! Behaviour of a lead document: creation, the rules actions obey, event logs, conflicts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use automerge::{ActorId, ScalarValue};
use chrono::Duration;
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadDoc, LeadError, LeadId, Money, NewLead,
    Outcome, templates,
};
use support::{at, stamp};

fn text(value: &str) -> ScalarValue {
    ScalarValue::Str(value.into())
}

fn new_lead(created: &str) -> LeadDoc {
    let new = NewLead {
        fields: vec![
            (Field::Company, text("华为技术有限公司")),
            (Field::Contact, text("张伟")),
            (Field::Phone, text("+86 138 0013 8000")),
        ],
        owner: Some("alice".into()),
        created_at: at(created),
        number: None,
    };
    LeadDoc::create(
        &LeadId::random(),
        &new,
        &templates::b2b(),
        &stamp("alice", "2024-03-20T09:00:00Z"),
        ActorId::random(),
    )
    .unwrap()
}

fn apply(doc: &mut LeadDoc, action: Action, now: &str) -> Result<bool, LeadError> {
    doc.apply(&[action], &templates::b2b(), &stamp("alice", now))
}

#[test]
fn a_new_lead_starts_in_the_first_stage_at_its_creation_time() {
    let doc = new_lead("2024-03-18T02:00:00Z");
    let lead = doc.view();
    assert_eq!(lead.stage, "acquisition");
    assert_eq!(lead.stage_entered_at, at("2024-03-18T02:00:00Z"));
    assert_eq!(lead.created_at, at("2024-03-18T02:00:00Z"));
    assert_eq!(lead.stage_changes.len(), 1);
    assert_eq!(
        lead.stage_changes[0].times.recorded_at,
        at("2024-03-20T09:00:00Z")
    );
    assert_eq!(lead.owner.as_deref(), Some("alice"));
    assert_eq!(lead.outcome, Outcome::Open);
    assert_eq!(lead.text(Field::Company), "华为技术有限公司");
}

#[test]
fn create_requires_company_and_contact() {
    let new = NewLead {
        fields: vec![(Field::Company, text("B Group"))],
        owner: None,
        created_at: at("2024-03-20T00:00:00Z"),
        number: None,
    };
    let err = LeadDoc::create(
        &LeadId::random(),
        &new,
        &templates::b2b(),
        &stamp("a", "2024-03-20T09:00:00Z"),
        ActorId::random(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "contact: is required: give it with --contact"
    );
}

#[test]
fn moves_record_from_to_and_backdated_time_and_time_in_previous_stage() {
    let mut doc = new_lead("2024-03-01T00:00:00Z");
    apply(
        &mut doc,
        Action::Move {
            to: "discovery".into(),
            at: at("2024-03-11T00:00:00Z"),
        },
        "2024-03-20T09:00:00Z",
    )
    .unwrap();
    let lead = doc.view();
    assert_eq!(lead.stage, "discovery");
    assert_eq!(lead.stage_entered_at, at("2024-03-11T00:00:00Z"));
    assert_eq!(lead.previous_stage_days, Some(10));
    let change = &lead.stage_changes[1];
    assert_eq!(
        (change.from.as_deref(), change.to.as_deref()),
        (Some("acquisition"), Some("discovery"))
    );
    assert_eq!(change.times.recorded_at, at("2024-03-20T09:00:00Z"));
}

#[test]
fn state_rules_refuse_and_leave_the_document_unchanged() {
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let heads = doc.heads();
    let now = "2024-03-20T09:00:00Z";
    let same = apply(
        &mut doc,
        Action::Move {
            to: "acquisition".into(),
            at: at(now),
        },
        now,
    )
    .unwrap_err();
    assert!(matches!(same, LeadError::SameStage(_)));
    let early = apply(
        &mut doc,
        Action::Move {
            to: "discovery".into(),
            at: at("2024-03-01T00:00:00Z"),
        },
        now,
    )
    .unwrap_err();
    assert!(
        early.to_string().contains("the lead entered 'acquisition'"),
        "{early}"
    );
    let unknown = apply(
        &mut doc,
        Action::Move {
            to: "proposal".into(),
            at: at(now),
        },
        now,
    )
    .unwrap_err();
    assert!(
        unknown
            .to_string()
            .starts_with("stage: unknown stage 'proposal'"),
        "{unknown}"
    );
    let needs_note = apply(
        &mut doc,
        Action::Lost {
            reason: "other".into(),
            note: None,
            at: at(now),
        },
        now,
    )
    .unwrap_err();
    assert!(needs_note.to_string().starts_with("note:"), "{needs_note}");
    let not_closed = apply(&mut doc, Action::Reopen { at: at(now) }, now).unwrap_err();
    assert!(matches!(not_closed, LeadError::NotClosed));
    assert_eq!(
        doc.heads(),
        heads,
        "a refused action must not change the document"
    );
}

#[test]
fn won_lost_abandon_and_reopen() {
    let now = "2024-03-20T09:00:00Z";
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    apply(
        &mut doc,
        Action::Won {
            amount: Money::from_units(25),
            at: at("2024-03-19T00:00:00Z"),
            note: None,
        },
        now,
    )
    .unwrap();
    let lead = doc.view();
    assert_eq!(
        (lead.outcome, lead.deal_amount),
        (Outcome::Won, Some(Money::from_units(25)))
    );
    assert_eq!(lead.outcome_at, Some(at("2024-03-19T00:00:00Z")));
    // The win entered the win stage, account care, at the time of the win.
    assert_eq!(lead.stage, "care");
    let entered = lead.stage_changes.last().unwrap();
    assert_eq!(
        (entered.from.as_deref(), entered.times.at, entered.by_win()),
        (Some("acquisition"), at("2024-03-19T00:00:00Z"), true)
    );
    let closed = apply(
        &mut doc,
        Action::Move {
            to: "negotiation".into(),
            at: at(now),
        },
        now,
    )
    .unwrap_err();
    assert!(matches!(closed, LeadError::Closed(Outcome::Won)));
    apply(&mut doc, Action::Reopen { at: at(now) }, now).unwrap();
    let reopened = doc.view();
    assert_eq!(reopened.deal_amount, None);
    assert_eq!(
        reopened.stage, "acquisition",
        "reopening goes back to the stage the lead was won from"
    );
    apply(
        &mut doc,
        Action::Abandon {
            reason: Some("no-budget".into()),
            note: None,
            at: at(now),
        },
        now,
    )
    .unwrap();
    let lead = doc.view();
    assert_eq!(lead.outcome, Outcome::Abandoned);
    assert_eq!(lead.owner, None, "abandoned leads go back to the pool");
    assert_eq!(
        lead.owner_changes.last().unwrap().from.as_deref(),
        Some("alice")
    );
    assert_eq!(lead.outcomes.len(), 3);
}

#[test]
fn only_a_win_enters_the_win_stage() {
    let now = "2024-03-20T09:00:00Z";
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let heads = doc.heads();
    let refused = apply(
        &mut doc,
        Action::Move {
            to: "care".into(),
            at: at(now),
        },
        now,
    )
    .unwrap_err();
    assert!(matches!(refused, LeadError::NeedsWin { .. }), "{refused}");
    assert!(refused.to_string().contains("fieldsync won"), "{refused}");
    assert_eq!(doc.heads(), heads, "nothing written");
    // A win dated before the lead entered its stage would enter the win stage before it.
    apply(
        &mut doc,
        Action::Move {
            to: "negotiation".into(),
            at: at("2024-03-15T00:00:00Z"),
        },
        now,
    )
    .unwrap();
    let early = apply(
        &mut doc,
        Action::Won {
            amount: Money::from_units(5),
            at: at("2024-03-12T00:00:00Z"),
            note: None,
        },
        now,
    )
    .unwrap_err();
    assert!(matches!(early, LeadError::TooEarly(_)), "{early}");
}

#[test]
fn in_the_leads_template_won_enters_the_won_stage_and_layers_can_move_on_after_signing() {
    let now = "2024-03-20T09:00:00Z";
    let new = NewLead {
        fields: vec![
            (Field::Company, text("C Trading")),
            (Field::Contact, text("李娜")),
        ],
        owner: None,
        created_at: at("2024-03-01T00:00:00Z"),
        number: None,
    };
    let leads = templates::leads();
    let by = stamp("bob", now);
    let mut doc = LeadDoc::create(&LeadId::random(), &new, &leads, &by, ActorId::random()).unwrap();
    let move_to = |to: &str| Action::Move {
        to: to.into(),
        at: at("2024-03-05T00:00:00Z"),
    };
    let refused = doc.apply(&[move_to("won")], &leads, &by).unwrap_err();
    assert!(matches!(refused, LeadError::NeedsWin { .. }), "{refused}");
    let won = Action::Won {
        amount: Money::from_units(8),
        at: at("2024-03-06T00:00:00Z"),
        note: None,
    };
    doc.apply(std::slice::from_ref(&won), &leads, &by).unwrap();
    assert_eq!(doc.view().stage, "won");

    let layers = templates::layers();
    let mut doc =
        LeadDoc::create(&LeadId::random(), &new, &layers, &by, ActorId::random()).unwrap();
    let past = doc
        .apply(&[move_to("implemented")], &layers, &by)
        .unwrap_err();
    assert!(
        past.to_string().contains("comes after the win stage"),
        "{past}"
    );
    doc.apply(&[won], &layers, &by).unwrap();
    assert_eq!(doc.view().stage, "signed");
    // After the sale, a won customer moves on to implementation.
    doc.apply(&[move_to("implemented")], &layers, &by)
        .unwrap_err();
    doc.apply(
        &[Action::Move {
            to: "implemented".into(),
            at: at(now),
        }],
        &layers,
        &by,
    )
    .unwrap();
    assert_eq!(doc.view().stage, "implemented");
}

#[test]
fn edits_write_only_changed_fields() {
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let now = "2024-03-20T09:00:00Z";
    let unchanged = apply(
        &mut doc,
        Action::Edit(vec![(Field::Phone, Some(text("+86 138 0013 8000")))]),
        now,
    )
    .unwrap();
    assert!(!unchanged, "setting a field to its value writes nothing");
    assert!(apply(&mut doc, Action::Edit(vec![(Field::Phone, None)]), now).unwrap());
    assert_eq!(doc.view().text(Field::Phone), "");
}

#[test]
fn deleted_leads_refuse_changes() {
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let now = "2024-03-20T09:00:00Z";
    apply(&mut doc, Action::Delete, now).unwrap();
    assert!(doc.view().deleted.is_some());
    let err = apply(
        &mut doc,
        Action::Edit(vec![(Field::Title, Some(text("CTO")))]),
        now,
    )
    .unwrap_err();
    assert!(matches!(err, LeadError::Deleted { .. }));
}

#[test]
fn concurrent_register_edits_merge_deterministically_and_keep_both_values() {
    let base = new_lead("2024-03-10T00:00:00Z");
    let mut one = base.fork(ActorId::random());
    let mut two = base.fork(ActorId::random());
    let now = "2024-03-20T09:00:00Z";
    apply(
        &mut one,
        Action::Edit(vec![(Field::Phone, Some(text("010 1111 1111")))]),
        now,
    )
    .unwrap();
    apply(
        &mut two,
        Action::Edit(vec![(Field::Phone, Some(text("010 2222 2222")))]),
        now,
    )
    .unwrap();
    let mut left = one.clone();
    left.merge(&mut two.clone()).unwrap();
    let mut right = two.clone();
    right.merge(&mut one.clone()).unwrap();
    let (left, right) = (left.view(), right.view());
    assert_eq!(
        left.text(Field::Phone),
        right.text(Field::Phone),
        "same winner on every device"
    );
    assert_eq!(left.conflicts.len(), 1);
    let mut values = left.conflicts[0].values.clone();
    values.sort();
    assert_eq!(values, ["010 1111 1111", "010 2222 2222"]);
    assert_eq!(
        left.conflicts[0].values[0],
        left.text(Field::Phone),
        "the standing value comes first"
    );
}

#[test]
fn setting_a_conflicted_field_resolves_it() {
    let base = new_lead("2024-03-10T00:00:00Z");
    let (mut one, mut two) = (base.fork(ActorId::random()), base.fork(ActorId::random()));
    let now = "2024-03-20T09:00:00Z";
    apply(
        &mut one,
        Action::Edit(vec![(Field::Title, Some(text("CTO")))]),
        now,
    )
    .unwrap();
    apply(
        &mut two,
        Action::Edit(vec![(Field::Title, Some(text("CIO")))]),
        now,
    )
    .unwrap();
    one.merge(&mut two).unwrap();
    let winner = one.view().text(Field::Title);
    assert!(
        apply(
            &mut one,
            Action::Edit(vec![(Field::Title, Some(text(&winner)))]),
            now
        )
        .unwrap(),
        "re-setting the winner must still write, to settle the conflict"
    );
    assert!(one.view().conflicts.is_empty());
}

#[test]
fn a_due_date_needs_a_next_step_and_may_not_precede_the_follow_up_in_the_reps_zone() {
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let heads = doc.heads();
    let now = "2024-03-20T09:00:00Z";
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    // 2024-03-19 17:00 UTC is already the 20th in Shanghai.
    let draft = |next: Option<&str>, due: &str| FollowUpDraft {
        at: at("2024-03-19T17:00:00Z"),
        channel: ContactChannel::Phone,
        summary: "电话".into(),
        feedback: None,
        next: next.map(Into::into),
        due: Some(fieldsync_model::Due::Date(due.parse().unwrap())),
        zone: shanghai,
    };
    let no_next = apply(&mut doc, Action::Log(draft(None, "2024-03-21")), now).unwrap_err();
    assert!(
        no_next.to_string().contains("needs a next step"),
        "{no_next}"
    );
    let before = apply(
        &mut doc,
        Action::Log(draft(Some("报价"), "2024-03-19")),
        now,
    )
    .unwrap_err();
    assert!(before.to_string().starts_with("due: is before"), "{before}");
    assert_eq!(doc.heads(), heads, "nothing written");
    // Due the same local day is fine.
    apply(
        &mut doc,
        Action::Log(draft(Some("报价"), "2024-03-20")),
        now,
    )
    .unwrap();
}

#[test]
fn save_load_and_incremental_round_trip() {
    let mut doc = new_lead("2024-03-10T00:00:00Z");
    let saved = doc.save();
    let heads = doc.heads();
    let now = "2024-03-20T09:00:00Z";
    let draft = FollowUpDraft {
        at: at(now) - Duration::hours(3),
        channel: ContactChannel::Visit,
        summary: "现场拜访，演示产品".into(),
        feedback: Some("认可".into()),
        next: None,
        due: None,
        zone: chrono::Offset::fix(&chrono::Utc),
    };
    apply(&mut doc, Action::Log(draft), now).unwrap();
    let increment = doc.save_after(&heads);
    let mut reloaded = LeadDoc::load(&saved, ActorId::random()).unwrap();
    reloaded.load_incremental(&increment).unwrap();
    assert_eq!(reloaded.view(), doc.view());
    assert_eq!(reloaded.view().followups[0].summary, "现场拜访，演示产品");
    assert!(LeadDoc::load(b"not automerge", ActorId::random()).is_err());
}

#[test]
fn concurrent_stage_moves_keep_both_in_the_log_and_conflict_on_the_stage() {
    let base = new_lead("2024-03-10T00:00:00Z");
    let mut one = base.fork(ActorId::random());
    let mut two = base.fork(ActorId::random());
    let now = "2024-03-20T09:00:00Z";
    let move_to = |to: &str| Action::Move {
        to: to.into(),
        at: now.parse().unwrap(),
    };
    apply(&mut one, move_to("discovery"), now).unwrap();
    apply(&mut two, move_to("solution"), now).unwrap();
    one.merge(&mut two).unwrap();
    let lead = one.view();
    let moves: Vec<_> = lead.stage_changes.iter().map(|c| c.to.clone()).collect();
    assert_eq!(moves.len(), 3, "{moves:?}");
    let fields: Vec<_> = lead.conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["stage"]);
    // Moving to the standing stage settles it without a new entry in the log.
    apply(&mut one, move_to(&lead.stage), now).unwrap();
    let settled = one.view();
    assert!(settled.conflicts.is_empty());
    assert_eq!(settled.stage, lead.stage);
    assert_eq!(settled.stage_changes.len(), 3);
    let err = apply(&mut one, move_to(&lead.stage), now).unwrap_err();
    assert!(matches!(err, LeadError::SameStage(_)));
}

#[test]
fn a_new_lead_read_from_what_it_was_made_of_equals_its_document_read_back() {
    use fieldsync_model::LeadHistory;
    let every_field: Vec<(Field, ScalarValue)> = Field::ALL
        .iter()
        .map(|field| {
            let value = match field.kind() {
                fieldsync_model::field::FieldKind::Money => ScalarValue::Int(123_456),
                _ => text("华东 value"),
            };
            (*field, value)
        })
        .collect();
    for owner in [Some("alice".to_owned()), None] {
        let history = LeadHistory {
            id: LeadId::random(),
            new: NewLead {
                fields: every_field.clone(),
                owner,
                created_at: at("2024-03-01T08:00:00Z"),
                number: None,
            },
            creator: stamp("alice", "2024-03-20T09:00:00Z"),
            events: Vec::new(),
        };
        let (doc, lead) =
            LeadDoc::from_history_with_view(&history, &templates::b2b(), ActorId::random())
                .unwrap();
        assert_eq!(lead, doc.view());
        let saved = LeadDoc::load(&doc.save_uncompressed(), ActorId::random()).unwrap();
        assert_eq!(saved.view(), lead);
    }
}
