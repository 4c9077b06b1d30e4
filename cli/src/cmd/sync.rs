//! `fieldsync sync`: one pass (push, pull, exit) or, with `--watch`, a live connection that
//! reconnects with backoff and jitter.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Local;
use fieldsync_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{DiscardArgs, SyncArgs};
use crate::context::Context;
use fieldsync_client::pass::{Identity, pass, pass_removing};
use fieldsync_client::session::Event;
use fieldsync_client::watch::Watched;

/// The runtime a sync's one connection runs on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Syncs once, or watches.
pub fn run(cx: &Context, args: &SyncArgs, out: &mut impl Write) -> Result<()> {
    let identity = Identity::of(&cx.open_store()?)?;
    let open = || cx.open_store();
    let runtime = runtime()?;
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
    let mut skew = None;
    let result = pass(identity, open, &mut |event| match event {
        Event::Connected(measured) => skew = measured,
        Event::Progress(stats, merged) => bar.set_message(format!(
            "sent {} · received {merged} of {} offered",
            stats.sent, stats.offered
        )),
    })
    .await;
    bar.finish_and_clear();
    if let Some(skew) = skew {
        eprintln!("fieldsync: warning: {skew}");
    }
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
    let aside = store.set_aside()?;
    if !aside.is_empty() {
        let which: Vec<String> = aside
            .iter()
            .map(|doc| format!("{} ({})", doc.id, doc.reason))
            .collect();
        writeln!(
            out,
            "set aside {} from the relay that this device cannot read, and will not ask for again: {}",
            fieldsync_model::plural::counted(aside.len() as u64, "document"),
            which.join("; ")
        )?;
    }
    Ok(())
}

async fn watch(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    out: &mut impl Write,
) -> Result<()> {
    let mut on_event = |event: Watched<'_>| {
        let now = Local::now().format("%H:%M:%S");
        match event {
            Watched::Connected(skew) => {
                let _ = writeln!(out, "{now} connected to {}", identity.remote.url)
                    .and_then(|()| out.flush());
                if let Some(skew) = skew {
                    eprintln!("fieldsync: warning: {skew}");
                }
            }
            Watched::Moved { pushed, received } => {
                let _ = writeln!(out, "{now} pushed {pushed}, received {received}")
                    .and_then(|()| out.flush());
            }
            Watched::SetAside(documents) => {
                let _ = writeln!(
                    out,
                    "{now} set aside {} from the relay that this device cannot read (`fieldsync sync` names them)",
                    fieldsync_model::plural::counted(documents as u64, "document")
                )
                .and_then(|()| out.flush());
            }
            Watched::Retrying { error, wait } => eprintln!(
                "fieldsync: {error}; reconnecting in {:.1} s",
                wait.as_secs_f64()
            ),
        }
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // Another process's changes are found by the session's regular look; nothing wakes it.
    let nudge = tokio::sync::Notify::new();
    fieldsync_client::watch::watch(identity, open, &nudge, &mut on_event, stop).await?;
    writeln!(out, "stopped")?;
    Ok(())
}

/// Removes documents no device can read for the whole team, in one sync pass.
pub fn discard(cx: &Context, args: &DiscardArgs, out: &mut impl Write) -> Result<()> {
    let identity = Identity::of(&cx.open_store()?)?;
    let open = || cx.open_store();
    let (stats, _) = runtime()?.block_on(pass_removing(
        &identity,
        &open,
        args.ids.clone(),
        &mut |_| {},
    ))?;
    let plural = fieldsync_model::plural::counted;
    if !stats.removed.is_empty() {
        writeln!(
            out,
            "removed {} for the team: {}; the relay keeps a tombstone of each, and every device drops them at its next sync",
            plural(stats.removed.len() as u64, "document"),
            stats.removed.join(", ")
        )?;
    }
    if !stats.kept_readable.is_empty() {
        writeln!(
            out,
            "kept {}, which the relay reads as leads: delete a lead with `fieldsync lead delete ID`",
            stats.kept_readable.join(", ")
        )?;
    }
    let unknown: Vec<&String> = args
        .ids
        .iter()
        .filter(|id| !stats.removed.contains(id) && !stats.kept_readable.contains(id))
        .collect();
    if !unknown.is_empty() {
        writeln!(
            out,
            "nothing to remove for {}: the relay holds no such document, or it was removed already",
            unknown
                .iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    Ok(())
}
