//! `fieldsync status`, `fieldsync compact` and `fieldsync repair`: what the store holds,
//! tidying it, and rebuilding it when it is damaged.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::args::JsonArg;
use crate::context::Context;
use crate::output::{Table, local_time, print_json};

#[derive(Serialize)]
struct Status {
    store: String,
    me: String,
    pipeline: String,
    stages: Vec<String>,
    #[serde(flatten)]
    stats: fieldsync_store::StoreStats,
    /// The relay joined, `null` before `fieldsync join`.
    sync: Option<SyncStatus>,
}

/// Where this device syncs and how far it is.
#[derive(Serialize)]
struct SyncStatus {
    relay: String,
    team: String,
    /// Leads with changes the relay has not acknowledged.
    unpushed: u64,
    /// The relay's feed position this device has applied.
    since: u64,
}

/// Prints the store's location, owner, pipeline and size.
pub fn status(cx: &Context, args: &JsonArg, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let status = Status {
        store: store.path().display().to_string(),
        me: store.me().to_owned(),
        pipeline: store.pipeline().template.clone(),
        stages: store
            .pipeline()
            .stages
            .iter()
            .map(|s| s.key.clone())
            .collect(),
        stats: store.stats()?,
        sync: match store.remote()? {
            Some(remote) => Some(SyncStatus {
                relay: remote.url,
                team: remote.team,
                unpushed: store.unpushed_count()?,
                since: store.since()?,
            }),
            None => None,
        },
    };
    if args.json {
        return print_json(out, &status);
    }
    let mut facts = Table::facts();
    let stages = store
        .pipeline()
        .stages
        .iter()
        .map(|s| s.label.both())
        .collect::<Vec<_>>()
        .join(" -> ");
    for (key, value) in [
        ("store", status.store.clone()),
        ("me", status.me.clone()),
        ("pipeline", format!("{}: {stages}", status.pipeline)),
        ("leads", status.stats.leads.to_string()),
        ("pending changes", status.stats.pending_changes.to_string()),
        ("file size", format!("{} bytes", status.stats.file_bytes)),
        ("created", local_time(status.stats.created_at)),
    ] {
        facts.add_row(vec![key.to_owned(), value]);
    }
    let sync = match &status.sync {
        Some(sync) => format!(
            "team '{}' at {}; {} leads with changes not yet pushed; feed position {}",
            sync.team, sync.relay, sync.unpushed, sync.since
        ),
        None => "not joined to a team (see `fieldsync join`)".to_owned(),
    };
    facts.add_row(vec!["sync".to_owned(), sync]);
    facts.print(out)?;
    Ok(())
}

/// Folds pending changes into documents and compacts the file.
pub fn compact(cx: &Context, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let before = store.stats()?.file_bytes;
    let resaved = store.compact()?;
    let after = store.stats()?.file_bytes;
    writeln!(
        out,
        "re-saved {resaved} documents; store file {before} -> {after} bytes"
    )?;
    Ok(())
}

/// Rebuilds a damaged store, says what was kept and lost, then syncs if the device has joined.
pub fn repair(cx: &Context, out: &mut impl Write) -> Result<()> {
    let path = Context::store_path_in(&cx.home);
    let repaired = fieldsync_store::Store::repair(&path, cx.store_options())?;
    let plural = fieldsync_model::plural::counted;
    writeln!(
        out,
        "repaired the store: kept {} ({} with changes not yet pushed, which go with the next sync); the damaged file is kept at {}",
        plural(repaired.kept as u64, "document"),
        repaired.pending,
        repaired.damaged.display()
    )?;
    if repaired.earlier_save {
        writeln!(
            out,
            "the damage reached the store's index, so it was read as of an earlier save: changes made on this device after that save, if any, are lost"
        )?;
    }
    if !repaired.unreadable.is_empty() {
        writeln!(
            out,
            "{} could not be read and come back from the relay: {}",
            plural(repaired.unreadable.len() as u64, "document"),
            repaired.unreadable.join(", ")
        )?;
    }
    if !repaired.lost_changes.is_empty() {
        writeln!(
            out,
            "lost: the changes this device had not pushed to {}",
            repaired.lost_changes.join(", ")
        )?;
    }
    if cx.open_store()?.remote()?.is_some()
        && let Err(err) = super::sync::run(cx, &crate::args::SyncArgs::default(), out)
    {
        writeln!(
            out,
            "could not sync now ({err:#}): run `fieldsync sync` when online to fetch the team's documents again"
        )?;
    }
    Ok(())
}
