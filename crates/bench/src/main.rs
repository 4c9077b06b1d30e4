//! Benchmarks for the offline pipeline; prints figures, asserts nothing.
//!
//! ```text
//! cargo build --release -p fieldsync -p fieldsync-bench
//! target/release/fieldsync-bench [LEADS]        # default 10000
//! ```
//! Measures, in a fresh temporary store:
//! 1. creating LEADS leads through `Store::create_lead`, the code path of `fieldsync lead add`
//!    (one durable transaction per lead), and through the batched path the demo uses;
//! 2. whole `fieldsync` processes on the LEADS-lead store: `lead list`, `lead list --json`,
//!    `lead show`, and `log` (each run repeatedly; median and 95th percentile);
//! 3. disk per lead for LEADS leads with five follow-ups each, and for LEADS leads of the
//!    sample team of `fieldsync demo`, before and after `compact`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use automerge::ScalarValue;
use chrono::{DateTime, Duration as Days, Utc};
use fieldsync_bench::{ms, time_process};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadHistory, LeadId, NewLead, Stamp, templates,
};
use fieldsync_store::{Store, StoreOptions};

fn text(value: &str) -> ScalarValue {
    ScalarValue::Str(value.into())
}

/// A lead shaped like the playbooks' sample rows, with `followups` follow-ups.
fn lead(n: usize, now: DateTime<Utc>, followups: usize) -> LeadHistory {
    // Leads come in one after another, as they do in a real store.
    let created = now - Days::days(60) + Days::seconds(n as i64);
    let by = ["lina", "wangwei", "zhangmin"][n % 3];
    let stamp = |at: DateTime<Utc>| Stamp {
        by: by.to_owned(),
        now: at,
    };
    let events = (0..followups)
        .map(|i| {
            let at = created + Days::days(i as i64 * 7 + 1);
            let draft = FollowUpDraft {
                at,
                channel: ContactChannel::Phone,
                summary: format!("第{i}次跟进：客户对方案A感兴趣，但在和竞品B比较价格 (call {n})"),
                feedback: Some("objection: price".into()),
                next: Some("send a comparison sheet".into()),
                due: Some(fieldsync_model::Due::Date(
                    (at + Days::days(2)).date_naive(),
                )),
                zone: chrono::Offset::fix(&chrono::Utc),
            };
            (Action::Log(draft), stamp(at))
        })
        .collect();
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&(n as u64).to_be_bytes());
    LeadHistory {
        id: LeadId::from_bytes(id),
        new: NewLead {
            fields: vec![
                (Field::Company, text(&format!("深圳市腾飞科技有限公司 {n}"))),
                (Field::Contact, text("张伟")),
                (Field::Title, text("采购总监")),
                (Field::Phone, text("+86 138 0013 8000")),
                (Field::Email, text("zhang.wei@example.com")),
                (Field::Industry, text("manufacturing")),
                (Field::Size, text("500-1000")),
                (Field::Source, text("trade-show")),
                (Field::Priority, text("high")),
                (Field::Amount, ScalarValue::Int(2500)),
            ],
            owner: Some(by.to_owned()),
            created_at: created,
            number: None,
        },
        creator: stamp(created),
        events,
    }
}

fn init(dir: &Path, name: &str) -> Result<(PathBuf, Store)> {
    let home = dir.join(name);
    let path = home.join("store.redb");
    let store = Store::init(&path, "lina", templates::b2b(), StoreOptions::default())?;
    Ok((home, store))
}

/// Builds a store from `histories` in one batch and prints build time and disk per lead,
/// before and after `compact`.
fn report_disk(
    dir: &Path,
    label: &str,
    leads: usize,
    histories: impl Iterator<Item = LeadHistory>,
) -> Result<()> {
    let (_home, mut store) = init(dir, &label.replace([' ', '/'], "-"))?;
    let started = Instant::now();
    store.create_leads(histories, |_| {})?;
    report_rate(&format!("build, {label}"), leads, started, "one commit");
    let per_lead = |bytes: u64| bytes as f64 / leads as f64;
    let stats = store.stats()?;
    store.compact()?;
    let compacted = store.stats()?;
    println!(
        "disk, {label}: file {:.0} B/lead (documents {:.0}, rows {:.0}); after compact {:.0} B/lead",
        per_lead(stats.file_bytes),
        per_lead(stats.document_bytes),
        per_lead(stats.row_bytes),
        per_lead(compacted.file_bytes)
    );
    Ok(())
}

/// Prints how long `leads` leads took since `started`, in total and per lead.
fn report_rate(label: &str, leads: usize, started: Instant, how: &str) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label:<42} {leads} leads in {secs:.2} s = {:.0} µs/lead ({how})",
        secs * 1e6 / leads as f64
    );
}

fn main() -> Result<()> {
    let leads: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()
        .context("LEADS must be a number")?
        .unwrap_or(10_000);
    let now = Utc::now();
    let dir = tempfile::tempdir()?;
    println!(
        "fieldsync-bench: {leads} leads, store in {}",
        dir.path().display()
    );

    // 1. Creation through the `lead add` path: one durable transaction per lead.
    let (home, mut store) = init(dir.path(), "single")?;
    let started = Instant::now();
    for n in 0..leads {
        store.create_lead(lead(n, now, 0))?;
    }
    report_rate(
        "create via lead-add path",
        leads,
        started,
        "one commit each",
    );
    drop(store);

    let (_batch_home, mut batch) = init(dir.path(), "batch")?;
    let started = Instant::now();
    batch.create_leads((0..leads).map(|n| lead(n, now, 0)), |_| {})?;
    report_rate("create batched", leads, started, "one commit");
    drop(batch);

    // 2. Whole processes on the store from step 1.
    let store = Store::open(&home.join("store.redb"), StoreOptions::default())?;
    let some_id = store
        .rows()?
        .first()
        .map(|r| r.id.to_string())
        .context("store is empty")?;
    drop(store);
    let prefix = &some_id[..8];
    for (label, args, runs) in [
        ("fieldsync lead list", vec!["lead", "list"], 20),
        (
            "fieldsync lead list --open --owner lina",
            vec!["lead", "list", "--open", "--owner", "lina"],
            20,
        ),
        (
            "fieldsync lead list --json",
            vec!["lead", "list", "--json"],
            5,
        ),
        ("fieldsync lead show ID", vec!["lead", "show", prefix], 30),
        (
            "fieldsync log ID ...",
            vec![
                "log",
                prefix,
                "--channel",
                "phone",
                "--summary",
                "电话跟进，客户确认预算",
            ],
            30,
        ),
        ("fieldsync status", vec!["status"], 30),
    ] {
        let (median, p95) = time_process(&home, &args, runs)?;
        println!(
            "{label:<42} median {:>9}  p95 {:>9}  ({runs} runs, {leads} leads)",
            ms(median),
            ms(p95)
        );
    }

    // 3. Disk per lead: synthetic leads with exactly five follow-ups, then the sample team of
    //    `fieldsync demo` (about five follow-ups, three moves and an outcome per lead).
    report_disk(
        dir.path(),
        "5 follow-ups/lead",
        leads,
        (0..leads).map(|n| lead(n, now, 5)),
    )?;
    let spec = fieldsync_sample::SampleSpec::quarter(leads, now);
    report_disk(
        dir.path(),
        "sample team",
        leads,
        fieldsync_sample::generate(&spec),
    )?;
    Ok(())
}
