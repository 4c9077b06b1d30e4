//! `fieldsync sync`: one pass (push, pull, exit) or, with `--watch`, a live connection that
//! reconnects with backoff and jitter.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Local;
use fieldsync_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;

use crate::args::SyncArgs;
use crate::context::Context;
use fieldsync_client::pass::{Identity, pass};
use fieldsync_client::session::{self, Event, StoreSlot};

/// First wait before reconnecting; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Syncs once, or watches.
pub fn run(cx: &Context, args: &SyncArgs, out: &mut impl Write) -> Result<()> {
    let identity = Identity::of(&cx.open_store()?)?;
    let open = || cx.open_store();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if args.watch {
        runtime.block_on(watch(&identity, &open, out))
    } else {
        runtime.block_on(once(&identity, &open, out))
    }
}

async fn once(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    out: &mut impl Write,
) -> Result<()> {
    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("connecting to {}", identity.remote.url));
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = pass(identity, open, &mut |event| {
        if let Event::Progress(stats, merged) = event {
            bar.set_message(format!(
                "sent {} · received {merged} of {} offered",
                stats.sent, stats.offered
            ));
        }
    })
    .await;
    bar.finish_and_clear();
    let (stats, merged) = result?;
    let store = open()?;
    let conflicts = store.rows()?.iter().filter(|row| row.conflicts > 0).count();
    let unpushed = store.unpushed_count()?;
    let mut line = format!(
        "synced with {}: sent {} documents, received {merged}, {} in {:.2} s",
        identity.remote.url,
        stats.sent,
        match conflicts {
            0 => "no conflicts".to_owned(),
            1 => "1 lead with a conflict (see `fieldsync conflicts`)".to_owned(),
            n => format!("{n} leads with conflicts (see `fieldsync conflicts`)"),
        },
        started.elapsed().as_secs_f64()
    );
    if unpushed > 0 {
        line.push_str(&format!(
            "; {unpushed} changed during the sync and go next time"
        ));
    }
    writeln!(out, "{line}")?;
    Ok(())
}

async fn watch(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    out: &mut impl Write,
) -> Result<()> {
    let mut failures = 0u32;
    loop {
        let mut connected = false;
        let mut reported = (0, 0);
        let mut slot = StoreSlot::new(open, false);
        let mut on_event = |event: Event<'_>| {
            let now = Local::now().format("%H:%M:%S");
            let line = match event {
                Event::Connected => {
                    connected = true;
                    Some(format!("{now} connected to {}", identity.remote.url))
                }
                Event::Progress(stats, merged) => {
                    let line = (stats.sent, merged) != reported;
                    let (sent, received) = (stats.sent - reported.0, merged - reported.1);
                    reported = (stats.sent, merged);
                    line.then(|| format!("{now} pushed {sent}, received {received}"))
                }
            };
            if let Some(line) = line {
                let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            }
        };
        let session = session::run(
            &identity.remote,
            &identity.me,
            &identity.device,
            &mut slot,
            true,
            &mut on_event,
        );
        let ended = tokio::select! {
            ended = session => ended,
            _ = tokio::signal::ctrl_c() => {
                writeln!(out, "stopped")?;
                return Ok(());
            }
        };
        let err = match ended {
            Ok(_) => continue,
            Err(err) if err.is_final() => return Err(err.into()),
            Err(err) => err,
        };
        failures = if connected {
            1
        } else {
            failures.saturating_add(1)
        };
        let wait = backoff(failures);
        eprintln!(
            "fieldsync: {err}; reconnecting in {:.1} s",
            wait.as_secs_f64()
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => {
                writeln!(out, "stopped")?;
                return Ok(());
            }
        }
    }
}

/// The wait before reconnect attempt `failures` (1 = first): doubling from
/// [`BACKOFF_START`] up to [`BACKOFF_MAX`], with a random half of it as jitter so devices
/// cut off together do not return together.
fn backoff(failures: u32) -> Duration {
    let ceiling = BACKOFF_START
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    ceiling.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for (failures, ceiling) in [(1, 500), (2, 1000), (3, 2000), (7, 30_000), (40, 30_000)] {
            let wait = backoff(failures).as_millis();
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{failures}: {wait}");
        }
    }
}
