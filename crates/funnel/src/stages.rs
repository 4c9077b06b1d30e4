//! Per stage: leads in it now, leads that reached it, and conversions to the next stage and
//! from the first, with the pipeline's ideal rates as the baseline.

use chrono::{DateTime, Utc};
use fieldsync_model::{LeadRow, Outcome, Pipeline};
use serde::Serialize;

use crate::period::Period;
use crate::rate::Rate;
use crate::reach::{Counting, Window, reached};

/// One stage's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageFigures {
    /// Stage key.
    pub stage: String,
    /// Open leads in the stage now.
    pub current: u64,
    /// Leads that reached the stage, under the rule and window.
    pub reached: u64,
    /// Reached the next stage ÷ reached this one (`None` for the last stage).
    pub to_next: Option<Rate>,
    /// Reached this stage ÷ reached the first.
    pub from_first: Rate,
    /// The pipeline's ideal share moving on, if set.
    pub ideal_to_next: Option<f64>,
    /// Whether this step falls furthest below its ideal among the steps that lead to a win:
    /// the bottleneck.
    pub bottleneck: bool,
}

/// The funnel of a set of leads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Funnel {
    /// How skipped stages counted.
    pub counting: Counting,
    /// Which entries counted.
    pub window: Window,
    /// The period.
    pub period: Period,
    /// Leads counted (created in the period for a cohort; every lead for activity).
    pub leads: u64,
    /// Stages in pipeline order.
    pub stages: Vec<StageFigures>,
}

/// The funnel of `rows` for `period`, as of `now`.
pub fn funnel<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    pipeline: &Pipeline,
    period: Period,
    now: DateTime<Utc>,
    counting: Counting,
    window: Window,
) -> Funnel {
    let now_ms = now.timestamp_millis();
    let count = pipeline.stages.len();
    let mut current = vec![0u64; count];
    let mut reached_counts = vec![0u64; count];
    let mut leads = 0;
    for row in rows {
        if row.deleted {
            continue;
        }
        let stage = pipeline.stages.iter().position(|s| s.key == row.stage);
        if let (Outcome::Open, Some(index)) = (row.outcome, stage) {
            current[index] += 1;
        }
        if !window.includes(row, &period) {
            continue;
        }
        leads += 1;
        for (index, at) in reached(row, pipeline, counting).into_iter().enumerate() {
            if at.is_some_and(|at| window.counts(at, &period, now_ms)) {
                reached_counts[index] += 1;
            }
        }
    }
    let first = reached_counts.first().copied().unwrap_or(0);
    let mut stages: Vec<StageFigures> = pipeline
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| StageFigures {
            stage: stage.key.clone(),
            current: current[index],
            reached: reached_counts[index],
            to_next: reached_counts
                .get(index + 1)
                .map(|next| Rate::new(*next, reached_counts[index])),
            from_first: Rate::new(reached_counts[index], first),
            ideal_to_next: stage.ideal_rate.filter(|_| index + 1 < count),
            bottleneck: false,
        })
        .collect();
    // The bottleneck is the step furthest below its ideal rate, among the steps on the way to
    // a win: from a sales stage to the next, up to the win stage (what happens after a win,
    // in account care, is not where deals are lost).
    let win_target = pipeline.win_target();
    let leads_to_win =
        |index: usize| pipeline.is_sales(index) && win_target.is_some_and(|win| index < win);
    let shortfall = |figures: &StageFigures| -> Option<f64> {
        let actual = figures.to_next?.value()?;
        let ideal = figures.ideal_to_next?;
        (actual < ideal).then_some(ideal - actual)
    };
    let worst = stages
        .iter()
        .enumerate()
        .filter(|(index, _)| leads_to_win(*index))
        .filter_map(|(index, figures)| Some((index, shortfall(figures)?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(index, _)| index);
    if let Some(index) = worst {
        stages[index].bottleneck = true;
    }
    Funnel {
        counting,
        window,
        period,
        leads,
        stages,
    }
}
