//! `fieldsync funnel`: the sales funnel of a period, from this device's projection rows.

use std::io::Write;

use anyhow::Result;
use chrono::TimeZone;
use fieldsync_funnel::Window;
use fieldsync_funnel::durations::Durations;
use fieldsync_funnel::groups::{GroupBy, GroupFigures, counted, effectiveness};
use fieldsync_funnel::outcomes::Outcomes;
use fieldsync_funnel::pipeline_value::{OpenPipeline, open_pipeline};
use fieldsync_funnel::stages::Funnel;
use fieldsync_model::{LeadRow, Pipeline, plural};
use fieldsync_report::Scope;
use fieldsync_report::compare::{funnel_cells, funnel_headers, headline};
use fieldsync_report::document::group_table;
use fieldsync_report::figures::{Previous, Tracking};
use serde::Serialize;

use super::owners::rows;
use super::scope::scope;
use crate::args::{ByArg, FunnelArgs};
use crate::context::Context;
use crate::output::{Table, local_date, print_json};

/// Width of the longest bar, in columns.
const BAR_WIDTH: u64 = 24;

/// Everything `--json` prints.
#[derive(Serialize)]
pub struct Report {
    #[serde(flatten)]
    tracking: Tracking,
    /// The same figures for the period compared with, and the changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<Previous>,
    open_pipeline: OpenPipeline,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupFigures>>,
    /// What the groups count (they follow the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    groups_counted: Option<&'static str>,
    /// Whose leads, when not everyone's (`--mine`, `--owner`).
    #[serde(skip_serializing_if = "Option::is_none")]
    leads_of: Option<String>,
}

/// Prints the funnel.
pub fn run(cx: &Context, args: &FunnelArgs, out: &mut impl Write) -> Result<()> {
    let scope = scope(cx, &args.scope)?;
    let store = cx.open_store()?;
    let (rows, covers) = rows(&store, &args.scope.of)?;
    let pipeline = store.pipeline();
    let by = args.by.map(ByArg::group_by);
    let mut report = report(&rows, pipeline, scope, by, &cx.zone);
    report.leads_of = covers;
    if args.json {
        return print_json(out, &report);
    }
    if let Some(whose) = &report.leads_of {
        writeln!(out, "{whose}")?;
    }
    print(&report, pipeline, by, out)
}

/// Every figure of the funnel report; days shown in `zone`.
pub fn report<Z: TimeZone + Sync>(
    rows: &[LeadRow],
    pipeline: &Pipeline,
    scope: Scope,
    by: Option<GroupBy>,
    zone: &Z,
) -> Report {
    // Independent passes over the rows: run them on all cores.
    let ((tracking, previous), (open_pipeline, groups)) = rayon::join(
        || {
            let tracking = Tracking::compute(rows, pipeline, scope);
            let previous = Previous::compute(rows, pipeline, scope, &tracking, zone);
            (tracking, previous)
        },
        || {
            rayon::join(
                || open_pipeline(rows, pipeline, scope.now.with_timezone(zone).date_naive()),
                || by.map(|by| effectiveness(rows, &scope.period, scope.window, by)),
            )
        },
    );
    Report {
        tracking,
        previous,
        open_pipeline,
        groups_counted: groups.as_ref().map(|_| counted(scope.window)),
        groups,
        leads_of: None,
    }
}

/// Prints a report as the terminal funnel.
pub fn print(
    report: &Report,
    pipeline: &Pipeline,
    by: Option<GroupBy>,
    out: &mut impl Write,
) -> Result<()> {
    let before = report.previous.as_ref().map(|p| &p.tracking.funnel);
    print_funnel(&report.tracking.funnel, before, pipeline, out)?;
    print_durations(&report.tracking.durations, pipeline, out)?;
    print_outcomes(&report.tracking.outcomes, pipeline, out)?;
    if let Some(previous) = &report.previous {
        writeln!(out, "{}", headline(&report.tracking, previous))?;
    }
    print_open_pipeline(&report.open_pipeline, pipeline, out)?;
    if let (Some(groups), Some(by)) = (&report.groups, by) {
        print_groups(groups, (by, report.tracking.funnel.window), pipeline, out)?;
    }
    Ok(())
}

fn bar(count: u64, widest: u64) -> String {
    let length = (count * BAR_WIDTH).checked_div(widest).unwrap_or(0);
    let length = if count > 0 { length.max(1) } else { 0 };
    "█".repeat(usize::try_from(length).unwrap_or(0))
}

fn print_funnel(
    funnel: &Funnel,
    before: Option<&Funnel>,
    pipeline: &Pipeline,
    out: &mut impl Write,
) -> Result<()> {
    let last_day = funnel.period.to() - chrono::Duration::milliseconds(1);
    writeln!(
        out,
        "funnel {} to {}: {}\ncounting: {}\nwindow:   {}\n",
        local_date(funnel.period.from()),
        local_date(last_day),
        plural::counted(funnel.leads, "lead"),
        funnel.counting.label(),
        funnel.window.label()
    )?;
    let widest = funnel.stages.iter().map(|s| s.reached).max().unwrap_or(0);
    let mut headers = funnel_headers(before.is_some());
    // The bar goes after the reached count.
    headers.insert(3, "");
    let mut table = Table::new(&headers);
    for (index, stage) in funnel.stages.iter().enumerate() {
        let mut cells = funnel_cells(stage, before.and_then(|b| b.stages.get(index)), pipeline);
        // The bar goes after the reached count.
        cells.insert(3, bar(stage.reached, widest));
        table.add_row(cells);
    }
    table.print(out)?;
    for (index, stage) in funnel.stages.iter().enumerate() {
        if let (true, Some(next), Some(rate), Some(ideal)) = (
            stage.bottleneck,
            funnel.stages.get(index + 1),
            stage.to_next,
            stage.ideal_to_next,
        ) {
            writeln!(
                out,
                "bottleneck: {} -> {} at {rate} against an ideal {:.0}%",
                pipeline.stage_label(&stage.stage),
                pipeline.stage_label(&next.stage),
                ideal * 100.0
            )?;
        }
    }
    Ok(())
}

fn print_durations(durations: &Durations, pipeline: &Pipeline, out: &mut impl Write) -> Result<()> {
    writeln!(out)?;
    let mut table = Table::new(&["time in stage", "first stay", "all stays"]);
    for stage in &durations.stages {
        table.add_row(vec![
            pipeline.stage_label(&stage.stage),
            stage.first_stay.to_string(),
            stage.cumulative.to_string(),
        ]);
    }
    table.print(out)?;
    let mut cycles = vec![format!("creation to won {}", durations.to_won)];
    cycles.extend(durations.cycles.iter().map(|cycle| {
        format!(
            "{} cycle ({} -> {}) {}",
            cycle.name, cycle.from, cycle.to, cycle.days
        )
    }));
    writeln!(out, "{}", cycles.join("; "))?;
    Ok(())
}

fn print_open_pipeline(
    value: &OpenPipeline,
    pipeline: &Pipeline,
    out: &mut impl Write,
) -> Result<()> {
    writeln!(
        out,
        "open pipeline: {}, {} with an amount totalling {}, weighted by stage probability {}",
        plural::counted(value.leads, "lead"),
        value.with_amount,
        pipeline.amount(value.amount),
        pipeline.amount(value.weighted)
    )?;
    if !value.expected.is_empty() {
        let months: Vec<String> = value
            .expected
            .iter()
            .take(6)
            .map(|m| {
                let past = if m.past { ", past" } else { "" };
                format!(
                    "{} {} ({}{past})",
                    m.month,
                    m.leads,
                    pipeline.amount(m.weighted)
                )
            })
            .collect();
        writeln!(
            out,
            "expected closes (leads, weighted amount): {}",
            months.join("; ")
        )?;
    }
    Ok(())
}

fn print_outcomes(outcomes: &Outcomes, pipeline: &Pipeline, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "\nwin rate {} ({} won of {} closed; {} abandoned); deal size average {}, median {}",
        outcomes.win_rate,
        outcomes.won,
        outcomes.won + outcomes.lost,
        outcomes.abandoned,
        pipeline.amount_or_na(outcomes.average_deal),
        pipeline.amount_or_na(outcomes.median_deal)
    )?;
    if outcomes.loss_reasons.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = outcomes
        .loss_reasons
        .iter()
        .take(3)
        .map(|r| {
            format!(
                "{} {} ({})",
                pipeline.loss_reason_label(&r.reason),
                r.share.numerator,
                r.share
            )
        })
        .collect();
    writeln!(out, "top loss reasons: {}", reasons.join("; "))?;
    let stages: Vec<String> = outcomes
        .lost_at
        .iter()
        .map(|l| format!("{} {}", pipeline.stage_label(&l.stage), l.share.numerator))
        .collect();
    writeln!(out, "lost at: {}", stages.join("; "))?;
    Ok(())
}

fn print_groups(
    groups: &[GroupFigures],
    by: (GroupBy, Window),
    pipeline: &Pipeline,
    out: &mut impl Write,
) -> Result<()> {
    let figures = group_table(
        String::new(),
        format!("by {}", by.0.name()),
        pipeline,
        by,
        groups,
        usize::MAX,
    );
    writeln!(out, "\n{}", figures.caption)?;
    let mut table = Table::new(&figures.headers);
    for row in figures.rows {
        table.add_row(row);
    }
    table.print(out)?;
    Ok(())
}
