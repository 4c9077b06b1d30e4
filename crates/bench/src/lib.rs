//! Helpers shared by the benchmark binaries: finding the programs they time, and figures.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

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
