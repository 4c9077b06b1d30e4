//! The projection row: a compact summary of one lead, derived from its document, which the
//! store keeps beside it so lists, search and analytics never load Automerge documents.
//!
//! Rows are derived data: the store rebuilds them from documents whenever [`ROW_VERSION`]
//! changes, so this layout may change freely between releases.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::field::Field;
use crate::id::LeadId;
use crate::money::Money;
use crate::view::{Lead, Outcome};
use crate::vocab::Priority;
use crate::when::{self, Due};

/// Version of the row layout; bump it whenever [`LeadRow`] changes shape or meaning.
pub const ROW_VERSION: u32 = 3;

/// One entry into a stage, for funnel analytics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEntry {
    /// Stage key.
    pub stage: SmolStr,
    /// When it was entered, in ms since the epoch (UTC).
    pub at_ms: i64,
}

/// A compact summary of one lead.
///
/// Text is [`SmolStr`]: most values (keys, phones, dates, names) fit in its 23 inline bytes,
/// so reading every row for analytics allocates little and frees little.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    /// Identity.
    pub id: LeadId,
    /// Lead number ("" for a lead made before leads had numbers).
    pub number: SmolStr,
    /// Company name.
    pub company: SmolStr,
    /// Contact name.
    pub contact: SmolStr,
    /// Contact title.
    pub title: SmolStr,
    /// Contact phone.
    pub phone: SmolStr,
    /// Contact email.
    pub email: SmolStr,
    /// Industry.
    pub industry: SmolStr,
    /// Size band.
    pub size: SmolStr,
    /// Sales region.
    pub region: SmolStr,
    /// Budget range, as the rep wrote it.
    pub budget: SmolStr,
    /// Competitors the customer talks to, as the rep wrote them.
    pub competitors: SmolStr,
    /// Source channel key ("" when unknown).
    pub source: SmolStr,
    /// Priority, if set.
    pub priority: Option<Priority>,
    /// Responsible rep; `None` is the pool.
    pub owner: Option<SmolStr>,
    /// Current stage key.
    pub stage: SmolStr,
    /// When it entered the current stage (ms).
    pub stage_entered_ms: i64,
    /// When the lead came in (ms).
    pub created_ms: i64,
    /// Estimated amount.
    pub amount: Option<Money>,
    /// Expected close date, `YYYY-MM-DD`.
    pub expected_close: Option<SmolStr>,
    /// Open, won, lost or abandoned.
    pub outcome: Outcome,
    /// When the current outcome was set (ms).
    pub outcome_ms: Option<i64>,
    /// Deal amount when won.
    pub deal_amount: Option<Money>,
    /// Loss-reason key.
    pub loss_reason: Option<SmolStr>,
    /// Whether the lead is deleted.
    pub deleted: bool,
    /// Number of conflicting registers.
    pub conflicts: u32,
    /// Number of follow-ups.
    pub followups: u32,
    /// When the latest follow-up happened (ms).
    pub last_followup_ms: Option<i64>,
    /// The latest follow-up's next-step due date, in stored form.
    pub next_due: Option<SmolStr>,
    /// The last day the lead is on hold, if it was put on hold and not released.
    pub hold_until: Option<NaiveDate>,
    /// Every stage entry in event-time order, the creation first, except the entry a win
    /// made into the win stage: analytics count every won lead as reaching that stage at its
    /// win, whether or not its document has the entry (wins recorded before pipelines named
    /// a win stage have none), so both read alike.
    pub stage_path: Vec<StageEntry>,
}

impl LeadRow {
    /// Summarises a lead.
    pub fn from_lead(lead: &Lead) -> LeadRow {
        let latest_followup = lead.followups.last();
        LeadRow {
            id: lead.id.clone(),
            number: lead.number.as_deref().unwrap_or_default().into(),
            company: lead.text(Field::Company).into(),
            contact: lead.text(Field::Contact).into(),
            title: lead.text(Field::Title).into(),
            phone: lead.text(Field::Phone).into(),
            email: lead.text(Field::Email).into(),
            industry: lead.text(Field::Industry).into(),
            size: lead.text(Field::Size).into(),
            region: lead.text(Field::Region).into(),
            budget: lead.text(Field::Budget).into(),
            competitors: lead.text(Field::Competitors).into(),
            source: lead.text(Field::Source).into(),
            priority: lead.text(Field::Priority).parse().ok(),
            owner: lead.owner.as_deref().map(SmolStr::new),
            stage: SmolStr::new(&lead.stage),
            stage_entered_ms: when::to_millis(lead.stage_entered_at),
            created_ms: when::to_millis(lead.created_at),
            amount: lead.amount(),
            expected_close: Some(lead.text(Field::ExpectedClose))
                .filter(|d| !d.is_empty())
                .map(SmolStr::from),
            outcome: lead.outcome,
            outcome_ms: lead.outcome_at.map(when::to_millis),
            deal_amount: lead.deal_amount,
            loss_reason: lead.loss_reason.as_deref().map(SmolStr::new),
            deleted: lead.deleted.is_some(),
            conflicts: u32::try_from(lead.conflicts.len()).unwrap_or(u32::MAX),
            followups: u32::try_from(lead.followups.len()).unwrap_or(u32::MAX),
            last_followup_ms: latest_followup.map(|f| when::to_millis(f.times.at)),
            next_due: latest_followup
                .and_then(|f| f.due)
                .map(|due| SmolStr::from(Due::to_stored(due))),
            hold_until: lead.hold_until,
            stage_path: lead
                .stage_changes
                .iter()
                .filter(|change| !change.by_win())
                .filter_map(|change| {
                    Some(StageEntry {
                        stage: SmolStr::new(change.to.as_deref()?),
                        at_ms: when::to_millis(change.times.at),
                    })
                })
                .collect(),
        }
    }

    /// Whether the lead is open and on hold on `today` (its hold runs through its last day).
    pub fn on_hold(&self, today: NaiveDate) -> bool {
        self.outcome == Outcome::Open && self.hold_until.is_some_and(|until| until >= today)
    }

    /// When the latest follow-up happened.
    pub fn last_followup_at(&self) -> Option<DateTime<Utc>> {
        self.last_followup_ms.map(when::from_millis)
    }
}

/// Whose leads a list, a funnel or a report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owners {
    /// Every lead.
    Everyone,
    /// One rep's leads (`None`: the unassigned pool).
    Of(Option<String>),
}

impl Owners {
    /// Whether `row` is one of them.
    pub fn includes(&self, row: &LeadRow) -> bool {
        match self {
            Owners::Everyone => true,
            Owners::Of(owner) => row.owner.as_deref() == owner.as_deref(),
        }
    }

    /// How outputs say whose leads they cover (`None` for everyone's).
    pub fn describe(&self) -> Option<String> {
        match self {
            Owners::Everyone => None,
            Owners::Of(Some(owner)) => Some(format!("{owner}'s leads")),
            Owners::Of(None) => Some("the unassigned pool".to_owned()),
        }
    }
}
