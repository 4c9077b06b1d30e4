//! `fieldsync demo`: build a store from the built-in sample team and summarise it.
//!
//! The store goes into --home (which must not hold a store yet) or a new folder under the
//! system's temporary folder, which is kept so the other commands can be tried on it.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use fieldsync_funnel::Counting;
use fieldsync_funnel::reach::reached;
use fieldsync_model::{LeadRow, Outcome, templates};
use fieldsync_sample::{SampleSpec, generate};
use fieldsync_store::Store;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::DemoArgs;
use crate::context::Context;
use crate::output::Table;

/// The member the demo store belongs to.
const DEMO_ME: &str = "manager";

/// Builds the sample store and prints a summary.
pub fn run(cx: &Context, args: &DemoArgs, out: &mut impl Write) -> Result<()> {
    if args.leads == 0 {
        bail!("leads: the demo needs at least one lead (--leads N)");
    }
    let home = match &cx.explicit_home {
        Some(home) => {
            if Context::store_path_in(home).exists() {
                bail!(
                    "{} already holds a store; the demo needs a home without one (omit --home to use a new temporary folder)",
                    home.display()
                );
            }
            home.clone()
        }
        None => private_temp_folder()
            .tempdir()
            .context("cannot make a temporary folder for the demo")?
            .keep(),
    };
    let path = Context::store_path_in(&home);
    let mut store = Store::init(&path, DEMO_ME, templates::b2b(), cx.store_options())?;
    let until = cx.event_time(args.until.as_deref())?;
    let spec = SampleSpec {
        leads: args.leads,
        seed: args.seed,
        now: until,
        days: 90,
    };

    let bar = ProgressBar::with_draw_target(Some(args.leads as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} leads")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("building the sample team");
    let started = Instant::now();
    store.create_leads(generate(&spec), |n| bar.set_position(n as u64))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let rows = store.rows()?;
    let followups: u64 = rows.iter().map(|r| u64::from(r.followups)).sum();
    writeln!(
        out,
        "sample team: {} leads, {followups} follow-ups, 3 reps, b2b pipeline, the 90 days to {} (seed {}), built in {:.1} s\n",
        rows.len(),
        crate::output::local_date(until),
        args.seed,
        elapsed.as_secs_f64()
    )?;
    print_stages(&store, &rows, out)?;
    writeln!(out)?;
    print_reps(&rows, out)?;
    drop(store);
    super::demo_team::run(&home, DEMO_ME, &path, until, &cx.store_options(), out)?;
    let report = write_report(cx, &path, &home, until, out)?;
    writeln!(
        out,
        "\nstore:  {} (the reps' devices are in {})\nreport: {} (open it in a browser; it needs no network)",
        path.display(),
        home.join("devices").display(),
        report.display()
    )?;
    writeln!(
        out,
        "try:   fieldsync --home {} lead list --owner lina --open\n       fieldsync --home {} conflicts",
        home.display(),
        home.join("devices").join("lina").display()
    )?;
    writeln!(
        out,
        "app:   fieldsync --home {} app\n       (lina's screens in your browser: today, the pipeline board, her leads; it works offline)",
        home.join("devices").join("lina").display()
    )?;
    Ok(())
}

/// Prints the team's funnel for the quarter of `until` from the manager's store after the
/// sync, and writes the quarter's HTML report beside the store; returns the report's path.
fn write_report(
    cx: &Context,
    path: &std::path::Path,
    home: &std::path::Path,
    until: chrono::DateTime<chrono::Utc>,
    out: &mut impl Write,
) -> Result<std::path::PathBuf> {
    use fieldsync_funnel::period::{Calendar, Span};
    use fieldsync_funnel::{Compare, Counting, Window};
    use fieldsync_report::{Format, Report, Scope, render};
    let store = Store::open(path, cx.store_options())?;
    let rows = store.rows()?;
    let pipeline = store.pipeline();
    let quarter = Span::containing(Calendar::Quarter, until, &cx.zone);
    let scope = Scope {
        period: quarter.period(&cx.zone),
        counting: Counting::PassThrough,
        window: Window::Activity,
        now: until,
        compare: quarter
            .compared(Compare::Previous)
            .map(|earlier| (Compare::Previous, earlier.period(&cx.zone))),
    };
    let by = Some(fieldsync_funnel::groups::GroupBy::Source);
    writeln!(out)?;
    super::funnel::print(
        &super::funnel::report(&rows, pipeline, scope, by, &cx.zone),
        pipeline,
        by,
        out,
    )?;
    let report = home.join("report.html");
    let html = render(
        &Report::compute(&rows, pipeline, scope, &cx.zone),
        pipeline,
        Format::Html,
    )?;
    super::destination::write_whole(&report, |file| Ok(file.write_all(html.as_bytes())?))?;
    Ok(report)
}

fn print_stages(store: &Store, rows: &[LeadRow], out: &mut impl Write) -> Result<()> {
    let pipeline = store.pipeline();
    let reached: Vec<Vec<Option<i64>>> = rows
        .iter()
        .filter(|r| !r.deleted)
        .map(|r| reached(r, pipeline, Counting::PassThrough))
        .collect();
    let mut stages = Table::new(&["stage", "open now", "ever reached (pass-through)"]);
    for (index, stage) in pipeline.stages.iter().enumerate() {
        let open = rows
            .iter()
            .filter(|r| !r.deleted && r.outcome == Outcome::Open && r.stage == stage.key)
            .count();
        let reached = reached.iter().filter(|at| at[index].is_some()).count();
        stages.add_row(vec![
            stage.label.both(),
            open.to_string(),
            reached.to_string(),
        ]);
    }
    stages.print(out)?;
    Ok(())
}

fn print_reps(rows: &[LeadRow], out: &mut impl Write) -> Result<()> {
    #[derive(Default)]
    struct Tally {
        leads: usize,
        open: usize,
        won: usize,
        lost: usize,
        abandoned: usize,
        won_cents: i64,
    }
    let mut by_rep: BTreeMap<String, Tally> = BTreeMap::new();
    for row in rows {
        // Abandoned leads are in the pool now; count them for the rep who created them.
        let rep = row.owner.as_deref().unwrap_or("(pool)");
        let tally = by_rep.entry(rep.to_owned()).or_default();
        tally.leads += 1;
        match row.outcome {
            Outcome::Open => tally.open += 1,
            Outcome::Won => {
                tally.won += 1;
                tally.won_cents += row.deal_amount.map_or(0, |m| m.cents());
            }
            Outcome::Lost => tally.lost += 1,
            Outcome::Abandoned => tally.abandoned += 1,
        }
    }
    let mut reps = Table::new(&[
        "owner",
        "leads",
        "open",
        "won",
        "lost",
        "abandoned",
        "won amount",
        "win rate",
    ]);
    for (rep, t) in by_rep {
        let closed = t.won + t.lost;
        let rate = if closed == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.0}%", 100.0 * t.won as f64 / closed as f64)
        };
        reps.add_row(vec![
            rep,
            t.leads.to_string(),
            t.open.to_string(),
            t.won.to_string(),
            t.lost.to_string(),
            t.abandoned.to_string(),
            fieldsync_model::Money::from_cents(t.won_cents).to_string(),
            rate,
        ]);
    }
    reps.print(out)?;
    Ok(())
}

/// A builder of the demo's folder: readable by its owner only, as every fieldsync home.
fn private_temp_folder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("fieldsync-demo-");
    #[cfg(unix)]
    builder
        .permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700));
    builder
}
