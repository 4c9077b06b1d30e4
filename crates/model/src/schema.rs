//! The lead document's layout: its keys, and typed readers over Automerge values.
//!
//! ```text
//! ROOT
//!   schema: uint               document schema version (SCHEMA_VERSION)
//!   id, created_by: str       created_at: timestamp      number: str (LX2611KQM007)
//!   <Field::key()>: str|int    the registers of crate::field (company, phone, amount...)
//!   owner: str|null            stage: str     outcome: str ("open"|"won"|"lost"|"abandoned")
//!   deal_amount: int           loss_reason: str
//!   deleted: timestamp         deleted_by: str       (tombstone, set once, never removed)
//!   followups:     [ {at, recorded_at, by, channel, summary, feedback?, next?, due?} ]
//!   stage_changes: [ {at, recorded_at, by, from|null, to, cause?} ]   cause: "won" when a
//!                  win entered the pipeline's win stage, "reopen" when reopening left it
//!   owner_changes: [ {at, recorded_at, by, from|null, to|null} ]
//!   outcomes:      [ {at, recorded_at, by, outcome, amount?, reason?, note?} ]
//!   corrections:   [ {at, recorded_at, by, of, void?, followup_at?, channel?, summary?,
//!                     feedback?, next?, due?} ]   of: the corrected follow-up's key
//!   hold_until: str            (YYYY-MM-DD; absent or null: not on hold)
//!   holds:         [ {at, recorded_at, by, until?, reason?} ]    until absent: released
//! ```
//! Registers hold the current value and merge by Automerge's rules (concurrent sets stay
//! visible through `get_all` as conflicts). Lists are append-only event logs: entries are
//! inserted, never edited or removed, so concurrent appends all survive a merge.

use automerge::transaction::{Transactable, Transaction};
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value, hydrate};
use chrono::{DateTime, Utc};

use crate::when;

/// Version of the document layout written by this code.
pub const SCHEMA_VERSION: u64 = 1;

/// Root keys that are not [`crate::field::Field`] registers.
pub mod key {
    /// Document schema version.
    pub const SCHEMA: &str = "schema";
    /// Lead id.
    pub const ID: &str = "id";
    /// Creation time.
    pub const CREATED_AT: &str = "created_at";
    /// Who created it.
    pub const CREATED_BY: &str = "created_by";
    /// The lead number (`LX2611KQM007`), set at creation.
    pub const NUMBER: &str = "number";
    /// Current owner (null: the unassigned pool).
    pub const OWNER: &str = "owner";
    /// Current stage key.
    pub const STAGE: &str = "stage";
    /// Current outcome.
    pub const OUTCOME: &str = "outcome";
    /// Deal amount when won.
    pub const DEAL_AMOUNT: &str = "deal_amount";
    /// Loss reason key when lost or abandoned.
    pub const LOSS_REASON: &str = "loss_reason";
    /// Tombstone: when the lead was deleted.
    pub const DELETED: &str = "deleted";
    /// Who deleted it.
    pub const DELETED_BY: &str = "deleted_by";
    /// Follow-up log.
    pub const FOLLOWUPS: &str = "followups";
    /// Stage-change log.
    pub const STAGE_CHANGES: &str = "stage_changes";
    /// Owner-change log.
    pub const OWNER_CHANGES: &str = "owner_changes";
    /// Outcome log.
    pub const OUTCOMES: &str = "outcomes";
    /// Event: when it happened.
    pub const AT: &str = "at";
    /// Event: when it was recorded.
    pub const RECORDED_AT: &str = "recorded_at";
    /// Event: who recorded it.
    pub const BY: &str = "by";
    /// Change events: previous value.
    pub const FROM: &str = "from";
    /// Change events: new value.
    pub const TO: &str = "to";
    /// Follow-up: contact channel.
    pub const CHANNEL: &str = "channel";
    /// Follow-up: what was discussed.
    pub const SUMMARY: &str = "summary";
    /// Follow-up: the customer's feedback.
    pub const FEEDBACK: &str = "feedback";
    /// Follow-up: the next step.
    pub const NEXT: &str = "next";
    /// Follow-up: when the next step is due.
    pub const DUE: &str = "due";
    /// Outcome event: amount when won.
    pub const AMOUNT: &str = "amount";
    /// Outcome event: reason key.
    pub const REASON: &str = "reason";
    /// Outcome event: free note.
    pub const NOTE: &str = "note";
    /// Corrections and voids of follow-ups (the originals stay in `followups`).
    pub const CORRECTIONS: &str = "corrections";
    /// Correction: the key of the follow-up it corrects.
    pub const OF: &str = "of";
    /// Correction: the follow-up is void.
    pub const VOID: &str = "void";
    /// Correction: when the corrected follow-up happened.
    pub const FOLLOWUP_AT: &str = "followup_at";
    /// The last day an open lead is on hold (暂缓), `YYYY-MM-DD`.
    pub const HOLD_UNTIL: &str = "hold_until";
    /// Hold log: each hold and release.
    pub const HOLDS: &str = "holds";
    /// Hold event: until when.
    pub const UNTIL: &str = "until";
    /// Stage change: what made it, when not a move (`won`, `reopen`).
    pub const CAUSE: &str = "cause";
}

/// The causes a stage change records when an outcome, not a move, made it.
pub mod cause {
    /// A win entered the pipeline's win stage.
    pub const WON: &str = "won";
    /// Reopening a won lead took it back to the stage it was won from.
    pub const REOPEN: &str = "reopen";
}

/// The object of type `kind` at `parent[name]`, made if it does not exist (an older document
/// may lack it).
pub fn object_at(
    tx: &mut Transaction<'_>,
    parent: &ObjId,
    name: &str,
    kind: ObjType,
) -> Result<ObjId, AutomergeError> {
    match tx.get(parent, name)? {
        Some((Value::Object(found), id)) if found == kind => Ok(id),
        _ => tx.put_object(parent, name, kind),
    }
}

/// The scalar at `obj[prop]` after Automerge's conflict resolution, if any.
pub fn scalar(doc: &impl ReadDoc, obj: &ObjId, prop: &str) -> Option<ScalarValue> {
    match doc.get(obj, prop) {
        Ok(Some((Value::Scalar(value), _))) => Some(value.into_owned()),
        _ => None,
    }
}

/// Typed reads from a hydrated map: a whole document is read with one `hydrate` call,
/// which costs a third of reading its keys one `get` at a time.
pub trait MapRead {
    /// The scalar under `key`, if any.
    fn scalar(&self, key: &str) -> Option<&ScalarValue>;

    /// A string value; null, missing and non-string values read as `None`.
    fn string(&self, key: &str) -> Option<String> {
        match self.scalar(key)? {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        }
    }

    /// An integer value (signed or unsigned).
    fn int(&self, key: &str) -> Option<i64> {
        match self.scalar(key)? {
            ScalarValue::Int(n) => Some(*n),
            ScalarValue::Uint(n) => i64::try_from(*n).ok(),
            _ => None,
        }
    }

    /// A timestamp value.
    fn time(&self, key: &str) -> Option<DateTime<Utc>> {
        match self.scalar(key)? {
            ScalarValue::Timestamp(ms) | ScalarValue::Int(ms) => Some(when::from_millis(*ms)),
            _ => None,
        }
    }
}

impl MapRead for hydrate::Map {
    fn scalar(&self, key: &str) -> Option<&ScalarValue> {
        match self.get(key)? {
            hydrate::Value::Scalar(value) => Some(value),
            _ => None,
        }
    }
}

/// The map entries of the list under `key` in a hydrated map, in list order.
pub fn list_maps<'a>(map: &'a hydrate::Map, key: &str) -> impl Iterator<Item = &'a hydrate::Map> {
    let list = match map.get(key) {
        Some(hydrate::Value::List(list)) => Some(list),
        _ => None,
    };
    list.into_iter()
        .flat_map(|list| list.iter())
        .filter_map(|item| match &item.value {
            hydrate::Value::Map(entry) => Some(entry),
            _ => None,
        })
}

/// Every concurrent value of a register, winner first; more than one means a conflict.
pub fn all_scalars(doc: &impl ReadDoc, obj: &ObjId, prop: &str) -> Vec<ScalarValue> {
    let winner = scalar(doc, obj, prop);
    let mut values: Vec<ScalarValue> = doc
        .get_all(obj, prop)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(value, _)| match value {
            Value::Scalar(value) => Some(value.into_owned()),
            Value::Object(_) => None,
        })
        .collect();
    if let Some(winner) = winner
        && let Some(pos) = values.iter().position(|v| *v == winner)
    {
        values.swap(0, pos);
    }
    values
}
