//! What needs attention now: stale leads, missed follow-up cadences, next steps due or past
//! due, holds about to end, and the playbooks' anomalies, each with the leads it concerns. A
//! lead on hold (暂缓) is out of the stale, cadence and next-step alerts until its hold ends.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, Utc};
use fieldsync_model::{Due, LeadId, LeadRow, Outcome, Pipeline, Priority, SmolStr};
use serde::Serialize;

use crate::reach::{Counting, reached};

const DAY_MS: i64 = 86_400_000;

/// Days between follow-ups a priority allows: high 3, medium 7, low 14 (no priority: medium).
pub fn cadence_days(priority: Option<Priority>) -> i64 {
    match priority {
        Some(Priority::High) => 3,
        Some(Priority::Low) => 14,
        Some(Priority::Medium) | None => 7,
    }
}

/// What is wrong with one lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeadAlertKind {
    /// In its stage longer than the stage's limit.
    Stale,
    /// No follow-up within its priority's cadence.
    FollowUpOverdue,
    /// The latest follow-up's next step is past its due date.
    NextStepOverdue,
    /// The latest follow-up's next step is due today.
    NextStepDue,
    /// A hold ends within [`HOLD_ENDING_DAYS`] days: the lead comes back to work.
    HoldEnding,
}

/// Days before a hold's last day from which it is listed as ending.
pub const HOLD_ENDING_DAYS: i64 = 3;

/// One lead that needs attention.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeadAlert {
    /// What is wrong.
    pub kind: LeadAlertKind,
    /// The lead.
    pub id: LeadId,
    /// Its company.
    pub company: SmolStr,
    /// Its owner (`None`: the pool).
    pub owner: Option<SmolStr>,
    /// Its stage key.
    pub stage: SmolStr,
    /// Whole days past the limit, cadence or due date (0 for a next step due today; for a
    /// hold, minus the days it has left).
    pub days_over: i64,
    /// The limit it broke, in days (stage limit or cadence; 0 for a due date).
    pub limit_days: i64,
}

/// "1 day", "3 days".
fn days(count: i64) -> String {
    if count == 1 {
        "1 day".to_owned()
    } else {
        format!("{count} days")
    }
}

impl LeadAlert {
    /// What is wrong, in words: "stale: 41 days in the stage, limit 30".
    pub fn describe(&self) -> String {
        match self.kind {
            LeadAlertKind::Stale => format!(
                "stale: {} in the stage, limit {}",
                days(self.days_over + self.limit_days),
                self.limit_days
            ),
            LeadAlertKind::FollowUpOverdue => format!(
                "follow-up overdue: {} since the last touch, cadence {}",
                days(self.days_over + self.limit_days),
                self.limit_days
            ),
            LeadAlertKind::NextStepOverdue => {
                format!("next step {} past due", days(self.days_over))
            }
            LeadAlertKind::NextStepDue => "next step due today".to_owned(),
            LeadAlertKind::HoldEnding => match -self.days_over {
                0 => "on hold until today".to_owned(),
                left => format!("on hold, ends in {}", days(left)),
            },
        }
    }
}

/// A pattern in the team's figures the playbooks warn about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// Many leads reached the late stages but few were signed.
    FewSignatures,
    /// A high share of closed leads were abandoned.
    HighAbandonRate,
    /// Won deals took longer than the stages' limits add up to.
    LongCycle,
    /// Few open leads moved stage lately.
    LowMoveRate,
    /// Deals won straight from the first stage, never passing the funnel.
    WonOutsideFunnel,
    /// A rep holds far more or far fewer open leads in a stage than the stage's ideal.
    OffIdealLoad,
}

impl AnomalyKind {
    /// The pattern's name, as the playbooks put it.
    pub fn title(self) -> &'static str {
        match self {
            AnomalyKind::FewSignatures => "many opportunities, few signatures",
            AnomalyKind::HighAbandonRate => "high abandon rate",
            AnomalyKind::LongCycle => "cycles longer than the ideal",
            AnomalyKind::LowMoveRate => "low move rate",
            AnomalyKind::WonOutsideFunnel => "deals won without passing the funnel",
            AnomalyKind::OffIdealLoad => "open leads far from the ideal",
        }
    }
}

/// One anomaly and the leads it concerns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    /// Which pattern.
    pub kind: AnomalyKind,
    /// The figures behind it, in words.
    pub detail: String,
    /// The leads concerned.
    pub leads: Vec<LeadId>,
}

/// Everything to attend to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alerts {
    /// Lead alerts, the most overdue first.
    pub leads: Vec<LeadAlert>,
    /// Anomalies.
    pub anomalies: Vec<Anomaly>,
}

/// Share of late-stage leads that must be signed before "few signatures" stops firing.
pub const MIN_SIGNED_SHARE: f64 = 0.2;
/// Late-stage leads needed before "few signatures" is judged at all.
pub const MIN_LATE_LEADS: usize = 5;
/// Share of closed leads abandoned above which the abandon rate is an anomaly.
pub const MAX_ABANDON_SHARE: f64 = 0.3;
/// A rep's open leads in a stage are far from its ideal below this share of it, or above its
/// multiple.
pub const IDEAL_LOAD_BAND: (f64, f64) = (0.5, 2.0);
/// Days within which an open lead counts as having moved lately.
pub const MOVE_WINDOW_DAYS: i64 = 14;
/// Share of open leads (not on hold) that must have moved lately before "low move rate" stops
/// firing, judged from [`MIN_LATE_LEADS`] open leads.
pub const MIN_MOVE_SHARE: f64 = 0.2;

fn alert(kind: LeadAlertKind, row: &LeadRow, days_over: i64, limit_days: i64) -> LeadAlert {
    LeadAlert {
        kind,
        id: row.id.clone(),
        company: row.company.clone(),
        owner: row.owner.clone(),
        stage: row.stage.clone(),
        days_over,
        limit_days,
    }
}

/// The alerts of `rows` at `now`, for a reader at UTC offset `zone`: a next step due on a date
/// is overdue from the day after, and one due at a time is due today when that time falls on
/// the reader's today.
pub fn alerts<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    pipeline: &Pipeline,
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Alerts {
    let today = now.with_timezone(&zone).date_naive();
    let now_ms = now.timestamp_millis();
    let mut leads = Vec::new();
    let late_from = pipeline.stages.len().saturating_sub(3);
    let (mut late, mut signed) = (Vec::new(), 0usize);
    let (mut abandoned, mut closed) = (Vec::new(), 0usize);
    let (mut long, mut outside) = (Vec::new(), Vec::new());
    let (mut still, mut open) = (Vec::new(), 0usize);
    // Per (rep, stage index): the rep's open leads there, not on hold.
    let mut load: BTreeMap<(SmolStr, usize), Vec<LeadId>> = BTreeMap::new();
    let mut reps: BTreeSet<SmolStr> = BTreeSet::new();
    for row in rows {
        if row.deleted {
            continue;
        }
        let stage = pipeline.stages.iter().position(|s| s.key == row.stage);
        let reached_late = reached(row, pipeline, Counting::PassThrough)
            .iter()
            .skip(late_from)
            .any(Option::is_some);
        if reached_late {
            late.push(row.id.clone());
            signed += usize::from(row.outcome == Outcome::Won);
        }
        match row.outcome {
            Outcome::Open => {}
            Outcome::Abandoned => {
                closed += 1;
                abandoned.push(row.id.clone());
            }
            Outcome::Won => {
                closed += 1;
                let ideal_days: i64 = pipeline.stages[..=stage
                    .unwrap_or(0)
                    .min(pipeline.stages.len().saturating_sub(1))]
                    .iter()
                    .map(|s| i64::from(s.stale_days))
                    .sum();
                if let Some(won_at) = row.outcome_ms
                    && won_at - row.created_ms > ideal_days * DAY_MS
                {
                    long.push(row.id.clone());
                }
                // The path leaves out the win's own entry: a path of one stage was won from
                // where the lead came in.
                let first = &pipeline.first_stage().key;
                if row.stage_path.iter().all(|entry| entry.stage == *first) {
                    outside.push(row.id.clone());
                }
            }
            Outcome::Lost => closed += 1,
        }
        if row.outcome != Outcome::Open {
            continue;
        }
        if let Some(until) = row.hold_until.filter(|until| *until >= today) {
            let left = (until - today).num_days();
            if left <= HOLD_ENDING_DAYS {
                leads.push(alert(LeadAlertKind::HoldEnding, row, -left, 0));
            }
            continue;
        }
        open += 1;
        if let Some(owner) = &row.owner {
            reps.insert(owner.clone());
            if let Some(index) = stage {
                load.entry((owner.clone(), index))
                    .or_default()
                    .push(row.id.clone());
            }
        }
        if now_ms - row.stage_entered_ms > MOVE_WINDOW_DAYS * DAY_MS {
            still.push(row.id.clone());
        }
        if let Some(index) = stage {
            let limit = i64::from(pipeline.stages[index].stale_days);
            let days = (now_ms - row.stage_entered_ms) / DAY_MS;
            if days > limit {
                leads.push(alert(LeadAlertKind::Stale, row, days - limit, limit));
            }
        }
        let cadence = cadence_days(row.priority);
        let last_touch = row.last_followup_ms.unwrap_or(row.created_ms);
        let silent = (now_ms - last_touch) / DAY_MS;
        if silent > cadence {
            leads.push(alert(
                LeadAlertKind::FollowUpOverdue,
                row,
                silent - cadence,
                cadence,
            ));
        }
        let due = match row.next_due.as_deref().and_then(Due::from_stored) {
            Some(Due::Date(date)) if date < today => {
                Some((LeadAlertKind::NextStepOverdue, (today - date).num_days()))
            }
            Some(Due::Date(date)) if date == today => Some((LeadAlertKind::NextStepDue, 0)),
            Some(Due::At(at)) if at < now => {
                Some((LeadAlertKind::NextStepOverdue, (now - at).num_days()))
            }
            Some(Due::At(at)) if at.with_timezone(&zone).date_naive() == today => {
                Some((LeadAlertKind::NextStepDue, 0))
            }
            _ => None,
        };
        if let Some((kind, days)) = due {
            leads.push(alert(kind, row, days, 0));
        }
    }
    // (lead, kind) is unique, so the order is total and an unstable sort is deterministic.
    leads.sort_unstable_by(|a, b| {
        b.days_over
            .cmp(&a.days_over)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    let mut anomalies = Vec::new();
    if late.len() >= MIN_LATE_LEADS && (signed as f64) < MIN_SIGNED_SHARE * late.len() as f64 {
        anomalies.push(Anomaly {
            kind: AnomalyKind::FewSignatures,
            detail: format!(
                "{} leads reached the last three stages, {signed} were signed (under {:.0}%)",
                late.len(),
                MIN_SIGNED_SHARE * 100.0
            ),
            leads: late,
        });
    }
    if closed > 0 && abandoned.len() as f64 > MAX_ABANDON_SHARE * closed as f64 {
        anomalies.push(Anomaly {
            kind: AnomalyKind::HighAbandonRate,
            detail: format!(
                "{} of {closed} closed leads were abandoned (over {:.0}%)",
                abandoned.len(),
                MAX_ABANDON_SHARE * 100.0
            ),
            leads: abandoned,
        });
    }
    let moved = open - still.len();
    if open >= MIN_LATE_LEADS && (moved as f64) < MIN_MOVE_SHARE * open as f64 {
        anomalies.push(Anomaly {
            kind: AnomalyKind::LowMoveRate,
            detail: format!(
                "{moved} of {open} open leads moved stage in the last {MOVE_WINDOW_DAYS} days (under {:.0}%)",
                MIN_MOVE_SHARE * 100.0
            ),
            leads: still,
        });
    }
    if !outside.is_empty() {
        anomalies.push(Anomaly {
            kind: AnomalyKind::WonOutsideFunnel,
            detail: format!(
                "{} won straight from {}, without passing the funnel",
                match outside.len() {
                    1 => "1 won deal was".to_owned(),
                    count => format!("{count} won deals were"),
                },
                pipeline.first_stage().label.both()
            ),
            leads: outside,
        });
    }
    for rep in &reps {
        for (index, stage) in pipeline.stages.iter().enumerate() {
            let Some(ideal) = stage.ideal_open.filter(|ideal| *ideal > 0) else {
                continue;
            };
            let leads = load.remove(&(rep.clone(), index)).unwrap_or_default();
            let held = leads.len() as f64;
            let (low, high) = IDEAL_LOAD_BAND;
            if held < low * f64::from(ideal) || held > high * f64::from(ideal) {
                anomalies.push(Anomaly {
                    kind: AnomalyKind::OffIdealLoad,
                    detail: format!(
                        "{rep} holds {} in {} against an ideal {ideal} per rep",
                        match leads.len() {
                            1 => "1 open lead".to_owned(),
                            count => format!("{count} open leads"),
                        },
                        stage.label.both()
                    ),
                    leads,
                });
            }
        }
    }
    if !long.is_empty() {
        anomalies.push(Anomaly {
            kind: AnomalyKind::LongCycle,
            detail: format!(
                "{} won deals took longer than their stages' limits add up to",
                long.len()
            ),
            leads: long,
        });
    }
    Alerts { leads, anomalies }
}
