//! Helpers shared by the benchmark binaries: their arguments, finding the programs they time,
//! and figures.

pub mod relay;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The arguments `[COUNT [DIR]]` every benchmark takes: how many leads or rows (default
/// 100,000), and the folder to work in, kept for reuse if given, else a temporary one.
pub struct BenchArgs {
    /// How many leads or rows.
    pub count: usize,
    /// The folder to work in (made if missing).
    pub dir: PathBuf,
    /// The temporary folder, removed when this is dropped, if no DIR was given.
    _scratch: Option<tempfile::TempDir>,
}

impl BenchArgs {
    /// Reads `[COUNT [DIR]]` from the command line; `what` names COUNT in errors.
    pub fn from_env(what: &str) -> Result<BenchArgs> {
        let mut args = std::env::args().skip(1);
        let count = args
            .next()
            .map(|n| n.parse())
            .transpose()
            .with_context(|| format!("{what} must be a number"))?
            .unwrap_or(100_000);
        let (dir, scratch) = match args.next() {
            Some(dir) => (PathBuf::from(dir), None),
            None => {
                let scratch = tempfile::tempdir()?;
                (scratch.path().to_owned(), Some(scratch))
            }
        };
        std::fs::create_dir_all(&dir)?;
        Ok(BenchArgs {
            count,
            dir,
            _scratch: scratch,
        })
    }
}

/// A binary built beside this one (`target/release/NAME`).
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} not found: build it first with `cargo build --release -p fieldsync -p fieldsync-relay -p fieldsync-bench`",
            path.display()
        );
    }
    Ok(path)
}

/// A new lead document `id` holding what the relay requires of a lead, for the benchmarks'
/// raw-protocol devices to change.
pub fn lead_doc(id: &str) -> Result<automerge::AutoCommit> {
    let mut doc = automerge::AutoCommit::new();
    fieldsync_model::well_formed::put_skeleton(&mut doc, id, "bench")?;
    Ok(doc)
}

/// A duration in milliseconds, one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The `p`th percentile (0-100) of sorted `values`.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// Median and 95th percentile of `runs` runs of the `fieldsync ARGS` process on `home`.
pub fn time_process(home: &Path, args: &[&str], runs: usize) -> Result<(Duration, Duration)> {
    let binary = sibling_binary("fieldsync")?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let status = Command::new(&binary)
            .arg("--home")
            .arg(home)
            .args(args)
            .stdout(Stdio::null())
            .status()?;
        times.push(started.elapsed());
        if !status.success() {
            bail!("fieldsync {} failed", args.join(" "));
        }
    }
    times.sort();
    Ok((percentile(&times, 50), percentile(&times, 95)))
}
