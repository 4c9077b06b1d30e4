//! `fieldsync-relay backup`, `restore` and `compact`: a relay's members and every team's
//! documents in one zip file, taken consistently while the relay serves, and put back; and
//! the space freed in the team files given back.
//!
//! A backup taken while the relay runs is made by the relay itself (asked through its
//! [admin socket](crate::admin)): each team's worker copies its store as of one moment, between
//! two requests. A stopped relay's files are copied directly. A restore gives every team's
//! feed a new name, so devices that synced after the backup notice, start their feed over and
//! push back everything the backup lacks.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::Utc;
use fieldsync_store::private;

use crate::admin;
use crate::members::Members;
use crate::storage::{BoxedStore, TeamFiles};
use crate::team_store::{RedbFiles, RedbTeamStore};

/// Copies `data`'s members file into `dir` and lists each team's file number with where its
/// copy goes in `dir` (as `files` names them).
pub fn plan(data: &Path, dir: &Path, files: &dyn TeamFiles) -> anyhow::Result<Vec<(u32, PathBuf)>> {
    std::fs::copy(Members::path(data), Members::path(dir))
        .with_context(|| format!("cannot copy {}", Members::path(data).display()))?;
    let members = Members::load(dir)?;
    let mut teams: Vec<(u32, PathBuf)> = members
        .teams
        .values()
        .map(|team| (team.file, dir.join(files.relative_path(team.file))))
        .collect();
    teams.sort();
    for (_, path) in &teams {
        if let Some(parent) = path.parent() {
            private::create_dir(parent)?;
        }
    }
    Ok(teams)
}

/// Backs up the relay whose data directory is `data` into the zip file `out`; returns a line
/// saying what was saved.
pub fn backup(data: &Path, out: &Path) -> anyhow::Result<String> {
    let parent = out
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".fieldsync-backup-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let command = format!("backup {}", scratch.path().display());
    let teams = admin::run(data, &command, || {
        copy_stopped(data, scratch.path()).map(|teams| teams.to_string())
    })?;
    let partial = out.with_extension("partial");
    // One left by a backup that was killed is replaced.
    let _ = std::fs::remove_file(&partial);
    zip_folder(scratch.path(), &partial)?;
    std::fs::rename(&partial, out)?;
    let bytes = std::fs::metadata(out)?.len();
    Ok(format!(
        "backed up {teams} teams and their members to {} ({} KB)",
        out.display(),
        bytes.div_ceil(1024)
    ))
}

/// Copies a stopped relay's teams into `dir`.
fn copy_stopped(data: &Path, dir: &Path) -> anyhow::Result<usize> {
    let files = RedbFiles::new(data, prometheus::IntGauge::new("documents", "-")?);
    let teams = plan(data, dir, files.as_ref())?;
    for (file, to) in &teams {
        open_stopped(data, files.as_ref(), *file)?.snapshot(to)?;
    }
    Ok(teams.len())
}

/// Team file `file` of a relay that is not running.
fn open_stopped(data: &Path, files: &dyn TeamFiles, file: u32) -> anyhow::Result<BoxedStore> {
    files.open(file, 16 << 20).map_err(|err| {
        anyhow::anyhow!(
            "{err} (if the relay is running, its admin socket {} does not answer: is it this fieldsync's version?)",
            admin::socket_path(data).display()
        )
    })
}

/// Compacts every team file of the relay whose data directory is `data`, through the relay if
/// it is running; returns a line saying what it gave back.
pub fn compact(data: &Path) -> anyhow::Result<String> {
    let sizes = admin::run(data, "compact", || {
        let files = RedbFiles::new(data, prometheus::IntGauge::new("documents", "-")?);
        let (mut before, mut after) = (0, 0);
        for team in Members::load(data)?.teams.values() {
            let (was, is) = open_stopped(data, files.as_ref(), team.file)?.compact()?;
            before += was;
            after += is;
        }
        Ok(format!("{before} {after}"))
    })?;
    let mut sizes = sizes.split(' ').map(|n| n.parse::<u64>().unwrap_or(0));
    let (before, after) = (sizes.next().unwrap_or(0), sizes.next().unwrap_or(0));
    Ok(format!(
        "compacted the team files: {} KB before, {} KB after",
        before.div_ceil(1024),
        after.div_ceil(1024)
    ))
}

/// Writes every file under `dir` into a new zip file `out`, made readable by its owner only.
fn zip_folder(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new(BufWriter::new(private::create_file(out)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path
                .strip_prefix(dir)?
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            zip.start_file(name, options)?;
            io::copy(&mut File::open(&path)?, &mut zip)?;
        }
    }
    zip.finish()?
        .into_inner()
        .map_err(|err| err.into_error())?
        .sync_all()?;
    Ok(())
}

/// Restores the backup `from` into the data directory `data` of a stopped relay. What `data`
/// held is moved aside, into `data/replaced-TIME/`. Returns a line saying what was done.
pub fn restore(data: &Path, from: &Path) -> anyhow::Result<String> {
    if admin::ask(data, "ping").is_some() {
        bail!(
            "a relay is serving {}: stop it first, then restore",
            data.display()
        );
    }
    private::create_dir(data)?;
    let staging = tempfile::Builder::new()
        .prefix(".restoring-")
        .tempdir_in(data)?;
    unzip(from, staging.path())?;
    let members = Members::load(staging.path())
        .with_context(|| format!("{} holds no readable members file", from.display()))?;
    let files = RedbFiles::new(data, prometheus::IntGauge::new("documents", "-")?);
    for (name, team) in &members.teams {
        let path = staging.path().join(files.relative_path(team.file));
        if !path.is_file() {
            bail!(
                "{} lacks team '{name}' ({}); nothing was restored",
                from.display(),
                files.relative_path(team.file).display()
            );
        }
        RedbTeamStore::rename_feed(&path)?;
    }
    let aside = data.join(format!("replaced-{}", Utc::now().format("%Y%m%dT%H%M%SZ")));
    let mut moved = false;
    for name in ["members.json", "teams"] {
        if data.join(name).exists() {
            private::create_dir(&aside)?;
            std::fs::rename(data.join(name), aside.join(name))?;
            moved = true;
        }
        if staging.path().join(name).exists() {
            std::fs::rename(staging.path().join(name), data.join(name))?;
        }
    }
    let mut said = format!(
        "restored {} teams from {}; devices start their feed over at their next sync",
        members.teams.len(),
        from.display()
    );
    if moved {
        said.push_str(&format!(
            "; what {} held is in {}",
            data.display(),
            aside.display()
        ));
    }
    Ok(said)
}

/// Unpacks the backup `from` into `dir`, refusing any name but a backup's own.
fn unzip(from: &Path, dir: &Path) -> anyhow::Result<()> {
    let file = File::open(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .with_context(|| format!("{} is not a fieldsync-relay backup", from.display()))?;
    for index in 0..zip.len() {
        let mut part = zip.by_index(index)?;
        let name = part.name()?.into_owned();
        let ours = name == "members.json"
            || name
                .strip_prefix("teams/")
                .is_some_and(|file| !file.contains('/') && !file.starts_with('.'));
        if !ours {
            bail!(
                "{} holds {name:?}, which no backup holds; nothing was restored",
                from.display()
            );
        }
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            private::create_dir(parent)?;
        }
        io::copy(&mut part, &mut private::create_file(&path)?)?;
    }
    Ok(())
}
