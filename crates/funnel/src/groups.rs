//! Channel effectiveness: per source channel (or per owner), the leads created in the period,
//! how many were won, and the average won deal.

use fieldsync_model::{LeadRow, Money, Outcome};
use serde::Serialize;

use crate::outcomes::mean_and_median;
use crate::period::Period;
use crate::rate::Rate;

/// What the leads are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// The lead's source channel.
    Source,
    /// The lead's responsible rep (the pool is its own group).
    Owner,
}

/// One group's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupFigures {
    /// Source key or owner name; "" for leads with no source, or in the pool.
    pub group: String,
    /// Leads created in the period.
    pub leads: u64,
    /// Of those, won by now.
    pub won: u64,
    /// Won ÷ leads.
    pub conversion: Rate,
    /// Mean won deal amount.
    pub average_deal: Option<Money>,
}

/// The group key of a row.
pub fn group_of(row: &LeadRow, by: GroupBy) -> String {
    match by {
        GroupBy::Source => row.source.clone(),
        GroupBy::Owner => row.owner.clone().unwrap_or_default(),
    }
}

/// Per group, for the leads created in `period` (not deleted), most leads first (ties by key).
pub fn effectiveness<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    period: &Period,
    by: GroupBy,
) -> Vec<GroupFigures> {
    let mut groups: Vec<(String, u64, Vec<i64>)> = Vec::new();
    for row in rows {
        if row.deleted || !period.contains_ms(row.created_ms) {
            continue;
        }
        let key = group_of(row, by);
        let index = match groups.iter().position(|(group, _, _)| *group == key) {
            Some(index) => index,
            None => {
                groups.push((key, 0, Vec::new()));
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        group.1 += 1;
        if row.outcome == Outcome::Won {
            group.2.push(row.deal_amount.map_or(0, Money::cents));
        }
    }
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    groups
        .into_iter()
        .map(|(group, leads, mut amounts)| {
            let won = amounts.len() as u64;
            GroupFigures {
                group,
                leads,
                won,
                conversion: Rate::new(won, leads),
                average_deal: mean_and_median(&mut amounts).0,
            }
        })
        .collect()
}
