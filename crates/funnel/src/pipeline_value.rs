//! What the open pipeline is worth: estimated amounts weighted by each stage's probability,
//! and the closes expected per month from expected-close dates.

use chrono::NaiveDate;
use fieldsync_model::{LeadRow, Money, Outcome, Pipeline};
use serde::Serialize;

/// The closes expected in one month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectedMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// Open leads expected to close then.
    pub leads: u64,
    /// Their estimated amounts.
    pub amount: Money,
    /// Their amounts weighted by stage probability.
    pub weighted: Money,
    /// Whether the month is already over: these leads' expected close dates need updating.
    pub past: bool,
}

/// The open pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpenPipeline {
    /// Open leads (not deleted).
    pub leads: u64,
    /// Of those, with an estimated amount.
    pub with_amount: u64,
    /// Sum of estimated amounts.
    pub amount: Money,
    /// Sum of amount x stage probability.
    pub weighted: Money,
    /// Per month of expected close, in order; leads with no date are left out.
    pub expected: Vec<ExpectedMonth>,
}

/// The open pipeline of `rows` now; `today` is the reader's date (months before its month are
/// past).
pub fn open_pipeline<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    pipeline: &Pipeline,
    today: NaiveDate,
) -> OpenPipeline {
    let this_month = today.format("%Y-%m").to_string();
    let mut value = OpenPipeline {
        leads: 0,
        with_amount: 0,
        amount: Money::from_cents(0),
        weighted: Money::from_cents(0),
        expected: Vec::new(),
    };
    let mut months: Vec<(String, u64, i64, i64)> = Vec::new();
    let (mut amount, mut weighted) = (0i64, 0i64);
    for row in rows {
        if row.deleted || row.outcome != Outcome::Open {
            continue;
        }
        value.leads += 1;
        let probability = pipeline
            .stages
            .iter()
            .find(|s| s.key == row.stage)
            .map_or(0, |s| i64::from(s.probability));
        let cents = row.amount.map_or(0, Money::cents);
        let weight = cents.saturating_mul(probability) / 100;
        if row.amount.is_some() {
            value.with_amount += 1;
            amount = amount.saturating_add(cents);
            weighted = weighted.saturating_add(weight);
        }
        if let Some(month) = row.expected_close.as_deref().and_then(|d| d.get(..7)) {
            match months.iter_mut().find(|m| m.0 == month) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 = entry.2.saturating_add(cents);
                    entry.3 = entry.3.saturating_add(weight);
                }
                None => months.push((month.to_owned(), 1, cents, weight)),
            }
        }
    }
    months.sort();
    value.amount = Money::from_cents(amount);
    value.weighted = Money::from_cents(weighted);
    value.expected = months
        .into_iter()
        .map(|(month, leads, amount, weighted)| ExpectedMonth {
            past: month < this_month,
            month,
            leads,
            amount: Money::from_cents(amount),
            weighted: Money::from_cents(weighted),
        })
        .collect();
    value
}
