//! The import and handover benchmark: whole `fieldsync import` processes on CSV files of
//! ROWS/10, ROWS and 3×ROWS customers (time, and peak memory to show it does not grow with
//! the file once redb's bounded writer cache has filled), and whole `fieldsync handover`
//! processes moving 5,000 open leads. Prints figures, asserts nothing.
//!
//! ```text
//! cargo build --release -p fieldsync -p fieldsync-bench
//! target/release/fieldsync-transfer-bench [ROWS [DIR]]   # default 100000 rows, a temp folder
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::ScalarValue;
use chrono::Utc;
use fieldsync_bench::{BenchArgs, ms, percentile, sibling_binary};
use fieldsync_model::{Field, LeadHistory, LeadId, NewLead, Stamp, templates};
use fieldsync_sample::names;
use fieldsync_store::{Store, StoreOptions};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Leads a handover moves.
const HANDOVER_LEADS: usize = 5_000;
/// Runs of each handover.
const HANDOVER_RUNS: usize = 5;

/// A device home in `dir`, readable by its owner only, as fieldsync makes them (a wider one
/// makes every command print a warning).
fn private_home(dir: &Path) -> Result<tempfile::TempDir> {
    let home = tempfile::tempdir_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(home)
}

/// A CSV of `rows` distinct customers with the Chinese headers of a typical team sheet.
fn customers(path: &Path, rows: usize) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record([
        "客户名称",
        "联系人",
        "职位",
        "联系方式",
        "邮箱",
        "行业",
        "规模",
        "来源渠道",
        "预估金额",
        "备注",
    ])?;
    let sources = [
        "referral",
        "trade-show",
        "website",
        "search-ads",
        "event",
        "social",
    ];
    for n in 0..rows {
        let (contact, pinyin) = names::contact(&mut rng);
        writer.write_record([
            format!("{}{n}", names::company(&mut rng)),
            contact,
            names::title(&mut rng),
            format!("+86 139 {:04} {:04}", n / 10_000, n % 10_000),
            format!("{pinyin}.{n}@example.com"),
            names::industry(&mut rng),
            names::size(&mut rng).0,
            sources[n % sources.len()].to_owned(),
            format!("{}", 10_000 + (n % 90) * 1_000),
            "展会上留的名片，对数据同步感兴趣".to_owned(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Runs `fieldsync ARGS` on `home`; returns its wall time and its peak resident memory,
/// read from /proc while it runs.
fn run_watched(home: &Path, args: &[&str]) -> Result<(Duration, u64)> {
    let started = Instant::now();
    let mut child = Command::new(sibling_binary("fieldsync")?)
        .arg("--home")
        .arg(home)
        .args(args)
        .stdout(Stdio::null())
        .spawn()?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        {
            peak_kib = kib;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("fieldsync {} failed", args.join(" "));
    }
    Ok((elapsed, peak_kib))
}

fn init(home: &Path) -> Result<()> {
    let status = Command::new(sibling_binary("fieldsync")?)
        .arg("--home")
        .arg(home)
        .args(["init", "--me", "manager"])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("fieldsync init failed");
    }
    Ok(())
}

/// A store with [`HANDOVER_LEADS`] open leads of lina's, and one of someone else's.
fn handover_store(path: &Path) -> Result<()> {
    let now = Utc::now();
    let stamp = Stamp {
        by: "manager".into(),
        now,
    };
    let mut store = Store::init(path, "manager", templates::b2b(), StoreOptions::default())?;
    let leads = (0..=HANDOVER_LEADS).map(|n| LeadHistory {
        id: LeadId::random(),
        new: NewLead {
            fields: vec![
                (Field::Company, ScalarValue::Str(format!("客户{n}").into())),
                (Field::Contact, ScalarValue::Str("王芳".into())),
            ],
            owner: Some(
                if n < HANDOVER_LEADS {
                    "lina"
                } else {
                    "wangwei"
                }
                .into(),
            ),
            created_at: now,
            number: None,
        },
        creator: stamp.clone(),
        events: Vec::new(),
    });
    store.create_leads(leads, |_| {})?;
    Ok(())
}

fn main() -> Result<()> {
    let args = BenchArgs::from_env("ROWS")?;
    let (rows, dir) = (args.count, args.dir.clone());

    println!(
        "fieldsync-transfer-bench: import of CSV customer lists, handover of {HANDOVER_LEADS} leads, in {}\n",
        dir.display()
    );
    for size in [rows / 10, rows, rows * 3] {
        let file = dir.join(format!("customers-{size}.csv"));
        if !file.exists() {
            customers(&file, size)?;
        }
        let megabytes = std::fs::metadata(&file)?.len() as f64 / 1e6;
        let home = private_home(&dir)?;
        init(home.path())?;
        let file_arg = file.to_str().context("a UTF-8 path")?;
        let (elapsed, peak_kib) = run_watched(home.path(), &["import", file_arg])?;
        println!(
            "fieldsync import, {size:>7} rows ({megabytes:5.1} MB)   {:>10}   {:>8.0} rows/s   peak memory {:>6.1} MB",
            ms(elapsed),
            size as f64 / elapsed.as_secs_f64(),
            peak_kib as f64 / 1024.0
        );
    }

    let template = dir.join("handover-store.redb");
    if !template.exists() {
        handover_store(&template)?;
    }
    let mut times = Vec::with_capacity(HANDOVER_RUNS);
    for _ in 0..HANDOVER_RUNS {
        let home = private_home(&dir)?;
        std::fs::copy(&template, home.path().join("store.redb"))?;
        let (elapsed, _) = run_watched(
            home.path(),
            &["handover", "--from", "lina", "--to", "zhangmin"],
        )?;
        times.push(elapsed);
    }
    times.sort();
    println!(
        "\nfieldsync handover, {HANDOVER_LEADS} open leads ({HANDOVER_RUNS} runs)   median {}   slowest {}",
        ms(percentile(&times, 50)),
        ms(percentile(&times, 100))
    );
    Ok(())
}
