//! `fieldsync import FILE`: check every row of a spreadsheet, report what is wrong by line and
//! column, then write every lead in one transaction (or nothing).

use std::io::Write;

use anyhow::{Result, anyhow};
use fieldsync_model::plural::counted;
use fieldsync_transfer::import::{
    ImportOptions, ImportReport, MAX_LISTED, OnDuplicate, Progress, import,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::{DuplicatesArg, ImportArgs};
use crate::context::Context;

/// Imports the file, or says why not.
/// Imports the file, or checks it with `--dry-run`; returns false when a dry run finds the
/// import would stop.
pub fn run(cx: &Context, args: &ImportArgs, out: &mut impl Write) -> Result<bool> {
    let options = ImportOptions {
        maps: args.maps.clone(),
        skip_invalid: args.skip_invalid,
        on_duplicate: match args.duplicates {
            DuplicatesArg::Refuse => OnDuplicate::Refuse,
            DuplicatesArg::Skip => OnDuplicate::Skip,
            DuplicatesArg::Merge => OnDuplicate::Merge,
        },
        dry_run: args.dry_run,
        owner: args
            .owner
            .as_deref()
            .map(|owner| fieldsync_model::validate::line("owner", owner))
            .transpose()?,
    };
    let mut store = cx.open_store()?;
    let stamp = cx.stamp(&store);
    let pipeline = store.pipeline().clone();
    let parse = cx.parse_context(&pipeline);
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let mut progress = |step: Progress| match step {
        Progress::Checking(rows) => bar.set_position(rows),
        Progress::Writing(done, total) => {
            if bar.length() != Some(total) {
                bar.set_length(total);
                bar.set_style(style("writing {bar:30} {pos}/{len} leads"));
            }
            bar.set_position(done);
        }
    };
    bar.set_style(style("checking {pos} rows"));
    let report = import(
        &mut store,
        &args.file,
        &options,
        &parse,
        &stamp,
        &mut progress,
    );
    bar.finish_and_clear();
    let report = report?;
    let refusal = report.refusal(&options);
    let file = args.file.display();
    // A refused import says everything on stderr; otherwise problems go with the summary.
    let mut stderr = std::io::stderr().lock();
    let to: &mut dyn Write = if refusal.is_some() && !args.dry_run {
        &mut stderr
    } else {
        out
    };
    list(to, &report)?;
    if !report.unmapped.is_empty() {
        writeln!(
            to,
            "not imported: the columns {} (map one with --map COLUMN=field)",
            report.unmapped.join(", ")
        )?;
    }
    match (args.dry_run, refusal) {
        (true, refusal) => {
            let columns: Vec<String> = report
                .columns
                .iter()
                .map(|(column, target)| format!("{column} → {target}"))
                .collect();
            writeln!(to, "columns: {}", columns.join(", "))?;
            writeln!(to, "dry run: {}; nothing was written", summary(&report))?;
            if let Some(refusal) = &refusal {
                writeln!(to, "the import would stop: {refusal}")?;
            }
            Ok(refusal.is_none())
        }
        (false, Some(refusal)) => Err(anyhow!("{file}: {refusal}")),
        (false, None) => {
            writeln!(to, "imported {file}: {}", summary(&report))?;
            Ok(true)
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// "1200 rows: 1180 new leads, 12 merged into existing leads, 5 duplicates, 3 invalid".
fn summary(report: &ImportReport) -> String {
    let mut parts = vec![counted(report.created, "new lead")];
    if report.merged > 0 {
        parts.push(format!("{} merged into existing leads", report.merged));
    }
    if report.duplicate_rows > 0 {
        parts.push(counted(report.duplicate_rows, "duplicate"));
    }
    if report.invalid_rows > 0 {
        parts.push(format!("{} invalid", report.invalid_rows));
    }
    format!("{}: {}", counted(report.rows, "row"), parts.join(", "))
}

/// Every listed problem and duplicate, one per line, and how many more there are.
fn list(to: &mut dyn Write, report: &ImportReport) -> Result<()> {
    for problem in &report.problems {
        writeln!(to, "{problem}")?;
    }
    if report.invalid_rows as usize > report.problems.len() && report.problems.len() == MAX_LISTED {
        writeln!(to, "(only the first {MAX_LISTED} problems are listed)")?;
    }
    for duplicate in &report.duplicates {
        writeln!(to, "duplicate: {duplicate}")?;
    }
    let unlisted = report
        .duplicate_rows
        .saturating_sub(report.duplicates.len() as u64);
    if unlisted > 0 {
        writeln!(to, "(and {} more)", counted(unlisted, "duplicate"))?;
    }
    Ok(())
}
