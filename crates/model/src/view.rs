//! The lead as people and scripts read it: every field, every log in event-time order, the
//! derived stage-entry time, and any conflicting register values.
//!
//! This is the JSON shape of `fieldsync lead show --json` (documented in docs/cli.md).

use std::collections::BTreeMap;
use std::fmt;

use automerge::{ROOT, ReadDoc, ScalarValue, hydrate};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::field::Field;
use crate::id::LeadId;
use crate::money::Money;
use crate::schema::{self, MapRead, key, list_maps};
use crate::when::Due;

/// Where a lead stands.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Still being worked.
    #[default]
    Open,
    /// Closed with a deal.
    Won,
    /// Closed without one, for a reason.
    Lost,
    /// Given up and returned to the pool.
    Abandoned,
}

impl Outcome {
    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Won => "won",
            Outcome::Lost => "lost",
            Outcome::Abandoned => "abandoned",
        }
    }

    /// The Chinese name: 进行中, 成交, 丢单, 放弃.
    pub fn zh(self) -> &'static str {
        match self {
            Outcome::Open => "进行中",
            Outcome::Won => "成交",
            Outcome::Lost => "丢单",
            Outcome::Abandoned => "放弃",
        }
    }

    /// What a person or a sheet wrote for an outcome: its key or its Chinese name.
    pub fn parse(text: &str) -> Result<Outcome, String> {
        let text = text.trim();
        [Outcome::Open, Outcome::Won, Outcome::Lost, Outcome::Abandoned]
            .into_iter()
            .find(|outcome| outcome.key().eq_ignore_ascii_case(text) || outcome.zh() == text)
            .ok_or_else(|| {
                format!("'{text}' is not an outcome: use open, won, lost or abandoned (进行中, 成交, 丢单, 放弃)")
            })
    }

    /// Reads a stored key; unknown keys read as open.
    pub fn from_key(text: &str) -> Self {
        match text {
            "won" => Outcome::Won,
            "lost" => Outcome::Lost,
            "abandoned" => Outcome::Abandoned,
            _ => Outcome::Open,
        }
    }

    /// Whether the lead is closed (won, lost or abandoned).
    pub fn is_closed(self) -> bool {
        self != Outcome::Open
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Who recorded an event, when it happened and when it was recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventTimes {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub by: String,
}

/// One entry of the activity log, as corrected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FollowUp {
    /// Identifies the entry across devices and corrections (from its first recording).
    pub key: String,
    /// Times and author (`at` as corrected).
    #[serde(flatten)]
    pub times: EventTimes,
    /// Who corrected it last and when, if it was corrected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected: Option<EventTimes>,
    /// phone / email / visit / message.
    pub channel: String,
    /// What was discussed.
    pub summary: String,
    /// The customer's feedback.
    pub feedback: Option<String>,
    /// The next step.
    pub next: Option<String>,
    /// When the next step is due.
    pub due: Option<Due>,
}

/// One entry of the stage-change or owner-change log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Times and author.
    #[serde(flatten)]
    pub times: EventTimes,
    /// Previous value (`None`: none, at creation or from the pool).
    pub from: Option<String>,
    /// New value (`None`: to the pool).
    pub to: Option<String>,
    /// For a stage change made by an outcome rather than a move: `won` (the win entered the
    /// win stage) or `reopen` (reopening went back to the stage the lead was won from).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Change {
    /// Whether a win made this stage change (entering the pipeline's win stage).
    pub fn by_win(&self) -> bool {
        self.cause.as_deref() == Some(schema::cause::WON)
    }
}

/// One entry of the outcome log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutcomeEvent {
    /// Times and author.
    #[serde(flatten)]
    pub times: EventTimes,
    /// The outcome it set.
    pub outcome: Outcome,
    /// Deal amount, when won.
    pub amount: Option<Money>,
    /// Reason key, when lost or abandoned.
    pub reason: Option<String>,
    /// Free note.
    pub note: Option<String>,
}

/// A correction or void of a follow-up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Correction {
    /// Who corrected it and when.
    #[serde(flatten)]
    pub times: EventTimes,
    /// The key of the follow-up corrected.
    pub of: String,
    /// The follow-up as it should read; `None`: it is void.
    pub followup: Option<FollowUp>,
}

/// One entry of the hold log: a hold until a day, or a release.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HoldEvent {
    /// Times and author.
    #[serde(flatten)]
    pub times: EventTimes,
    /// The last day of the hold; `None` for a release.
    pub until: Option<NaiveDate>,
    /// Why.
    pub reason: Option<String>,
}

/// A register two devices set concurrently: the value that stands and the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The field's document key.
    pub field: String,
    /// Every value, the one that currently stands first.
    pub values: Vec<String>,
}

/// When and by whom a lead was deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deletion {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
}

/// A whole lead, read from its document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lead {
    /// Identity.
    pub id: LeadId,
    /// Every field by document key (`company`, `phone`, `amount`...), as typed; `None` (JSON
    /// `null`) when unset, so scripts always find every key.
    #[serde(flatten)]
    pub fields: BTreeMap<&'static str, Option<FieldValue>>,
    /// Its lead number (`LX2611KQM007`); `None` for a lead made before leads had numbers.
    pub number: Option<String>,
    /// Responsible rep; `None` is the unassigned pool.
    pub owner: Option<String>,
    /// Current stage key.
    pub stage: String,
    /// When the lead last entered its current stage.
    pub stage_entered_at: DateTime<Utc>,
    /// Days spent in the stage before the current one, if any.
    pub previous_stage_days: Option<i64>,
    /// Open, won, lost or abandoned.
    pub outcome: Outcome,
    /// When the current outcome was set (`None` while open and never closed).
    pub outcome_at: Option<DateTime<Utc>>,
    /// Deal amount when won.
    pub deal_amount: Option<Money>,
    /// Reason key when lost or abandoned.
    pub loss_reason: Option<String>,
    /// When the lead came in.
    pub created_at: DateTime<Utc>,
    /// Who entered it.
    pub created_by: String,
    /// Tombstone.
    pub deleted: Option<Deletion>,
    /// Activity log, oldest first, as corrected (void entries left out).
    pub followups: Vec<FollowUp>,
    /// Every correction and void of a follow-up, oldest first (the originals they replace are
    /// in the document's history).
    pub corrections: Vec<Correction>,
    /// Stage changes, oldest first; the first is the creation.
    pub stage_changes: Vec<Change>,
    /// Owner changes, oldest first; the first is the creation.
    pub owner_changes: Vec<Change>,
    /// Outcome changes, oldest first.
    pub outcomes: Vec<OutcomeEvent>,
    /// The last day the lead is on hold (暂缓), if it was put on hold and not released.
    pub hold_until: Option<NaiveDate>,
    /// Holds and releases, oldest first.
    pub holds: Vec<HoldEvent>,
    /// Registers with concurrent values.
    pub conflicts: Vec<Conflict>,
}

/// A field's value in the view: text, or an amount serialised as a number.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// Text, dates and keys.
    Text(String),
    /// Amounts.
    Money(Money),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(text) => f.write_str(text),
            FieldValue::Money(money) => money.fmt(f),
        }
    }
}

/// Registers that are not in the field table but can conflict.
const STATE_REGISTERS: [&str; 5] = [
    key::OWNER,
    key::STAGE,
    key::OUTCOME,
    key::DEAL_AMOUNT,
    key::LOSS_REASON,
];

impl Lead {
    /// Reads a lead from its document.
    pub fn read(doc: &impl ReadDoc) -> Lead {
        let root = match doc.hydrate(ROOT, None) {
            Ok(hydrate::Value::Map(root)) => root,
            _ => hydrate::Map::default(),
        };
        Lead::from_root(&root, doc)
    }

    /// Reads a lead from its document's root as hydrated (`doc` is asked only for the values
    /// of registers the root flags as conflicted).
    pub(crate) fn from_root(root: &hydrate::Map, doc: &impl ReadDoc) -> Lead {
        let fields = Field::ALL
            .iter()
            .map(|field| {
                let value = match field.kind() {
                    crate::field::FieldKind::Money => root
                        .int(field.key())
                        .map(|cents| FieldValue::Money(Money::from_cents(cents))),
                    _ => root.string(field.key()).map(FieldValue::Text),
                };
                (field.key(), value)
            })
            .collect();
        let created_at = root.time(key::CREATED_AT).unwrap_or_default();
        let stage = root.string(key::STAGE).unwrap_or_default();
        let stage_changes = changes(root, key::STAGE_CHANGES);
        let (stage_entered_at, previous_stage_days) =
            stage_entry(&stage_changes, &stage, created_at);
        let outcome = root
            .string(key::OUTCOME)
            .map_or(Outcome::Open, |k| Outcome::from_key(&k));
        let outcomes = outcome_events(root);
        let corrections = corrections(root);
        let outcome_at = outcomes
            .iter()
            .rev()
            .find(|event| event.outcome == outcome)
            .map(|event| event.times.at);
        Lead {
            id: LeadId::parse(&root.string(key::ID).unwrap_or_default())
                .unwrap_or_else(|| LeadId::from_bytes([0; 16])),
            fields,
            number: root.string(key::NUMBER),
            owner: root.string(key::OWNER),
            stage,
            stage_entered_at,
            previous_stage_days,
            outcome,
            outcome_at,
            deal_amount: root.int(key::DEAL_AMOUNT).map(Money::from_cents),
            loss_reason: root.string(key::LOSS_REASON),
            created_at,
            created_by: root.string(key::CREATED_BY).unwrap_or_default(),
            deleted: root.time(key::DELETED).map(|at| Deletion {
                at,
                by: root.string(key::DELETED_BY).unwrap_or_default(),
            }),
            followups: followups(root, &corrections),
            corrections,
            stage_changes,
            owner_changes: changes(root, key::OWNER_CHANGES),
            outcomes,
            hold_until: root
                .string(key::HOLD_UNTIL)
                .and_then(|day| day.parse().ok()),
            holds: holds(root),
            conflicts: conflicts(doc, root),
        }
    }

    /// A field's value as text, or `""` when unset.
    pub fn text(&self, field: Field) -> String {
        self.fields
            .get(field.key())
            .and_then(Option::as_ref)
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// Whether the lead is open and on hold on `today` (its hold runs through its last day).
    pub fn on_hold(&self, today: NaiveDate) -> bool {
        self.outcome == Outcome::Open && self.hold_until.is_some_and(|until| until >= today)
    }

    /// The estimated amount.
    pub fn amount(&self) -> Option<Money> {
        match self.fields.get(Field::Amount.key()) {
            Some(Some(FieldValue::Money(money))) => Some(*money),
            _ => None,
        }
    }
}

/// When the lead entered `stage` last, and how many days it spent in the stage before.
fn stage_entry(
    changes: &[Change],
    stage: &str,
    created_at: DateTime<Utc>,
) -> (DateTime<Utc>, Option<i64>) {
    let Some(pos) = changes.iter().rposition(|c| c.to.as_deref() == Some(stage)) else {
        return (created_at, None);
    };
    let entered = changes[pos].times.at;
    let previous = pos
        .checked_sub(1)
        .map(|prev| (entered - changes[prev].times.at).num_days());
    (entered, previous)
}

fn event_times(entry: &hydrate::Map) -> EventTimes {
    let at = entry.time(key::AT).unwrap_or_default();
    EventTimes {
        at,
        recorded_at: entry.time(key::RECORDED_AT).unwrap_or(at),
        by: entry.string(key::BY).unwrap_or_default(),
    }
}

/// Sorts a log by when things happened; ties by when recorded, then author, so every device
/// shows merged logs in the same order.
fn sort_by_time<T>(items: &mut [T], times: impl Fn(&T) -> &EventTimes) {
    items.sort_by(|a, b| {
        let (a, b) = (times(a), times(b));
        (a.at, a.recorded_at, &a.by).cmp(&(b.at, b.recorded_at, &b.by))
    });
}

/// A follow-up's key: a digest of when it happened, when and by whom it was first recorded,
/// and what it said, the same on every device.
fn followup_key(times: &EventTimes, summary: &str) -> String {
    let text = format!(
        "{}|{}|{}|{summary}",
        times.at.timestamp_millis(),
        times.recorded_at.timestamp_millis(),
        times.by
    );
    let digest = Sha256::digest(text.as_bytes());
    digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn followup_from(entry: &hydrate::Map, times: EventTimes, key: String) -> FollowUp {
    FollowUp {
        key,
        times,
        corrected: None,
        channel: entry.string(key::CHANNEL).unwrap_or_default(),
        summary: entry.string(key::SUMMARY).unwrap_or_default(),
        feedback: entry.string(key::FEEDBACK),
        next: entry.string(key::NEXT),
        due: entry.string(key::DUE).and_then(|d| Due::from_stored(&d)),
    }
}

fn corrections(root: &hydrate::Map) -> Vec<Correction> {
    let mut list: Vec<Correction> = list_maps(root, key::CORRECTIONS)
        .map(|entry| {
            let times = event_times(entry);
            let of = entry.string(key::OF).unwrap_or_default();
            let void = matches!(entry.scalar(key::VOID), Some(ScalarValue::Boolean(true)));
            let followup = (!void).then(|| {
                let happened = EventTimes {
                    at: entry.time(key::FOLLOWUP_AT).unwrap_or(times.at),
                    ..times.clone()
                };
                followup_from(entry, happened, of.clone())
            });
            Correction {
                times,
                of,
                followup,
            }
        })
        .collect();
    sort_by_time(&mut list, |c| &c.times);
    list
}

/// The activity log as corrected: each entry replaced by its latest correction, void ones left
/// out, sorted by when they happened.
fn followups(root: &hydrate::Map, corrections: &[Correction]) -> Vec<FollowUp> {
    let mut list: Vec<FollowUp> = list_maps(root, key::FOLLOWUPS)
        .filter_map(|entry| {
            let times = event_times(entry);
            let key = followup_key(&times, &entry.string(key::SUMMARY).unwrap_or_default());
            let original = followup_from(entry, times.clone(), key.clone());
            match corrections.iter().rev().find(|c| c.of == key) {
                None => Some(original),
                Some(correction) => {
                    let mut corrected = correction.followup.clone()?;
                    corrected.times = EventTimes {
                        at: corrected.times.at,
                        ..times
                    };
                    corrected.corrected = Some(correction.times.clone());
                    Some(corrected)
                }
            }
        })
        .collect();
    sort_by_time(&mut list, |f| &f.times);
    list
}

fn changes(root: &hydrate::Map, log: &str) -> Vec<Change> {
    let mut list: Vec<Change> = list_maps(root, log)
        .map(|entry| Change {
            times: event_times(entry),
            from: entry.string(key::FROM),
            to: entry.string(key::TO),
            cause: entry.string(key::CAUSE),
        })
        .collect();
    sort_by_time(&mut list, |c| &c.times);
    list
}

fn outcome_events(root: &hydrate::Map) -> Vec<OutcomeEvent> {
    let mut list: Vec<OutcomeEvent> = list_maps(root, key::OUTCOMES)
        .map(|entry| OutcomeEvent {
            times: event_times(entry),
            outcome: Outcome::from_key(&entry.string(key::OUTCOME).unwrap_or_default()),
            amount: entry.int(key::AMOUNT).map(Money::from_cents),
            reason: entry.string(key::REASON),
            note: entry.string(key::NOTE),
        })
        .collect();
    sort_by_time(&mut list, |o| &o.times);
    list
}

fn holds(root: &hydrate::Map) -> Vec<HoldEvent> {
    let mut list: Vec<HoldEvent> = list_maps(root, key::HOLDS)
        .map(|entry| HoldEvent {
            times: event_times(entry),
            until: entry.string(key::UNTIL).and_then(|day| day.parse().ok()),
            reason: entry.string(key::REASON),
        })
        .collect();
    sort_by_time(&mut list, |h| &h.times);
    list
}

/// Registers whose hydrated value is flagged as conflicted, with every value (from `get_all`).
fn conflicts(doc: &impl ReadDoc, root: &hydrate::Map) -> Vec<Conflict> {
    let field_registers = Field::ALL.iter().map(|f| (f.key(), Some(*f)));
    let state_registers = STATE_REGISTERS.iter().map(|k| (*k, None));
    field_registers
        .chain(state_registers)
        .filter(|(register, _)| {
            std::ops::Deref::deref(root)
                .get(*register)
                .is_some_and(|v| v.conflict)
        })
        .filter_map(|(register, field)| {
            let values = schema::all_scalars(doc, &ROOT, register);
            (values.len() > 1).then(|| Conflict {
                field: register.to_owned(),
                values: values
                    .iter()
                    .map(|v| match (field, v) {
                        (Some(field), _) => field.display(v),
                        (None, automerge::ScalarValue::Int(cents)) => {
                            Money::from_cents(*cents).to_string()
                        }
                        (None, automerge::ScalarValue::Str(text)) => text.to_string(),
                        (None, automerge::ScalarValue::Null) => "(none)".to_owned(),
                        (None, other) => other.to_string(),
                    })
                    .collect(),
            })
        })
        .collect()
}
