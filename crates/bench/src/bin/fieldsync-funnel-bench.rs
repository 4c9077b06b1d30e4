//! The analytics benchmark: whole `fieldsync funnel`, `alerts` and `report` processes on a
//! warm store of the sample team, side by side with the same funnel as one SQL query in
//! SQLite over the same projection rows. Prints figures, asserts nothing.
//!
//! ```text
//! cargo build --release -p fieldsync -p fieldsync-bench
//! target/release/fieldsync-funnel-bench [LEADS [DIR]]   # default 100000 leads, a temp folder
//! ```
//! With DIR, the store (and the SQLite file) are kept there and reused by the next run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{Local, NaiveDate, Utc};
use fieldsync_bench::{BenchArgs, ms, percentile, time_process};
use fieldsync_funnel::{Compare, Counting, Period, Span, Window, alerts, stages};
use fieldsync_model::{LeadRow, Outcome, Pipeline, templates};
use fieldsync_report::{Format, Report, Scope, render};
use fieldsync_sample::{SampleSpec, generate};
use fieldsync_store::{Store, StoreOptions};
use rusqlite::{Connection, params};

/// Runs of each timed command.
const RUNS: usize = 10;

/// The funnel of [`fieldsync_funnel::stages`] under pass-through counting for a cohort: per
/// stage, open leads in it now, leads created in the period that reached it (were at it or
/// beyond by now), conversion to the next stage and from the first.
const FUNNEL_SQL: &str = "
WITH reach AS MATERIALIZED (
    SELECT MAX(s.idx) AS top
    FROM leads l
    JOIN stage_entries e ON e.lead = l.id
    JOIN stages s ON s.key = e.stage
    WHERE NOT l.deleted AND l.created_ms >= ?1 AND l.created_ms < ?2 AND e.at_ms <= ?3
    GROUP BY l.id
),
counts AS (
    SELECT s.idx, s.key,
        (SELECT COUNT(*) FROM leads l
            WHERE l.stage = s.key AND l.outcome = 'open' AND NOT l.deleted) AS open_now,
        (SELECT COUNT(*) FROM reach r WHERE r.top >= s.idx) AS reached
    FROM stages s
)
SELECT key, open_now, reached,
    CAST(LEAD(reached) OVER (ORDER BY idx) AS REAL) / NULLIF(reached, 0) AS to_next,
    CAST(reached AS REAL) / NULLIF(FIRST_VALUE(reached) OVER (ORDER BY idx), 0) AS from_first
FROM counts ORDER BY idx";

/// The store at `home`, built from the sample team if it is not there yet.
fn store(home: &Path, leads: usize) -> Result<()> {
    let path = home.join("store.redb");
    if path.exists() {
        println!("reusing the store in {}", home.display());
        return Ok(());
    }
    let spec = SampleSpec::quarter(leads, Utc::now());
    let mut store = Store::init(&path, "lina", templates::b2b(), StoreOptions::default())?;
    let started = Instant::now();
    store.create_leads(generate(&spec), |_| {})?;
    println!(
        "built the sample team in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The projection rows, read as `fieldsync` reads them.
fn read_rows(home: &Path) -> Result<(Vec<LeadRow>, Pipeline)> {
    let store = Store::open(&home.join("store.redb"), StoreOptions::default())?;
    Ok((store.rows()?, store.pipeline().clone()))
}

/// A SQLite file holding the same rows: leads, their stage entries and the pipeline's stages,
/// with the indexes the query needs.
fn sqlite(path: &Path, rows: &[LeadRow], pipeline: &Pipeline) -> Result<()> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let mut db = Connection::open(path)?;
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE stages (idx INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
         CREATE TABLE leads (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL,
             stage TEXT NOT NULL, outcome TEXT NOT NULL, deleted INTEGER NOT NULL,
             source TEXT NOT NULL, owner TEXT, followups INTEGER NOT NULL);
         CREATE TABLE stage_entries (lead INTEGER NOT NULL, stage TEXT NOT NULL, at_ms INTEGER NOT NULL);",
    )?;
    let tx = db.transaction()?;
    for (idx, stage) in pipeline.stages.iter().enumerate() {
        tx.execute(
            "INSERT INTO stages VALUES (?1, ?2)",
            params![idx as i64, stage.key],
        )?;
    }
    {
        let mut lead =
            tx.prepare("INSERT INTO leads VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
        let mut entry = tx.prepare("INSERT INTO stage_entries VALUES (?1, ?2, ?3)")?;
        for (id, row) in rows.iter().enumerate() {
            let outcome = match row.outcome {
                Outcome::Open => "open",
                Outcome::Won => "won",
                Outcome::Lost => "lost",
                Outcome::Abandoned => "abandoned",
            };
            lead.execute(params![
                id as i64,
                row.id.to_string(),
                row.created_ms,
                row.stage.as_str(),
                outcome,
                row.deleted,
                row.source.as_str(),
                row.owner.as_deref(),
                row.followups
            ])?;
            for step in &row.stage_path {
                entry.execute(params![id as i64, step.stage.as_str(), step.at_ms])?;
            }
            // A won lead reaches the win stage at its win (the row's path leaves that entry
            // out; see `fieldsync_funnel::reach`).
            if let (Outcome::Won, Some(at_ms), Some(win)) =
                (row.outcome, row.outcome_ms, pipeline.win_target())
            {
                entry.execute(params![id as i64, pipeline.stages[win].key.as_str(), at_ms])?;
            }
        }
    }
    tx.commit()?;
    db.execute_batch(
        "CREATE INDEX leads_created ON leads (created_ms);
         CREATE INDEX leads_stage ON leads (stage, outcome);
         CREATE INDEX entries_lead ON stage_entries (lead, at_ms, stage);
         ANALYZE;",
    )?;
    Ok(())
}

/// The funnel query's rows: stage, open now, reached.
fn query(db: &Connection, period: &Period, now_ms: i64) -> Result<Vec<(String, i64, i64)>> {
    let mut statement = db.prepare_cached(FUNNEL_SQL)?;
    let rows = statement
        .query_map(
            params![
                period.from().timestamp_millis(),
                period.to().timestamp_millis(),
                now_ms
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Median and 95th percentile of `RUNS` runs of `run`.
fn time(mut run: impl FnMut() -> Result<()>) -> Result<(Duration, Duration)> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 50), percentile(&times, 95)))
}

fn line(label: &str, (median, p95): (Duration, Duration)) {
    println!("{label:<58} median {:>9}  p95 {:>9}", ms(median), ms(p95));
}

fn main() -> Result<()> {
    let args = BenchArgs::from_env("LEADS")?;
    let (leads, home) = (args.count, args.dir.clone());
    store(&home, leads)?;
    let (rows, pipeline) = read_rows(&home)?;
    let followups: u64 = rows.iter().map(|r| u64::from(r.followups)).sum();
    println!(
        "fieldsync-funnel-bench: {} leads, {followups} follow-ups, in {}",
        rows.len(),
        home.display()
    );

    // The whole sample: every lead was created in the 90 days before it was built.
    let first = rows
        .iter()
        .map(|r| r.created_ms)
        .min()
        .context("no leads")?;
    let first: NaiveDate = chrono::DateTime::from_timestamp_millis(first)
        .context("a creation time")?
        .with_timezone(&Local)
        .date_naive();
    let last = Local::now().date_naive();
    let (from, to) = (first.to_string(), last.to_string());
    let period = Period::days(first, last, &Local);
    let span = ["--from", from.as_str(), "--to", to.as_str()];
    let with_span = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| (*a).to_owned())
            .chain(span.iter().map(|a| (*a).to_owned()))
            .collect()
    };
    let report_path = home.join("report.html");
    let report_out = report_path.to_str().context("a UTF-8 path")?;

    // Where a process's time goes, in this process.
    println!("\nin one process ({RUNS} runs each):");
    line(
        "open the store and read the rows",
        time(|| read_rows(&home).map(drop))?,
    );
    // As the commands count by default: beside the as many days just before.
    let earlier = Span::days(first, last)
        .compared(Compare::Previous)
        .map(|span| (Compare::Previous, span.period(&Local)));
    let scope = Scope {
        period,
        counting: Counting::PassThrough,
        window: Window::Cohort,
        now: Utc::now(),
        compare: earlier,
    };
    line(
        "the funnel",
        time(|| {
            stages::funnel(
                &rows,
                &pipeline,
                period,
                scope.now,
                scope.counting,
                scope.window,
            );
            Ok(())
        })?,
    );
    line(
        "the alerts",
        time(|| {
            alerts::alerts(
                &rows,
                &pipeline,
                scope.now,
                *Local::now().fixed_offset().offset(),
            );
            Ok(())
        })?,
    );
    line(
        "every figure of the report",
        time(|| {
            Report::compute(&rows, &pipeline, scope, &Local);
            Ok(())
        })?,
    );
    let report = Report::compute(&rows, &pipeline, scope, &Local);
    line(
        "the HTML report written from the figures",
        time(|| {
            render(&report, &pipeline, Format::Html)
                .map(drop)
                .map_err(Into::into)
        })?,
    );

    // Warm the page cache and check the commands succeed.
    time_process(&home, &["funnel"], 1)?;
    println!("\nwhole processes on the warm store ({RUNS} runs each):");
    let mut total = Duration::ZERO;
    for (label, args, counts) in [
        ("fieldsync funnel", with_span(&["funnel"]), true),
        (
            "fieldsync funnel --json",
            with_span(&["funnel", "--json"]),
            false,
        ),
        (
            "fieldsync funnel --by source",
            with_span(&["funnel", "--by", "source"]),
            false,
        ),
        ("fieldsync alerts", vec!["alerts".to_owned()], true),
        (
            "fieldsync report --format html --out FILE",
            with_span(&["report", "--format", "html", "--out", report_out]),
            true,
        ),
        (
            "fieldsync report --format md",
            with_span(&["report", "--format", "md"]),
            false,
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let figures = time_process(&home, &args, RUNS)?;
        line(label, figures);
        if counts {
            total += figures.0;
        }
    }
    println!(
        "{:<58} median {:>9}",
        "funnel + alerts + HTML report, three processes",
        ms(total)
    );

    // SQLite over the same rows.
    let db_path = home.join("rows.sqlite");
    let started = Instant::now();
    sqlite(&db_path, &rows, &pipeline)?;
    println!(
        "\nSQLite: loaded the same rows in {:.1} s ({} MB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&db_path)?.len() / 1_000_000
    );
    let now_ms = Utc::now().timestamp_millis();
    let db = Connection::open(&db_path)?;
    let sql_funnel = query(&db, &period, now_ms)?;
    line(
        "SQLite funnel query, open connection, warm cache",
        time(|| query(&db, &period, now_ms).map(drop))?,
    );
    line(
        "SQLite funnel query, new connection each time",
        time(|| query(&Connection::open(&db_path)?, &period, now_ms).map(drop))?,
    );

    // Both give the same funnel.
    let output = std::process::Command::new(fieldsync_bench::sibling_binary("fieldsync")?)
        .arg("--home")
        .arg(&home)
        .args(with_span(&["funnel", "--json"]))
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let ours: Vec<(String, i64, i64)> = json["funnel"]["stages"]
        .as_array()
        .context("stages")?
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap_or_default().to_owned(),
                s["current"].as_i64().unwrap_or(-1),
                s["reached"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    if ours != sql_funnel {
        bail!("the funnels differ:\nfieldsync {ours:?}\nSQLite    {sql_funnel:?}");
    }
    println!("\nboth give the same funnel (stage, open now, reached): {ours:?}");
    Ok(())
}
