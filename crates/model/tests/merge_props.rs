//! Property: random edits, follow-ups and moves applied to two forks of a lead, then merged,
//! keep every follow-up and every stage change from both sides, and both merge orders agree.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::{ActorId, ScalarValue};
use chrono::{DateTime, Duration, Utc};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadDoc, LeadId, NewLead, Stamp, templates,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Edit(usize, String),
    Log(String),
    Move(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..4, "[a-z 张伟华为]{1,12}").prop_map(|(f, v)| Op::Edit(f, v)),
        "[a-z 跟进拜访]{1,20}".prop_map(Op::Log),
        (0usize..6).prop_map(Op::Move),
    ]
}

const EDITABLE: [Field; 4] = [Field::Title, Field::Industry, Field::Notes, Field::Budget];

/// Applies ops in order; returns the follow-up summaries and stage moves it recorded.
fn run(
    doc: &mut LeadDoc,
    ops: &[Op],
    who: &str,
    start: DateTime<Utc>,
) -> (Vec<String>, Vec<(String, DateTime<Utc>)>) {
    let pipeline = templates::b2b();
    let mut logged = Vec::new();
    let mut moved = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let now = start + Duration::minutes(i as i64 + 1);
        let stamp = Stamp {
            by: who.into(),
            now,
        };
        let action = match op {
            Op::Edit(f, v) => Action::Edit(vec![(
                EDITABLE[*f],
                Some(ScalarValue::Str(v.as_str().into())),
            )]),
            Op::Log(summary) => Action::Log(FollowUpDraft {
                at: now,
                channel: ContactChannel::Phone,
                summary: format!("{who}: {summary}"),
                feedback: None,
                next: None,
                due: None,
                zone: chrono::Offset::fix(&chrono::Utc),
            }),
            Op::Move(stage) => Action::Move {
                to: pipeline.stages[*stage].key.clone(),
                at: now,
            },
        };
        // Moves to the current stage are refused by design; that is not what is under test.
        if doc.apply(&[action], &pipeline, &stamp).unwrap_or(false) {
            match op {
                Op::Log(summary) => logged.push(format!("{who}: {summary}")),
                Op::Move(stage) => moved.push((pipeline.stages[*stage].key.clone(), now)),
                Op::Edit(..) => {}
            }
        }
    }
    (logged, moved)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn merged_forks_keep_every_followup_and_stage_change(
        left_ops in prop::collection::vec(op(), 0..12),
        right_ops in prop::collection::vec(op(), 0..12),
    ) {
        let created: DateTime<Utc> = "2024-03-01T00:00:00Z".parse().unwrap();
        let new = NewLead {
            fields: vec![(Field::Company, ScalarValue::Str("C Trading".into())), (Field::Contact, ScalarValue::Str("李娜".into()))],
            owner: Some("alice".into()),
            created_at: created,
            number: None,
        };
        let pipeline = templates::b2b();
        let base = LeadDoc::create(&LeadId::random(), &new, &pipeline, &Stamp { by: "alice".into(), now: created }, ActorId::random()).unwrap();
        let mut left = base.fork(ActorId::random());
        let mut right = base.fork(ActorId::random());
        let (left_logs, left_moves) = run(&mut left, &left_ops, "alice", created);
        let (right_logs, right_moves) = run(&mut right, &right_ops, "bob", created);

        let mut merged = left.clone();
        merged.merge(&mut right.clone()).unwrap();
        let mut other_order = right.clone();
        other_order.merge(&mut left.clone()).unwrap();
        let lead = merged.view();
        prop_assert_eq!(&lead, &other_order.view());

        let mut summaries: Vec<String> = lead.followups.iter().map(|f| f.summary.clone()).collect();
        let mut expected: Vec<String> = left_logs.into_iter().chain(right_logs).collect();
        summaries.sort();
        expected.sort();
        prop_assert_eq!(summaries, expected);

        let recorded: Vec<(String, DateTime<Utc>, String)> = lead.stage_changes.iter().skip(1)
            .map(|c| (c.to.clone().unwrap(), c.times.at, c.times.by.clone())).collect();
        prop_assert_eq!(recorded.len(), left_moves.len() + right_moves.len());
        for (stage, at) in &left_moves {
            prop_assert!(recorded.contains(&(stage.clone(), *at, "alice".to_owned())));
        }
        for (stage, at) in &right_moves {
            prop_assert!(recorded.contains(&(stage.clone(), *at, "bob".to_owned())));
        }
    }
}
