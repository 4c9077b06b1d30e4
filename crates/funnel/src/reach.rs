//! When a lead reached each stage of the pipeline, under each counting rule.
//!
//! A lead's stage path is every stage entry in event-time order, its creation first. A lead
//! that moved backwards and forwards again counts once per stage, at its first entry.
//! - **Strict**: a lead reached stage k only if it entered every stage before k first, in
//!   order; a skipped stage ends its strict path there.
//! - **Pass-through**: a lead that skipped stages counts as having passed them, at the time
//!   it first reached a later stage.
//!
//! A won lead reaches the pipeline's win stage (or, without one, its last sales stage) at the
//! time of the win, whatever its document records: so under pass-through a win has passed
//! every sales stage, and wins recorded before pipelines named a win stage count the same.

use fieldsync_model::{LeadRow, Outcome, Pipeline};
use serde::Serialize;

use crate::period::Period;

/// How skipped stages count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counting {
    /// Only leads that passed through every earlier stage in order.
    Strict,
    /// A lead that skipped a stage counts as having passed it.
    PassThrough,
}

impl Counting {
    /// How the rule is named in every output.
    pub fn label(self) -> &'static str {
        match self {
            Counting::Strict => "strict order",
            Counting::PassThrough => "pass-through (skipped stages count as passed)",
        }
    }
}

/// Which leads and entries a period's figures count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// Leads created in the period, followed to now.
    Cohort,
    /// Stage entries that happened in the period, whenever the lead was created.
    Activity,
}

impl Window {
    /// How the window is named in every output.
    pub fn label(self) -> &'static str {
        match self {
            Window::Cohort => "cohort (leads created in the period, followed to today)",
            Window::Activity => "activity (stage entries in the period)",
        }
    }

    /// Whether `row` belongs to the figures of `period` at all.
    pub fn includes(self, row: &LeadRow, period: &Period) -> bool {
        !row.deleted && (self == Window::Activity || period.contains_ms(row.created_ms))
    }

    /// Whether an event at `at_ms` counts.
    pub fn counts(self, at_ms: i64, period: &Period, now_ms: i64) -> bool {
        match self {
            Window::Cohort => at_ms <= now_ms,
            Window::Activity => period.contains_ms(at_ms),
        }
    }
}

/// For each stage of `pipeline`, when `row` reached it under `counting` (ms), if it did.
/// Entries into stages the pipeline no longer has are ignored.
pub fn reached(row: &LeadRow, pipeline: &Pipeline, counting: Counting) -> Vec<Option<i64>> {
    let stages = pipeline.stages.len();
    let mut first = vec![None::<i64>; stages];
    let win = match (row.outcome, row.outcome_ms, pipeline.win_target()) {
        (Outcome::Won, Some(at_ms), Some(index)) => Some((index, at_ms)),
        _ => None,
    };
    let entries = row
        .stage_path
        .iter()
        .filter_map(|entry| {
            let index = pipeline.stages.iter().position(|s| s.key == entry.stage)?;
            Some((index, entry.at_ms))
        })
        .chain(win);
    for (index, at_ms) in entries {
        let slot = &mut first[index];
        *slot = Some(slot.map_or(at_ms, |at| at.min(at_ms)));
    }
    match counting {
        Counting::Strict => {
            let mut reached = vec![None; stages];
            let mut previous = i64::MIN;
            for (index, at) in first.iter().enumerate() {
                match at {
                    Some(at) if *at >= previous => {
                        reached[index] = Some(*at);
                        previous = *at;
                    }
                    _ => break,
                }
            }
            reached
        }
        Counting::PassThrough => {
            // The first time the lead was at stage k or beyond.
            let mut reached = vec![None; stages];
            let mut earliest_beyond: Option<i64> = None;
            for index in (0..stages).rev() {
                if let Some(at) = first[index] {
                    earliest_beyond = Some(earliest_beyond.map_or(at, |e| e.min(at)));
                }
                reached[index] = earliest_beyond;
            }
            reached
        }
    }
}
