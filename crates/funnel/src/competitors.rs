//! Competitor notes for the market report: which competitors the period's customers talk to,
//! how often, and how those deals ended.

use std::collections::HashMap;

use fieldsync_model::{LeadRow, Outcome};
use serde::Serialize;

use crate::period::Period;
use crate::rate::Rate;

/// The loss-reason key for "chose a competitor".
const LOST_TO_COMPETITOR: &str = "competitor";

/// One competitor's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompetitorFigures {
    /// The competitor, as first written.
    pub competitor: String,
    /// Leads created in the period that name it.
    pub leads: u64,
    /// Of those, won.
    pub won: u64,
    /// Of those, lost (for any reason).
    pub lost: u64,
    /// Of the lost, lost with the reason "chose a competitor".
    pub lost_to_competitor: u64,
    /// Won ÷ (won + lost).
    pub win_rate: Rate,
}

/// The competitors a lead's notes name: split at commas, semicolons, slashes, enumeration
/// commas and line breaks (ASCII and full-width), trimmed, blanks dropped.
pub fn named(notes: &str) -> impl Iterator<Item = &str> {
    notes
        .split([',', '，', ';', '；', '、', '/', '\n'])
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// Per competitor named by the leads created in `period` (not deleted), the most named first
/// (ties by name). Names that differ only in letter case are one competitor.
pub fn competitors<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    period: &Period,
) -> Vec<CompetitorFigures> {
    let mut by_key: HashMap<String, CompetitorFigures> = HashMap::new();
    for row in rows {
        if row.deleted || !period.contains_ms(row.created_ms) {
            continue;
        }
        // A lead that names a competitor twice counts once.
        let mut keys: Vec<(String, &str)> = named(&row.competitors)
            .map(|name| (name.to_lowercase(), name))
            .collect();
        keys.sort();
        keys.dedup_by(|a, b| a.0 == b.0);
        for (key, name) in keys {
            let figures = by_key.entry(key).or_insert_with(|| CompetitorFigures {
                competitor: name.to_owned(),
                leads: 0,
                won: 0,
                lost: 0,
                lost_to_competitor: 0,
                win_rate: Rate::new(0, 0),
            });
            figures.leads += 1;
            match row.outcome {
                Outcome::Won => figures.won += 1,
                Outcome::Lost => {
                    figures.lost += 1;
                    if row.loss_reason.as_deref() == Some(LOST_TO_COMPETITOR) {
                        figures.lost_to_competitor += 1;
                    }
                }
                Outcome::Open | Outcome::Abandoned => {}
            }
        }
    }
    let mut list: Vec<CompetitorFigures> = by_key
        .into_values()
        .map(|mut figures| {
            figures.win_rate = Rate::new(figures.won, figures.won + figures.lost);
            figures
        })
        .collect();
    list.sort_by(|a, b| {
        b.leads
            .cmp(&a.leads)
            .then_with(|| a.competitor.cmp(&b.competitor))
    });
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_at_ascii_and_full_width_separators() {
        let names: Vec<&str> = named(" 用友，金蝶、SAP / Salesforce;; \n纷享销客 ").collect();
        assert_eq!(names, ["用友", "金蝶", "SAP", "Salesforce", "纷享销客"]);
        assert_eq!(named("  ").count(), 0);
    }
}
