//! The projection row: a compact summary of one lead, derived from its document, which the
//! store keeps beside it so lists, search and analytics never load Automerge documents.
//!
//! Rows are derived data: the store rebuilds them from documents whenever [`ROW_VERSION`]
//! changes, so this layout may change freely between releases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::field::Field;
use crate::id::LeadId;
use crate::money::Money;
use crate::view::{Lead, Outcome};
use crate::vocab::Priority;
use crate::when::{self, Due};

/// Version of the row layout; bump it whenever [`LeadRow`] changes shape or meaning.
pub const ROW_VERSION: u32 = 2;

/// One entry into a stage, for funnel analytics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEntry {
    /// Stage key.
    pub stage: String,
    /// When it was entered, in ms since the epoch (UTC).
    pub at_ms: i64,
}

/// A compact summary of one lead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    /// Identity.
    pub id: LeadId,
    /// Company name.
    pub company: String,
    /// Contact name.
    pub contact: String,
    /// Contact title.
    pub title: String,
    /// Contact phone.
    pub phone: String,
    /// Contact email.
    pub email: String,
    /// Industry.
    pub industry: String,
    /// Size band.
    pub size: String,
    /// Budget range, as the rep wrote it.
    pub budget: String,
    /// Competitors the customer talks to, as the rep wrote them.
    pub competitors: String,
    /// Source channel key ("" when unknown).
    pub source: String,
    /// Priority, if set.
    pub priority: Option<Priority>,
    /// Responsible rep; `None` is the pool.
    pub owner: Option<String>,
    /// Current stage key.
    pub stage: String,
    /// When it entered the current stage (ms).
    pub stage_entered_ms: i64,
    /// When the lead came in (ms).
    pub created_ms: i64,
    /// Estimated amount.
    pub amount: Option<Money>,
    /// Expected close date, `YYYY-MM-DD`.
    pub expected_close: Option<String>,
    /// Open, won, lost or abandoned.
    pub outcome: Outcome,
    /// When the current outcome was set (ms).
    pub outcome_ms: Option<i64>,
    /// Deal amount when won.
    pub deal_amount: Option<Money>,
    /// Loss-reason key.
    pub loss_reason: Option<String>,
    /// Whether the lead is deleted.
    pub deleted: bool,
    /// Number of conflicting registers.
    pub conflicts: u32,
    /// Number of follow-ups.
    pub followups: u32,
    /// When the latest follow-up happened (ms).
    pub last_followup_ms: Option<i64>,
    /// The latest follow-up's next-step due date, in stored form.
    pub next_due: Option<String>,
    /// Every stage entry in event-time order, the creation first.
    pub stage_path: Vec<StageEntry>,
}

impl LeadRow {
    /// Summarises a lead.
    pub fn from_lead(lead: &Lead) -> LeadRow {
        let latest_followup = lead.followups.last();
        LeadRow {
            id: lead.id.clone(),
            company: lead.text(Field::Company),
            contact: lead.text(Field::Contact),
            title: lead.text(Field::Title),
            phone: lead.text(Field::Phone),
            email: lead.text(Field::Email),
            industry: lead.text(Field::Industry),
            size: lead.text(Field::Size),
            budget: lead.text(Field::Budget),
            competitors: lead.text(Field::Competitors),
            source: lead.text(Field::Source),
            priority: lead.text(Field::Priority).parse().ok(),
            owner: lead.owner.clone(),
            stage: lead.stage.clone(),
            stage_entered_ms: when::to_millis(lead.stage_entered_at),
            created_ms: when::to_millis(lead.created_at),
            amount: lead.amount(),
            expected_close: Some(lead.text(Field::ExpectedClose)).filter(|d| !d.is_empty()),
            outcome: lead.outcome,
            outcome_ms: lead.outcome_at.map(when::to_millis),
            deal_amount: lead.deal_amount,
            loss_reason: lead.loss_reason.clone(),
            deleted: lead.deleted.is_some(),
            conflicts: u32::try_from(lead.conflicts.len()).unwrap_or(u32::MAX),
            followups: u32::try_from(lead.followups.len()).unwrap_or(u32::MAX),
            last_followup_ms: latest_followup.map(|f| when::to_millis(f.times.at)),
            next_due: latest_followup.and_then(|f| f.due).map(Due::to_stored),
            stage_path: lead
                .stage_changes
                .iter()
                .filter_map(|change| {
                    Some(StageEntry {
                        stage: change.to.clone()?,
                        at_ms: when::to_millis(change.times.at),
                    })
                })
                .collect(),
        }
    }

    /// When the latest follow-up happened.
    pub fn last_followup_at(&self) -> Option<DateTime<Utc>> {
        self.last_followup_ms.map(when::from_millis)
    }
}
