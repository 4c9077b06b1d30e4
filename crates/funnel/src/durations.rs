//! How long things take: time in each stage (first stay, and all stays of a lead that came
//! back), the cycle from creation to won, and the playbooks' stage-to-stage cycles.
//!
//! Only completed stays count: a stay ends when the lead enters another stage, or when it is
//! closed (won, lost, abandoned) while in it. A lead still in a stage has no duration yet, and
//! neither has a won customer in account care.

use std::fmt;

use fieldsync_model::{LeadRow, Outcome, Pipeline};
use serde::Serialize;

use crate::outcomes::outcome_counts;
use crate::period::Period;
use crate::reach::Window;

const DAY_MS: f64 = 86_400_000.0;

/// Count, mean and median of some durations, in days.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Days {
    /// How many durations.
    pub count: u64,
    /// Mean, in days (`None` with none).
    pub average: Option<f64>,
    /// Median (the lower middle one of an even count), in days.
    pub median: Option<f64>,
}

impl Days {
    /// Summarises durations given in ms.
    pub fn of(mut spans_ms: Vec<i64>) -> Days {
        if spans_ms.is_empty() {
            return Days::default();
        }
        spans_ms.sort_unstable();
        let sum: i128 = spans_ms.iter().map(|&s| i128::from(s)).sum();
        Days {
            count: spans_ms.len() as u64,
            average: Some(sum as f64 / spans_ms.len() as f64 / DAY_MS),
            median: Some(spans_ms[(spans_ms.len() - 1) / 2] as f64 / DAY_MS),
        }
    }
}

impl fmt::Display for Days {
    /// "4.5 d (median 3.0, 12 leads)", "2.0 d (median 2.0, 1 lead)", or "n/a" with none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.average, self.median) {
            (Some(average), Some(median)) => write!(
                f,
                "{average:.1} d (median {median:.1}, {} {})",
                self.count,
                if self.count == 1 { "lead" } else { "leads" }
            ),
            _ => f.write_str("n/a"),
        }
    }
}

/// Time spent in one stage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageTime {
    /// Stage key.
    pub stage: String,
    /// From a lead's first entry into the stage to leaving it.
    pub first_stay: Days,
    /// Every completed stay of a lead in the stage, added up per lead (re-entries included).
    pub cumulative: Days,
}

/// A named stage-to-stage cycle (from first entry of one stage to first entry of another, or to won).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cycle {
    /// `proposal` or `negotiation`.
    pub name: &'static str,
    /// Stage key where it starts.
    pub from: String,
    /// Stage key where it ends, or `won`.
    pub to: String,
    /// Its durations.
    pub days: Days,
}

/// Every duration figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Durations {
    /// Per stage, in pipeline order.
    pub stages: Vec<StageTime>,
    /// From creation to won, for the deals won (by the outcome window).
    pub to_won: Days,
    /// The playbooks' cycles that this pipeline has stages for.
    pub cycles: Vec<Cycle>,
}

/// A lead's completed stays: (stage index, start ms, end ms), in order.
fn stays(row: &LeadRow, pipeline: &Pipeline) -> Vec<(usize, i64, i64)> {
    let mut path: Vec<(Option<usize>, i64)> = row
        .stage_path
        .iter()
        .map(|e| {
            (
                pipeline.stages.iter().position(|s| s.key == e.stage),
                e.at_ms,
            )
        })
        .collect();
    path.sort_by_key(|(_, at)| *at);
    let closed_at = match row.outcome {
        Outcome::Open => None,
        _ => row.outcome_ms,
    };
    let mut out = Vec::new();
    for (i, (stage, start)) in path.iter().enumerate() {
        let next = path.get(i + 1).map(|(_, at)| *at);
        // Closing ends the stay it happens in; a stay entered after a win (account care)
        // goes on until the next move.
        let end = match closed_at {
            Some(closed) if closed >= *start => Some(next.map_or(closed, |n| n.min(closed))),
            _ => next,
        };
        if let (Some(stage), Some(end)) = (stage, end) {
            out.push((*stage, *start, end.max(*start)));
        }
    }
    out
}

/// First entry into stage `key`, ms.
fn first_entry(row: &LeadRow, key: &str) -> Option<i64> {
    row.stage_path
        .iter()
        .filter(|e| e.stage == key)
        .map(|e| e.at_ms)
        .min()
}

/// The playbooks' cycles for this pipeline: proposal (needs understood -> proposal accepted,
/// i.e. negotiation begins) and negotiation (negotiation -> signed).
fn named_cycles(pipeline: &Pipeline) -> Vec<(&'static str, &'static str, &'static str)> {
    let has = |key: &str| pipeline.stages.iter().any(|s| s.key == key);
    let candidates = [
        ("proposal", "discovery", "negotiation"),
        ("proposal", "intent", "negotiation"),
        ("proposal", "lead", "opportunity"),
        ("negotiation", "negotiation", "won"),
        ("negotiation", "opportunity", "won"),
    ];
    let mut cycles: Vec<(&str, &str, &str)> = Vec::new();
    for (name, from, to) in candidates {
        if has(from) && (to == "won" || has(to)) && !cycles.iter().any(|c| c.0 == name) {
            cycles.push((name, from, to));
        }
    }
    cycles
}

/// Duration figures of `rows` for `period`: a cohort counts every completed stay of the leads
/// created in the period; activity counts stays that ended in the period.
pub fn durations<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow> + Clone,
    pipeline: &Pipeline,
    period: Period,
    window: Window,
) -> Durations {
    let count = pipeline.stages.len();
    let mut first_stay = vec![Vec::new(); count];
    let mut cumulative = vec![Vec::new(); count];
    let mut to_won = Vec::new();
    let cycles = named_cycles(pipeline);
    let mut cycle_spans = vec![Vec::new(); cycles.len()];
    for row in rows {
        if !window.includes(row, &period) {
            continue;
        }
        let counts = |end: i64| window == Window::Cohort || period.contains_ms(end);
        let mut seen = vec![false; count];
        let mut total = vec![None::<i64>; count];
        for (stage, start, end) in stays(row, pipeline) {
            if !counts(end) {
                continue;
            }
            if !seen[stage] && Some(start) == first_entry(row, &pipeline.stages[stage].key) {
                first_stay[stage].push(end - start);
            }
            seen[stage] = true;
            total[stage] = Some(total[stage].unwrap_or(0) + end - start);
        }
        for (stage, sum) in total.into_iter().enumerate() {
            cumulative[stage].extend(sum);
        }
        let won_at = (row.outcome == Outcome::Won && outcome_counts(row, &period, window))
            .then_some(row.outcome_ms)
            .flatten();
        if let Some(won_at) = won_at {
            to_won.push(won_at - row.created_ms);
        }
        for (i, (_, from, to)) in cycles.iter().enumerate() {
            let end = if *to == "won" {
                won_at
            } else {
                first_entry(row, to)
            };
            if let (Some(start), Some(end)) = (first_entry(row, from), end)
                && end >= start
                && counts(end)
            {
                cycle_spans[i].push(end - start);
            }
        }
    }
    Durations {
        stages: pipeline
            .stages
            .iter()
            .zip(first_stay.into_iter().zip(cumulative))
            .map(|(stage, (first, all))| StageTime {
                stage: stage.key.clone(),
                first_stay: Days::of(first),
                cumulative: Days::of(all),
            })
            .collect(),
        to_won: Days::of(to_won),
        cycles: cycles
            .into_iter()
            .zip(cycle_spans)
            .map(|((name, from, to), spans)| Cycle {
                name,
                from: from.to_owned(),
                to: to.to_owned(),
                days: Days::of(spans),
            })
            .collect(),
    }
}
