//! A lead's history from Automerge's change metadata: every change with who made it, when it
//! was recorded, which action it was, and each value it changed from and to; and the lead as
//! it read at a past moment.
//!
//! Each change records its author and action in its message (`{"by", "op"}`) and the device's
//! clock in its timestamp. What a change did is read by comparing the lead as it was at the
//! change's dependencies with the lead at the change itself, so concurrent changes from two
//! devices each show what they did, not what the other did.

use std::collections::BTreeMap;

use automerge::{Automerge, ChangeHash};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::doc::LeadDoc;
use crate::view::{EventTimes, Lead, Outcome};

/// One value a change set, from what to what (`None`: unset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueChange {
    /// The field or state (`phone`, `owner`, `stage`, `outcome`, `follow-up`...).
    pub field: String,
    /// Before the change.
    pub old: Option<String>,
    /// After it.
    pub new: Option<String>,
}

/// One change to a lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The change's hash, hex.
    pub hash: String,
    /// The member who made it.
    pub by: String,
    /// The action (`create`, `edit`, `log`, `move`, `won`...).
    pub action: String,
    /// When it was recorded, by the device's clock (whole seconds).
    pub recorded_at: DateTime<Utc>,
    /// When what it records happened (a visit logged the day after, a move dated back), for a
    /// change that records an event; `None` for an edit of fields.
    pub happened_at: Option<DateTime<Utc>>,
    /// What it changed, in field order.
    pub changes: Vec<ValueChange>,
}

/// The author and action a change's message names.
pub(crate) fn author_and_action(message: Option<&str>) -> (String, String) {
    let parsed: Option<serde_json::Value> = message.and_then(|m| serde_json::from_str(m).ok());
    let text = |key: &str| {
        parsed
            .as_ref()
            .and_then(|m| m[key].as_str())
            .unwrap_or("?")
            .to_owned()
    };
    (text("by"), text("op"))
}

/// When the entries a log gained happened: those past its old length, in recording order.
fn gained<'a>(was: usize, log: impl Iterator<Item = &'a EventTimes>) -> Vec<DateTime<Utc>> {
    let mut entries: Vec<&EventTimes> = log.collect();
    entries.sort_by_key(|times| times.recorded_at);
    entries
        .into_iter()
        .skip(was)
        .map(|times| times.at)
        .collect()
}

/// When the event a change appended happened: the earliest new entry of any event log.
fn happened(before: Option<&Lead>, after: &Lead) -> Option<DateTime<Utc>> {
    let was = |length: fn(&Lead) -> usize| before.map_or(0, length);
    let new_followups = after
        .followups
        .iter()
        .filter(|f| before.is_none_or(|lead| !lead.followups.iter().any(|o| o.key == f.key)))
        .map(|f| f.times.at);
    new_followups
        .chain(gained(
            was(|l| l.stage_changes.len()),
            after.stage_changes.iter().map(|c| &c.times),
        ))
        .chain(gained(
            was(|l| l.owner_changes.len()),
            after.owner_changes.iter().map(|c| &c.times),
        ))
        .chain(gained(
            was(|l| l.outcomes.len()),
            after.outcomes.iter().map(|o| &o.times),
        ))
        .chain(gained(
            was(|l| l.holds.len()),
            after.holds.iter().map(|h| &h.times),
        ))
        .min()
}

/// The lead as the document read with only the changes up to `heads`.
fn lead_at(doc: &Automerge, heads: &[ChangeHash]) -> Option<Lead> {
    if heads.is_empty() {
        return None;
    }
    doc.fork_at(heads).ok().map(|past| Lead::read(&past))
}

/// Every value that differs between two readings of a lead (`before` is `None` at creation).
fn differences(before: Option<&Lead>, after: &Lead) -> Vec<ValueChange> {
    let values = |lead: &Lead| -> BTreeMap<String, Option<String>> {
        let mut out: BTreeMap<String, Option<String>> = lead
            .fields
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.as_ref().map(ToString::to_string)))
            .collect();
        out.insert("owner".into(), lead.owner.clone());
        out.insert("stage".into(), Some(lead.stage.clone()));
        out.insert("outcome".into(), Some(lead.outcome.key().into()));
        out.insert(
            "deal amount".into(),
            lead.deal_amount.map(|m| m.to_string()),
        );
        out.insert("loss reason".into(), lead.loss_reason.clone());
        out.insert(
            "deleted".into(),
            lead.deleted.as_ref().map(|d| format!("by {}", d.by)),
        );
        out
    };
    let old = before.map(values).unwrap_or_default();
    let new = values(after);
    let mut changes: Vec<ValueChange> = new
        .into_iter()
        .filter(|(key, value)| old.get(key).cloned().flatten() != *value)
        .map(|(key, value)| ValueChange {
            old: old.get(&key).cloned().flatten(),
            field: key,
            new: value,
        })
        // A new lead is open: say so only when it is not.
        .filter(|change| {
            before.is_some()
                || change.field != "outcome"
                || change.new.as_deref() != Some(Outcome::Open.key())
        })
        .collect();
    let said = |f: &crate::view::FollowUp| format!("{}: {}", f.channel, f.summary);
    let was = |key: &str| before.and_then(|lead| lead.followups.iter().find(|f| f.key == key));
    changes.extend(
        after
            .followups
            .iter()
            .filter(|followup| was(&followup.key).is_none_or(|old| old != *followup))
            .map(|followup| ValueChange {
                field: "follow-up".into(),
                old: was(&followup.key).map(said),
                new: Some(said(followup)),
            }),
    );
    // A follow-up voided by this change.
    changes.extend(
        before
            .iter()
            .flat_map(|lead| &lead.followups)
            .filter(|old| !after.followups.iter().any(|f| f.key == old.key))
            .map(|old| ValueChange {
                field: "follow-up".into(),
                old: Some(said(old)),
                new: Some("(void)".to_owned()),
            }),
    );
    changes
}

impl LeadDoc {
    /// Every change to the lead, in causal order (a change after those it builds on).
    pub fn history(&self) -> Vec<Revision> {
        let doc = self.automerge();
        doc.get_changes(&[])
            .into_iter()
            .filter_map(|change| {
                let after = lead_at(doc, &[change.hash()])?;
                let before = lead_at(doc, change.deps());
                let (by, action) = author_and_action(change.message());
                Some(Revision {
                    hash: change.hash().to_string(),
                    by,
                    action,
                    recorded_at: DateTime::from_timestamp(change.timestamp(), 0)
                        .unwrap_or_default(),
                    happened_at: happened(before.as_ref(), &after),
                    changes: differences(before.as_ref(), &after),
                })
            })
            .collect()
    }

    /// The lead as it read at `at`: with every change recorded at or before it (and what those
    /// changes built on); `None` if the lead did not exist yet.
    pub fn as_of(&self, at: DateTime<Utc>) -> Option<Lead> {
        let doc = self.automerge();
        let known: Vec<ChangeHash> = doc
            .get_changes(&[])
            .into_iter()
            .filter(|change| change.timestamp() <= at.timestamp())
            .map(|change| change.hash())
            .collect();
        lead_at(doc, &known)
    }
}
