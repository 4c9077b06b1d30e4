//! Every figure of a period's report, computed once from the projection rows: the
//! lead-tracking report, the market report and the action list of DOMAIN.md. This is also the
//! JSON format's shape.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use fieldsync_funnel::alerts::{Alerts, alerts};
use fieldsync_funnel::competitors::{CompetitorFigures, competitors};
use fieldsync_funnel::durations::{Durations, durations};
use fieldsync_funnel::groups::{GroupBy, GroupFigures, counted, effectiveness, winning_profile};
use fieldsync_funnel::outcomes::{Outcomes, outcomes};
use fieldsync_funnel::pipeline_value::{OpenPipeline, open_pipeline};
use fieldsync_funnel::stages::{Funnel, funnel};
use fieldsync_funnel::{Compare, Counting, Period, Window};
use fieldsync_model::{LeadRow, Pipeline};
use serde::Serialize;

use crate::compare::Change;

/// What a report covers and how it counts.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    /// The period.
    pub period: Period,
    /// How skipped stages count.
    pub counting: Counting,
    /// Which leads or entries count.
    pub window: Window,
    /// When the report is made.
    pub now: DateTime<Utc>,
    /// The earlier period set beside it, if any.
    pub compare: Option<(Compare, Period)>,
}

/// The lead-tracking figures of the period a report is compared with, counted the same way.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Previous {
    /// Which period it is.
    pub compared_with: Compare,
    /// Its first day, in the reader's zone.
    pub first_day: NaiveDate,
    /// Its last day, in the reader's zone.
    pub last_day: NaiveDate,
    /// Its figures.
    pub tracking: Tracking,
    /// How the figures moved from it to the period reported.
    pub change: Change,
}

impl Previous {
    /// The figures of `scope`'s comparison period, if it has one, and how `now` (the figures
    /// of `scope`) moved from them; days shown in `zone`.
    pub fn compute<Z: TimeZone>(
        rows: &[LeadRow],
        pipeline: &Pipeline,
        scope: Scope,
        now: &Tracking,
        zone: &Z,
    ) -> Option<Previous> {
        let (compared_with, period) = scope.compare?;
        let (first_day, last_day) = local_days(&period, zone);
        let tracking = Tracking::compute(rows, pipeline, Scope { period, ..scope });
        Some(Previous {
            compared_with,
            first_day,
            last_day,
            change: Change::between(now, &tracking),
            tracking,
        })
    }
}

/// The first and last day of `period`, in `zone`.
fn local_days<Z: TimeZone>(period: &Period, zone: &Z) -> (NaiveDate, NaiveDate) {
    let day = |at: DateTime<Utc>| at.with_timezone(zone).date_naive();
    (
        day(period.from()),
        day(period.to() - chrono::Duration::milliseconds(1)),
    )
}

/// New leads, how they moved through the stages, how long they took, and why deals were lost.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tracking {
    /// Leads created in the period (not deleted).
    pub new_leads: u64,
    /// Per stage: reached, conversions, the bottleneck.
    pub funnel: Funnel,
    /// Win rate, deal sizes, loss reasons.
    pub outcomes: Outcomes,
    /// Time in stage and the cycles.
    pub durations: Durations,
}

impl Tracking {
    /// The lead-tracking figures of `scope` over `rows`, its passes on all cores.
    pub fn compute(rows: &[LeadRow], pipeline: &Pipeline, scope: Scope) -> Tracking {
        let Scope {
            period,
            counting,
            window,
            now,
            ..
        } = scope;
        let ((funnel, outcomes), (durations, new_leads)) = rayon::join(
            || {
                rayon::join(
                    || funnel(rows, pipeline, period, now, counting, window),
                    || outcomes(rows, pipeline, period, now, window),
                )
            },
            || {
                rayon::join(
                    || durations(rows, pipeline, period, window),
                    || {
                        rows.iter()
                            .filter(|row| !row.deleted && period.contains_ms(row.created_ms))
                            .count() as u64
                    },
                )
            },
        );
        Tracking {
            new_leads,
            funnel,
            outcomes,
            durations,
        }
    }
}

/// One dimension of the winning-customer profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProfileDimension {
    /// Industry, size, role or budget.
    pub by: GroupBy,
    /// Its values, the most wins first.
    pub groups: Vec<GroupFigures>,
}

/// Channels compared, the customers that are won, the competitors they name, the reps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Market {
    /// What the group tables count (they follow the report's window).
    pub groups_counted: &'static str,
    /// Per source channel.
    pub channels: Vec<GroupFigures>,
    /// Per owner.
    pub owners: Vec<GroupFigures>,
    /// The winning-customer profile.
    pub profile: Vec<ProfileDimension>,
    /// Competitor notes.
    pub competitors: Vec<CompetitorFigures>,
    /// Open deals weighted by stage probability, and expected closes.
    pub open_pipeline: OpenPipeline,
}

/// A period's report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// When it was made, in the reader's zone.
    pub generated_at: DateTime<FixedOffset>,
    /// The period's first day, in the reader's zone.
    pub first_day: NaiveDate,
    /// The period's last day, in the reader's zone.
    pub last_day: NaiveDate,
    /// Whose leads it covers, when not everyone's (one rep's, the pool's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leads_of: Option<String>,
    /// The lead-tracking report.
    pub tracking: Tracking,
    /// The same figures for the period it is compared with (`--compare`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// The market report.
    pub market: Market,
    /// The action list: leads to attend to now, and the anomalies.
    pub actions: Alerts,
}

impl Report {
    /// Computes every figure of `scope` over `rows`; dates are shown in `zone`.
    pub fn compute<Z: TimeZone + Sync>(
        rows: &[LeadRow],
        pipeline: &Pipeline,
        scope: Scope,
        zone: &Z,
    ) -> Report {
        let Scope {
            period,
            now,
            window,
            ..
        } = scope;
        let local = |at: DateTime<Utc>| at.with_timezone(zone).fixed_offset();
        let today = local(now).date_naive();
        // The figures are independent passes over the rows: run them on all cores.
        let (
            ((tracking, previous), actions),
            ((channels, owners), (profile, (competitors, open_pipeline))),
        ) = rayon::join(
            || {
                rayon::join(
                    || {
                        let tracking = Tracking::compute(rows, pipeline, scope);
                        let previous = Previous::compute(rows, pipeline, scope, &tracking, zone);
                        (tracking, previous)
                    },
                    || alerts(rows, pipeline, now, *local(now).offset()),
                )
            },
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || effectiveness(rows, &period, window, GroupBy::Source),
                            || effectiveness(rows, &period, window, GroupBy::Owner),
                        )
                    },
                    || {
                        rayon::join(
                            || winning_profile(rows, &period, window),
                            || {
                                rayon::join(
                                    || competitors(rows, &period),
                                    || open_pipeline(rows, pipeline, today),
                                )
                            },
                        )
                    },
                )
            },
        );
        let (first_day, last_day) = local_days(&period, zone);
        Report {
            generated_at: local(now),
            first_day,
            last_day,
            leads_of: None,
            tracking,
            previous,
            market: Market {
                groups_counted: counted(window),
                channels,
                owners,
                profile: profile
                    .into_iter()
                    .map(|(by, groups)| ProfileDimension { by, groups })
                    .collect(),
                competitors,
                open_pipeline,
            },
            actions,
        }
    }
}
