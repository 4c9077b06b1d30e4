//! Figures from rows made by real lead documents: stage changes two offline devices made and
//! then merged, and a deal lost, reopened and won. Expected numbers are written out by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::{ActorId, ScalarValue};
use chrono::{DateTime, NaiveDate, Utc};
use fieldsync_funnel::outcomes::outcomes;
use fieldsync_funnel::stages::funnel;
use fieldsync_funnel::{Counting, Period, Window};
use fieldsync_model::{Action, Field, LeadDoc, LeadId, LeadRow, Money, NewLead, Stamp, templates};

fn at(day: &str) -> DateTime<Utc> {
    format!("2024-{day}T10:00:00Z").parse().unwrap()
}

fn new_lead(created: &str) -> LeadDoc {
    let new = NewLead {
        fields: vec![
            (Field::Company, ScalarValue::Str("合并测试".into())),
            (Field::Contact, ScalarValue::Str("李".into())),
        ],
        owner: Some("lina".into()),
        created_at: at(created),
        number: None,
    };
    let stamp = Stamp {
        by: "lina".into(),
        now: at(created),
    };
    LeadDoc::create(
        &LeadId::random(),
        &new,
        &templates::b2b(),
        &stamp,
        ActorId::random(),
    )
    .unwrap()
}

fn act(doc: &mut LeadDoc, action: Action, by: &str, day: &str) {
    let stamp = Stamp {
        by: by.into(),
        now: at(day),
    };
    doc.apply(&[action], &templates::b2b(), &stamp).unwrap();
}

fn move_to(stage: &str, day: &str) -> Action {
    Action::Move {
        to: stage.into(),
        at: at(day),
    }
}

fn march() -> Period {
    let day = |d| NaiveDate::from_ymd_opt(2024, 3, d).unwrap();
    Period::days(day(1), day(31), &Utc)
}

fn reached(rows: &[LeadRow], counting: Counting) -> Vec<u64> {
    funnel(
        rows,
        &templates::b2b(),
        march(),
        at("04-15"),
        counting,
        Window::Cohort,
    )
    .stages
    .iter()
    .map(|s| s.reached)
    .collect()
}

/// Created 03-01 and synced to two devices; offline, one moves it to solution on 03-05 and the
/// other to discovery on 03-06; then they merge.
fn merged_offline_moves() -> LeadRow {
    let base = new_lead("03-01");
    let mut one = base.fork(ActorId::random());
    let mut two = base.fork(ActorId::random());
    act(&mut one, move_to("solution", "03-05"), "lina", "03-05");
    act(&mut two, move_to("discovery", "03-06"), "wangwei", "03-06");
    one.merge(&mut two).unwrap();
    LeadRow::from_lead(&one.view())
}

#[test]
fn stage_changes_merged_from_two_offline_devices_count_under_both_rules() {
    let row = merged_offline_moves();
    // Both moves survive the merge: acquisition 03-01, solution 03-05, discovery 03-06.
    assert_eq!(row.stage_path.len(), 3);
    let rows = [row];
    // Pass-through: discovery counts as passed on 03-05, when the lead first got beyond it.
    assert_eq!(reached(&rows, Counting::PassThrough), [1, 1, 1, 0, 0, 0]);
    // Strict: discovery was first entered (03-06) after solution (03-05): the lead did not
    // pass the stages in order, so it counts at acquisition and discovery only.
    assert_eq!(reached(&rows, Counting::Strict), [1, 1, 0, 0, 0, 0]);
}

#[test]
fn a_deal_lost_then_reopened_and_won_counts_once_as_won() {
    let mut doc = new_lead("03-01");
    act(&mut doc, move_to("negotiation", "03-04"), "lina", "03-04");
    let lost = Action::Lost {
        reason: "price".into(),
        note: None,
        at: at("03-10"),
    };
    act(&mut doc, lost, "lina", "03-10");
    act(
        &mut doc,
        Action::Reopen { at: at("03-15") },
        "lina",
        "03-15",
    );
    let won = Action::Won {
        amount: Money::from_cents(4_000),
        note: None,
        at: at("03-25"),
    };
    act(&mut doc, won, "lina", "03-25");
    let rows = [LeadRow::from_lead(&doc.view())];
    for window in [Window::Cohort, Window::Activity] {
        let ended = outcomes(&rows, &templates::b2b(), march(), at("04-15"), window);
        // One deal, won on 03-25 for 40: the earlier loss no longer stands.
        assert_eq!((ended.won, ended.lost), (1, 0), "{window:?}");
        assert_eq!(ended.win_rate.to_string(), "100.0%");
        assert_eq!(ended.average_deal, Some(Money::from_cents(4_000)));
        assert!(ended.loss_reasons.is_empty());
    }
}
