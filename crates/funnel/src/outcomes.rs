//! How deals ended: win rate, deal sizes, and why and where deals were lost.

use chrono::{DateTime, Utc};
use fieldsync_model::{LeadRow, Money, Outcome, Pipeline};
use serde::Serialize;

use crate::period::Period;
use crate::rate::Rate;
use crate::reach::Window;

/// One loss reason's count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LossReasonCount {
    /// Reason key ("" when none was given).
    pub reason: String,
    /// Lost leads with this reason, and their share of all lost leads.
    pub share: Rate,
}

/// The leads lost at one stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LostAtStage {
    /// Stage key: the stage the lead had reached when it was lost.
    pub stage: String,
    /// Lost there, and their share of all lost leads.
    pub share: Rate,
}

/// Deal outcomes in a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcomes {
    /// Won ÷ closed (won + lost; abandoned leads went back to the pool, not to a decision).
    pub win_rate: Rate,
    /// Won deals.
    pub won: u64,
    /// Lost deals.
    pub lost: u64,
    /// Abandoned leads.
    pub abandoned: u64,
    /// Mean won deal amount.
    pub average_deal: Option<Money>,
    /// Median won deal amount (the lower middle value of an even count).
    pub median_deal: Option<Money>,
    /// Loss reasons, most frequent first (ties by key).
    pub loss_reasons: Vec<LossReasonCount>,
    /// Where lost leads were lost, in pipeline order (stages with none left out).
    pub lost_at: Vec<LostAtStage>,
}

/// Whether `row`'s outcome counts in `period` under `window`: for a cohort, leads created in the
/// period, as they stand now; for activity, outcomes set in the period.
pub fn outcome_counts(row: &LeadRow, period: &Period, window: Window) -> bool {
    window.includes(row, period)
        && match window {
            Window::Cohort => true,
            Window::Activity => row.outcome_ms.is_some_and(|at| period.contains_ms(at)),
        }
}

/// Mean and (lower) median of `amounts`, in cents, rounded down.
pub fn mean_and_median(amounts: &mut [i64]) -> (Option<Money>, Option<Money>) {
    if amounts.is_empty() {
        return (None, None);
    }
    amounts.sort_unstable();
    let sum: i128 = amounts.iter().map(|&a| i128::from(a)).sum();
    let mean = i64::try_from(sum / amounts.len() as i128).unwrap_or(i64::MAX);
    let median = amounts[(amounts.len() - 1) / 2];
    (
        Some(Money::from_cents(mean)),
        Some(Money::from_cents(median)),
    )
}

/// The outcomes of `rows` in `period`.
pub fn outcomes<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    pipeline: &Pipeline,
    period: Period,
    _now: DateTime<Utc>,
    window: Window,
) -> Outcomes {
    let (mut won, mut lost, mut abandoned) = (0, 0, 0);
    let mut amounts = Vec::new();
    let mut reasons: Vec<(String, u64)> = Vec::new();
    let mut at_stage = vec![0u64; pipeline.stages.len()];
    for row in rows {
        if !outcome_counts(row, &period, window) {
            continue;
        }
        match row.outcome {
            Outcome::Open => {}
            Outcome::Won => {
                won += 1;
                amounts.extend(row.deal_amount.map(Money::cents));
            }
            Outcome::Lost => {
                lost += 1;
                let reason = row.loss_reason.as_deref().unwrap_or_default();
                match reasons.iter_mut().find(|(key, _)| key == reason) {
                    Some((_, count)) => *count += 1,
                    None => reasons.push((reason.to_owned(), 1)),
                }
                if let Some(index) = pipeline.stages.iter().position(|s| s.key == row.stage) {
                    at_stage[index] += 1;
                }
            }
            Outcome::Abandoned => abandoned += 1,
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let (average_deal, median_deal) = mean_and_median(&mut amounts);
    Outcomes {
        win_rate: Rate::new(won, won + lost),
        won,
        lost,
        abandoned,
        average_deal,
        median_deal,
        loss_reasons: reasons
            .into_iter()
            .map(|(reason, count)| LossReasonCount {
                reason,
                share: Rate::new(count, lost),
            })
            .collect(),
        lost_at: pipeline
            .stages
            .iter()
            .zip(at_stage)
            .filter(|(_, count)| *count > 0)
            .map(|(stage, count)| LostAtStage {
                stage: stage.key.clone(),
                share: Rate::new(count, lost),
            })
            .collect(),
    }
}
