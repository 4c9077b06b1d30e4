//! What a person does to a lead, already parsed and validated for shape: the inputs of
//! [`crate::LeadDoc::create`] and [`crate::LeadDoc::apply`].
//!
//! Rules that depend on the lead's state (only a win enters the pipeline's win stage, a won
//! lead moves only on past it, a move cannot predate the current stage) are checked when the
//! action is applied, against the document.

use automerge::ScalarValue;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::field::Field;
use crate::id::LeadId;
use crate::money::Money;
use crate::vocab::ContactChannel;
use crate::when::Due;

/// Who records an action and when (the device clock), as opposed to when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The member recording it.
    pub by: String,
    /// When it is recorded.
    pub now: DateTime<Utc>,
}

/// A new lead: its fields, its owner and when it was created.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLead {
    /// Field values; must include company and contact.
    pub fields: Vec<(Field, ScalarValue)>,
    /// Responsible rep; `None` puts it in the unassigned pool.
    pub owner: Option<String>,
    /// When the lead came in (`--at`), which is also when it entered the first stage.
    pub created_at: DateTime<Utc>,
    /// Its lead number ([`crate::number`]); `None` until the store numbers it.
    pub number: Option<String>,
}

/// A follow-up to append to the activity log.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowUpDraft {
    /// When the touch happened.
    pub at: DateTime<Utc>,
    /// Phone, email, visit or message.
    pub channel: ContactChannel,
    /// What was discussed.
    pub summary: String,
    /// The customer's feedback (objection, approval).
    pub feedback: Option<String>,
    /// The next step.
    pub next: Option<String>,
    /// When the next step is due; needs a next step, and may not precede the follow-up.
    pub due: Option<Due>,
    /// The rep's UTC offset when it happened: a due date is a day in that zone, so "due today"
    /// is checked against the follow-up's own day there.
    pub zone: FixedOffset,
}

/// One change to an existing lead.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Set fields (`None` clears one). Only fields whose value differs are written.
    Edit(Vec<(Field, Option<ScalarValue>)>),
    /// Hand the lead to a rep, or to the pool with `None`.
    Assign {
        /// The new owner.
        owner: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Append a follow-up.
    Log(FollowUpDraft),
    /// Move to another stage (a stage key of the pipeline).
    Move {
        /// Target stage key.
        to: String,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Close as won.
    Won {
        /// Actual deal amount.
        amount: Money,
        /// When it happened.
        at: DateTime<Utc>,
        /// Optional note.
        note: Option<String>,
    },
    /// Close as lost.
    Lost {
        /// Loss-reason key.
        reason: String,
        /// Note; required when the reason needs one.
        note: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Give up on the lead: it goes back to the unassigned pool.
    Abandon {
        /// Optional loss-reason key.
        reason: Option<String>,
        /// Optional note.
        note: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Reopen a won, lost or abandoned lead.
    Reopen {
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Correct a follow-up logged with a typo, or void it: the correction is appended and the
    /// original stays in the log and the history; the lead reads the corrected entry.
    Correct {
        /// The follow-up's key ([`crate::view::FollowUp::key`]).
        of: String,
        /// What it should say (its `at` is when it happened); `None` voids it.
        followup: Option<FollowUpDraft>,
    },
    /// Put an open lead on hold (暂缓) until a day, or release it (`until: None`). On hold, it
    /// is still open but out of the stale and cadence alerts.
    Hold {
        /// The last day of the hold; `None` releases it.
        until: Option<NaiveDate>,
        /// Why.
        reason: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// Delete the lead (a tombstone: it stays deleted on every device).
    Delete,
}

impl Action {
    /// A short verb for change messages and history.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Edit(_) => "edit",
            Action::Assign { .. } => "assign",
            Action::Log(_) => "log",
            Action::Move { .. } => "move",
            Action::Won { .. } => "won",
            Action::Lost { .. } => "lost",
            Action::Abandon { .. } => "abandon",
            Action::Reopen { .. } => "reopen",
            Action::Hold { .. } => "hold",
            Action::Correct { .. } => "correct",
            Action::Delete => "delete",
        }
    }
}

/// A lead to create, with events to apply after creation (used by generators and imports).
#[derive(Clone, Debug, PartialEq)]
pub struct LeadHistory {
    /// The lead's id.
    pub id: LeadId,
    /// Its fields, owner and creation time.
    pub new: NewLead,
    /// Who created it, and when that was recorded.
    pub creator: Stamp,
    /// Later actions, each with who recorded it and when.
    pub events: Vec<(Action, Stamp)>,
}
