//! Channel effectiveness and the winning-customer profile: per source channel, owner,
//! industry, size, contact role or budget band, the leads counted, how many were won, what
//! share of all wins that is, and the average won deal.
//!
//! The groups follow the report's window, so their wins add up to the report's: a cohort counts
//! the leads created in the period and those of them won by now; activity counts the deals
//! decided (won or lost) in the period and those won, whenever the lead was created, so its
//! conversion is the group's win rate. [`counted`] says which, for every table's caption.

use fieldsync_model::{LeadRow, Money, Outcome, Pipeline, Priority};
use serde::Serialize;

use crate::outcomes::{mean_and_median, outcome_counts};
use crate::period::Period;
use crate::rate::Rate;
use crate::reach::Window;

/// What the leads are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// The lead's source channel.
    Source,
    /// The lead's responsible rep (the pool is its own group).
    Owner,
    /// The customer's industry.
    Industry,
    /// The customer's size band.
    Size,
    /// The contact's title: their role in the decision chain.
    Role,
    /// The customer's budget range.
    Budget,
    /// The lead's tier: A/B/C (high, medium, low priority).
    Priority,
    /// The lead's sales region.
    Region,
}

impl GroupBy {
    /// The dimensions of the winning-customer profile (DOMAIN.md).
    pub const PROFILE: [GroupBy; 4] = [
        GroupBy::Industry,
        GroupBy::Size,
        GroupBy::Role,
        GroupBy::Budget,
    ];

    /// The dimension's name, as a column heading.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Source => "source",
            GroupBy::Owner => "owner",
            GroupBy::Industry => "industry",
            GroupBy::Size => "size",
            GroupBy::Role => "role",
            GroupBy::Budget => "budget",
            GroupBy::Priority => "priority",
            GroupBy::Region => "region",
        }
    }

    /// What the group of leads with no value is called.
    pub fn unnamed(self) -> &'static str {
        match self {
            GroupBy::Owner => "(pool)",
            _ => "(not recorded)",
        }
    }

    /// How a group key is shown: a source channel by its label, an empty key as unnamed.
    pub fn label(self, key: &str, pipeline: &Pipeline) -> String {
        match (self, key.is_empty()) {
            (_, true) => self.unnamed().to_owned(),
            (GroupBy::Source, false) => pipeline.source_label(key),
            (GroupBy::Priority, false) => key
                .parse::<Priority>()
                .map_or_else(|_| key.to_owned(), |tier| tier.label().to_owned()),
            (_, false) => key.to_owned(),
        }
    }
}

/// One group's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupFigures {
    /// Source key, owner name or field value; "" for leads with none (or in the pool).
    pub group: String,
    /// Leads counted: created in the period (cohort), or decided, won or lost, in it (activity).
    pub leads: u64,
    /// Of those, won (by now for a cohort, in the period for activity).
    pub won: u64,
    /// Won ÷ leads.
    pub conversion: Rate,
    /// This group's wins ÷ all wins counted.
    pub share_of_won: Rate,
    /// Mean won deal amount.
    pub average_deal: Option<Money>,
}

/// The group key of a row.
pub fn group_of(row: &LeadRow, by: GroupBy) -> &str {
    match by {
        GroupBy::Source => &row.source,
        GroupBy::Owner => row.owner.as_deref().unwrap_or_default(),
        GroupBy::Industry => &row.industry,
        GroupBy::Size => &row.size,
        GroupBy::Role => &row.title,
        GroupBy::Budget => &row.budget,
        GroupBy::Priority => row.priority.map_or("", Priority::key),
        GroupBy::Region => &row.region,
    }
}

/// What the group figures of `window` count, for captions and JSON.
pub fn counted(window: Window) -> &'static str {
    match window {
        Window::Cohort => {
            "leads created in the period; won: of those, won by today; conversion: won ÷ leads"
        }
        Window::Activity => {
            "leads: deals decided (won or lost) in the period; won: of those, won; conversion: the win rate"
        }
    }
}

/// The heading of the leads column under `window`.
pub fn leads_heading(window: Window) -> &'static str {
    match window {
        Window::Cohort => "new leads",
        Window::Activity => "decided",
    }
}

/// Whether `row` counts in the groups of `period` under `window` (see the module's doc).
fn counts(row: &LeadRow, period: &Period, window: Window) -> bool {
    match window {
        Window::Cohort => outcome_counts(row, period, window),
        Window::Activity => {
            matches!(row.outcome, Outcome::Won | Outcome::Lost)
                && outcome_counts(row, period, window)
        }
    }
}

/// Per group, for the leads `window` counts in `period` (never deleted ones), most leads first
/// (ties by key).
pub fn effectiveness<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow>,
    period: &Period,
    window: Window,
    by: GroupBy,
) -> Vec<GroupFigures> {
    let mut groups: Vec<(&str, u64, Vec<i64>)> = Vec::new();
    for row in rows {
        if !counts(row, period, window) {
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
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let all_won = groups.iter().map(|(_, _, won)| won.len() as u64).sum();
    groups
        .into_iter()
        .map(|(group, leads, mut amounts)| {
            let won = amounts.len() as u64;
            GroupFigures {
                group: group.to_owned(),
                leads,
                won,
                conversion: Rate::new(won, leads),
                share_of_won: Rate::new(won, all_won),
                average_deal: mean_and_median(&mut amounts).0,
            }
        })
        .collect()
}

/// The winning-customer profile: for each of [`GroupBy::PROFILE`], the groups with the most
/// wins first (ties by more leads, then by key).
pub fn winning_profile<'a>(
    rows: impl IntoIterator<Item = &'a LeadRow> + Clone,
    period: &Period,
    window: Window,
) -> Vec<(GroupBy, Vec<GroupFigures>)> {
    GroupBy::PROFILE
        .into_iter()
        .map(|by| {
            let mut groups = effectiveness(rows.clone(), period, window, by);
            groups.sort_by(|a, b| {
                (b.won, b.leads)
                    .cmp(&(a.won, a.leads))
                    .then_with(|| a.group.cmp(&b.group))
            });
            (by, groups)
        })
        .collect()
}
