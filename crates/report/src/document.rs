//! The report laid out once for every text format: sections of paragraphs, tables and charts,
//! with keys turned into the pipeline's labels. Markdown, HTML and CSV each render this one
//! layout, so the three never disagree on a figure or a word.

use fieldsync_funnel::Rate;
use fieldsync_funnel::Window;
use fieldsync_funnel::alerts::LeadAlert;
use fieldsync_funnel::groups::{GroupBy, GroupFigures, counted, leads_heading};
use std::collections::HashMap;

use fieldsync_model::{LeadId, Pipeline, plural};

use crate::compare::{funnel_cells, funnel_headers, headline};
use crate::figures::Report;

/// Rows shown of the action list's lead alerts when read; CSV and JSON have them all.
pub const ALERT_ROWS: usize = 100;
/// Rows shown per dimension of the winning-customer profile.
pub const PROFILE_ROWS: usize = 5;
/// Loss reasons in the lead-tracking report's table (the playbooks ask for the top three).
pub const TOP_LOSS_REASONS: usize = 3;
/// Lead ids listed per anomaly.
const ANOMALY_IDS: usize = 10;

/// How long the lists of a layout may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// For reading: the top rows of long lists, and how many were left out.
    Readable,
    /// For other programs (CSV): every row.
    Whole,
}

impl Length {
    /// How many rows a list with a readable limit of `readable` shows.
    fn limit(self, readable: usize) -> usize {
        match self {
            Length::Readable => readable,
            Length::Whole => usize::MAX,
        }
    }
}

/// A laid-out report.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The heading.
    pub title: String,
    /// Period, counting rule, window, when it was made.
    pub subtitle: String,
    /// The lead-tracking report, the market report, the action list.
    pub sections: Vec<Section>,
}

/// One part of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Its heading.
    pub title: &'static str,
    /// Its content, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A paragraph.
    Text(String),
    /// A table.
    Table(Table),
    /// A chart (drawn by the HTML format; the tables carry the same figures).
    Chart(Chart),
}

/// A table of text cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// A short machine name, unique in the report: the CSV format's first column.
    pub name: String,
    /// Its caption.
    pub caption: String,
    /// Column headings.
    pub headers: Vec<&'static str>,
    /// Cells, one row per item.
    pub rows: Vec<Vec<String>>,
    /// Items left out of `rows` for length.
    pub omitted: usize,
}

/// A chart's data.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    /// Leads reaching each stage, widest first.
    Funnel {
        /// An id for the element, unique in the page.
        id: &'static str,
        /// Its title.
        title: String,
        /// Stage label and count, in pipeline order.
        stages: Vec<(String, u64)>,
    },
    /// Horizontal bars.
    Bars(Bars),
}

impl Chart {
    /// The chart's element id.
    pub fn id(&self) -> &'static str {
        match self {
            Chart::Funnel { id, .. } => id,
            Chart::Bars(bars) => bars.id,
        }
    }
}

/// Horizontal bars, one per item, with an optional reference mark each.
#[derive(Clone, Debug, PartialEq)]
pub struct Bars {
    /// An id for the element, unique in the page.
    pub id: &'static str,
    /// Its title.
    pub title: String,
    /// What the values measure ("%", "days", "leads").
    pub unit: &'static str,
    /// Whether the values are counts, whose axis shows whole numbers only.
    pub counts: bool,
    /// What the reference mark is ("ideal", "limit"), if any bar has one.
    pub marker_name: Option<&'static str>,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
}

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Its label.
    pub label: String,
    /// Its length (0 for "n/a").
    pub value: f64,
    /// The value as written beside it.
    pub text: String,
    /// A reference mark on the same scale (the ideal rate, the stage limit).
    pub marker: Option<f64>,
}

fn percent(rate: Rate) -> f64 {
    rate.value().map_or(0.0, |value| value * 100.0)
}

/// Keeps the first `limit` items and says how many were left out.
fn truncated<T>(items: &[T], limit: usize) -> (&[T], usize) {
    let shown = &items[..items.len().min(limit)];
    (shown, items.len() - shown.len())
}

/// A table of per-group figures under `window`: leads, won, conversion, share of won,
/// average deal; its caption ends with what they count.
pub fn group_table(
    name: String,
    caption: String,
    pipeline: &Pipeline,
    (by, window): (GroupBy, Window),
    groups: &[GroupFigures],
    limit: usize,
) -> Table {
    let (shown, omitted) = truncated(groups, limit);
    Table {
        name,
        caption: format!("{caption} ({})", counted(window)),
        headers: vec![
            by.name(),
            leads_heading(window),
            "won",
            "conversion",
            "share of won",
            "average deal",
        ],
        rows: shown
            .iter()
            .map(|group| {
                vec![
                    by.label(&group.group, pipeline),
                    group.leads.to_string(),
                    group.won.to_string(),
                    group.conversion.to_string(),
                    group.share_of_won.to_string(),
                    pipeline.amount_or_na(group.average_deal),
                ]
            })
            .collect(),
        omitted,
    }
}

/// Lays out `report`, labelling keys from `pipeline`, its lists as long as `length` allows.
pub fn lay_out(report: &Report, pipeline: &Pipeline, length: Length) -> Document {
    let funnel = &report.tracking.funnel;
    Document {
        title: "fieldsync report".to_owned(),
        subtitle: format!(
            "{}{} to {}{} · counting: {} · window: {}{} · made {}",
            report
                .leads_of
                .as_ref()
                .map(|whose| format!("{whose} · "))
                .unwrap_or_default(),
            report.first_day,
            report.last_day,
            report
                .previous
                .as_ref()
                .map(|p| format!(
                    " · compared with {} to {} ({})",
                    p.first_day,
                    p.last_day,
                    p.compared_with.label()
                ))
                .unwrap_or_default(),
            funnel.counting.label(),
            funnel.window.label(),
            pipeline
                .amount_unit()
                .map(|unit| format!(" · amounts in {unit}"))
                .unwrap_or_default(),
            report.generated_at.format("%Y-%m-%d %H:%M %:z")
        ),
        sections: vec![
            tracking(report, pipeline, length),
            market(report, pipeline, length),
            actions(report, pipeline, length),
        ],
    }
}

fn tracking(report: &Report, pipeline: &Pipeline, length: Length) -> Section {
    let tracking = &report.tracking;
    let funnel = &tracking.funnel;
    let outcomes = &tracking.outcomes;
    let before = report.previous.as_ref().map(|p| &p.tracking.funnel);
    let label = |key: &str| pipeline.stage_label(key);
    let mut blocks = vec![Block::Text(format!(
        "{} new leads. Win rate {} ({} won of {} closed; {} abandoned). Deal size: average {}, median {}.{}",
        tracking.new_leads,
        outcomes.win_rate,
        outcomes.won,
        outcomes.won + outcomes.lost,
        outcomes.abandoned,
        pipeline.amount_or_na(outcomes.average_deal),
        pipeline.amount_or_na(outcomes.median_deal),
        report
            .previous
            .as_ref()
            .map(|previous| format!(" {}", headline(tracking, previous)))
            .unwrap_or_default(),
    ))];
    blocks.push(Block::Chart(Chart::Funnel {
        id: "funnel-chart",
        title: format!("Leads reaching each stage · {}", funnel.counting.label()),
        stages: funnel
            .stages
            .iter()
            .map(|stage| (label(&stage.stage), stage.reached))
            .collect(),
    }));
    blocks.push(Block::Table(Table {
        name: "funnel".to_owned(),
        caption: "Stage conversion".to_owned(),
        headers: funnel_headers(before.is_some()),
        rows: funnel
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| {
                funnel_cells(stage, before.and_then(|b| b.stages.get(index)), pipeline)
            })
            .collect(),
        omitted: 0,
    }));
    let steps: Vec<_> = funnel
        .stages
        .windows(2)
        .filter_map(|pair| Some((&pair[0], &pair[1], pair[0].to_next?)))
        .collect();
    let bottlenecks: Vec<String> = steps
        .iter()
        .filter(|(from, _, _)| from.bottleneck)
        .map(|(from, to, rate)| {
            format!(
                "Bottleneck: {} → {} at {rate} against an ideal {:.0}%.",
                label(&from.stage),
                label(&to.stage),
                from.ideal_to_next.unwrap_or_default() * 100.0
            )
        })
        .collect();
    blocks.push(Block::Text(if bottlenecks.is_empty() {
        "No step is below its ideal rate.".to_owned()
    } else {
        bottlenecks.join(" ")
    }));
    blocks.push(Block::Chart(Chart::Bars(Bars {
        id: "conversion-chart",
        title: "Conversion to the next stage".to_owned(),
        unit: "%",
        counts: false,
        marker_name: Some("ideal"),
        bars: steps
            .iter()
            .map(|(from, to, rate)| Bar {
                label: format!("{} → {}", label(&from.stage), label(&to.stage)),
                value: percent(*rate),
                text: rate.to_string(),
                marker: from.ideal_to_next.map(|ideal| ideal * 100.0),
            })
            .collect(),
    })));
    let (top, _) = truncated(&outcomes.loss_reasons, length.limit(TOP_LOSS_REASONS));
    blocks.push(Block::Table(Table {
        name: "loss-reasons".to_owned(),
        caption: "Top loss reasons".to_owned(),
        headers: vec!["reason", "lost", "share"],
        rows: top
            .iter()
            .map(|reason| {
                vec![
                    pipeline.loss_reason_label(&reason.reason),
                    reason.share.numerator.to_string(),
                    reason.share.to_string(),
                ]
            })
            .collect(),
        omitted: 0,
    }));
    blocks.push(Block::Chart(Chart::Bars(Bars {
        id: "loss-chart",
        title: "Why deals were lost".to_owned(),
        unit: "leads",
        counts: true,
        marker_name: None,
        bars: outcomes
            .loss_reasons
            .iter()
            .map(|reason| Bar {
                label: pipeline.loss_reason_label(&reason.reason),
                value: reason.share.numerator as f64,
                text: format!("{} ({})", reason.share.numerator, reason.share),
                marker: None,
            })
            .collect(),
    })));
    blocks.push(Block::Table(Table {
        name: "lost-at".to_owned(),
        caption: "Stage at which deals were lost".to_owned(),
        headers: vec!["stage", "lost", "share"],
        rows: outcomes
            .lost_at
            .iter()
            .map(|lost| {
                vec![
                    label(&lost.stage),
                    lost.share.numerator.to_string(),
                    lost.share.to_string(),
                ]
            })
            .collect(),
        omitted: 0,
    }));
    let durations = &tracking.durations;
    blocks.push(Block::Table(Table {
        name: "time-in-stage".to_owned(),
        caption: "Time in stage (completed stays)".to_owned(),
        headers: vec!["stage", "first stay", "all stays", "limit"],
        rows: durations
            .stages
            .iter()
            .map(|stage| {
                vec![
                    label(&stage.stage),
                    stage.first_stay.to_string(),
                    stage.cumulative.to_string(),
                    pipeline
                        .stage(&stage.stage)
                        .map(|s| format!("{} d", s.stale_days))
                        .unwrap_or_default(),
                ]
            })
            .collect(),
        omitted: 0,
    }));
    blocks.push(Block::Chart(Chart::Bars(Bars {
        id: "time-chart",
        title: "Average days in each stage (first stay)".to_owned(),
        unit: "days",
        counts: false,
        marker_name: Some("limit"),
        bars: durations
            .stages
            .iter()
            .map(|stage| Bar {
                label: label(&stage.stage),
                value: stage.first_stay.average.unwrap_or(0.0),
                text: stage
                    .first_stay
                    .average
                    .map_or_else(|| "n/a".to_owned(), |days| format!("{days:.1} d")),
                marker: pipeline
                    .stage(&stage.stage)
                    .map(|s| f64::from(s.stale_days)),
            })
            .collect(),
    })));
    let mut cycles = vec![format!("Creation to won: {}.", durations.to_won)];
    cycles.extend(durations.cycles.iter().map(|cycle| {
        format!(
            "The {} cycle ({} → {}): {}.",
            cycle.name,
            label(&cycle.from),
            label(&cycle.to),
            cycle.days
        )
    }));
    blocks.push(Block::Text(cycles.join(" ")));
    Section {
        title: "Lead-tracking report",
        blocks,
    }
}

fn market(report: &Report, pipeline: &Pipeline, length: Length) -> Section {
    let market = &report.market;
    let window = report.tracking.funnel.window;
    let mut blocks = vec![
        Block::Table(group_table(
            "channels".to_owned(),
            "Channels compared".to_owned(),
            pipeline,
            (GroupBy::Source, window),
            &market.channels,
            usize::MAX,
        )),
        Block::Chart(Chart::Bars(Bars {
            id: "channel-chart",
            title: "Conversion to won per channel".to_owned(),
            unit: "%",
            counts: false,
            marker_name: None,
            bars: market
                .channels
                .iter()
                .map(|group| Bar {
                    label: GroupBy::Source.label(&group.group, pipeline),
                    value: percent(group.conversion),
                    text: format!("{} of {}", group.conversion, group.leads),
                    marker: None,
                })
                .collect(),
        })),
        Block::Table(group_table(
            "owners".to_owned(),
            "Reps compared".to_owned(),
            pipeline,
            (GroupBy::Owner, window),
            &market.owners,
            usize::MAX,
        )),
    ];
    blocks.extend(market.profile.iter().map(|dimension| {
        Block::Table(group_table(
            format!("profile-{}", dimension.by.name()),
            format!("Winning-customer profile: {}", dimension.by.name()),
            pipeline,
            (dimension.by, window),
            &dimension.groups,
            length.limit(PROFILE_ROWS),
        ))
    }));
    blocks.push(Block::Table(Table {
        name: "competitors".to_owned(),
        caption: "Competitors customers named".to_owned(),
        headers: vec![
            "competitor",
            "leads",
            "won",
            "lost",
            "lost to a competitor",
            "win rate",
        ],
        rows: market
            .competitors
            .iter()
            .map(|c| {
                vec![
                    c.competitor.clone(),
                    c.leads.to_string(),
                    c.won.to_string(),
                    c.lost.to_string(),
                    c.lost_to_competitor.to_string(),
                    c.win_rate.to_string(),
                ]
            })
            .collect(),
        omitted: 0,
    }));
    let open = &market.open_pipeline;
    blocks.push(Block::Text(format!(
        "Open pipeline now: {}, {} with an amount totalling {}; weighted by stage probability {}.",
        plural::counted(open.leads, "lead"),
        open.with_amount,
        pipeline.amount(open.amount),
        pipeline.amount(open.weighted)
    )));
    blocks.push(Block::Table(Table {
        name: "expected-closes".to_owned(),
        caption: "Expected closes per month".to_owned(),
        headers: vec!["month", "leads", "amount", "weighted"],
        rows: open
            .expected
            .iter()
            .map(|month| {
                vec![
                    match month.past {
                        true => {
                            format!("{} (past: update these expected close dates)", month.month)
                        }
                        false => month.month.clone(),
                    },
                    month.leads.to_string(),
                    pipeline.amount(month.amount),
                    pipeline.amount(month.weighted),
                ]
            })
            .collect(),
        omitted: 0,
    }));
    Section {
        title: "Market report",
        blocks,
    }
}

fn actions(report: &Report, pipeline: &Pipeline, length: Length) -> Section {
    let actions = &report.actions;
    if actions.leads.is_empty() && actions.anomalies.is_empty() {
        return Section {
            title: "Action list",
            blocks: vec![Block::Text("Nothing needs attention.".to_owned())],
        };
    }
    // One row per lead, its alerts together, in the order of its most overdue one.
    // (Only the rows shown are put in words: a team's alerts run to tens of thousands.)
    let mut leads: Vec<Vec<&LeadAlert>> = Vec::new();
    let mut row_of: HashMap<&LeadId, usize> = HashMap::new();
    for alert in &actions.leads {
        match row_of.get(&alert.id) {
            Some(&row) => leads[row].push(alert),
            None => {
                row_of.insert(&alert.id, leads.len());
                leads.push(vec![alert]);
            }
        }
    }
    let (shown, omitted) = truncated(&leads, length.limit(ALERT_ROWS));
    Section {
        title: "Action list",
        blocks: vec![
            Block::Table(Table {
                name: "alerts".to_owned(),
                caption: "Leads to attend to, the most overdue first".to_owned(),
                headers: vec!["id", "company", "owner", "stage", "alerts"],
                rows: shown
                    .iter()
                    .map(|alerts| {
                        let alert = alerts[0];
                        let said: Vec<String> = alerts.iter().map(|a| a.describe()).collect();
                        vec![
                            alert.id.short().to_owned(),
                            alert.company.to_string(),
                            alert
                                .owner
                                .as_deref()
                                .unwrap_or(GroupBy::Owner.unnamed())
                                .to_owned(),
                            pipeline.stage_label(&alert.stage),
                            said.join("; "),
                        ]
                    })
                    .collect(),
                omitted,
            }),
            Block::Table(Table {
                name: "anomalies".to_owned(),
                caption: "Anomalies".to_owned(),
                headers: vec!["anomaly", "figures", "leads"],
                rows: actions
                    .anomalies
                    .iter()
                    .map(|anomaly| {
                        let (ids, more) = truncated(&anomaly.leads, length.limit(ANOMALY_IDS));
                        let mut leads: Vec<String> =
                            ids.iter().map(|id| id.short().to_owned()).collect();
                        if more > 0 {
                            leads.push(format!("and {more} more"));
                        }
                        vec![
                            anomaly.kind.title().to_owned(),
                            anomaly.detail.clone(),
                            leads.join(" "),
                        ]
                    })
                    .collect(),
                omitted: 0,
            }),
        ],
    }
}
