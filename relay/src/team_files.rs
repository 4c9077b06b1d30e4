//! Each team's file: made with the team, and checked before the relay serves (the members
//! file is there if any team's file is, and every team has its file).
//!
//! Releases before this one made a team's file only when its first device came. At the first
//! serve by this release, each team not yet marked gets its file (if no device ever came) and
//! the mark ([`crate::members::Team::file_made`]); from then on a missing file is lost data,
//! reported, and never made again empty.

use std::path::Path;

use anyhow::{Context, bail};

use chrono::{DateTime, Utc};

use crate::members::Members;
use crate::storage::TeamFiles;
use crate::team_store::RedbFiles;

/// Makes team `name` in the relay's data directory `data`, its file first; returns the file's
/// number. Nothing is written if either fails.
pub fn create_team(data: &Path, name: &str, now: DateTime<Utc>) -> anyhow::Result<u32> {
    let files = RedbFiles::new(data, prometheus::IntGauge::new("documents", "-")?);
    Members::update(data, |members| {
        let file = members.create_team(name, now)?;
        files.make(file)?;
        Ok(file)
    })
}

/// Refuses a data directory whose members file is gone while team files remain, and makes and
/// marks the files of teams an earlier release made.
pub fn adopt_team_files(data: &Path, files: &dyn TeamFiles) -> anyhow::Result<()> {
    if !Members::path(data).exists() {
        let teams = data.join("teams");
        let held = std::fs::read_dir(&teams).map_or(0, |entries| entries.count());
        if held > 0 {
            bail!(
                "{} is missing while {} holds {held} team files: put the members file back from a backup (`fieldsync-relay restore --from FILE`); the relay will not serve the teams without it",
                Members::path(data).display(),
                teams.display()
            );
        }
        return Ok(());
    }
    if Members::load(data)?
        .teams
        .values()
        .all(|team| team.file_made)
    {
        return Ok(());
    }
    Members::update(data, |members| {
        for (name, team) in members.teams.iter_mut() {
            if !team.file_made {
                files
                    .make(team.file)
                    .with_context(|| format!("cannot make the file of team '{name}'"))?;
                team.file_made = true;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use fieldsync_sync::TeamStore;

    /// A members file as the previous release wrote it: no `file_made`.
    const PREVIOUS_RELEASE: &str = r#"{
  "teams": {
    "east": {"file": 1, "created_at": "2026-11-01T08:00:00Z", "members": {}},
    "west": {"file": 2, "created_at": "2026-11-02T08:00:00Z", "members": {}}
  }
}"#;

    #[test]
    fn teams_of_the_previous_release_get_their_files_made_and_marked_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Members::path(dir.path()), PREVIOUS_RELEASE).unwrap();
        let files = RedbFiles::new(dir.path(), prometheus::IntGauge::new("d", "-").unwrap());
        // East had a device, so its file exists; west never had one.
        files.make(1).unwrap();
        let feed_of = |file| files.open(file, 1 << 20).unwrap().feed_id().unwrap();
        let east_before = feed_of(1);
        assert!(files.open(2, 1 << 20).is_err(), "no file, and none made");

        adopt_team_files(dir.path(), files.as_ref()).unwrap();
        let members = Members::load(dir.path()).unwrap();
        assert!(members.teams.values().all(|team| team.file_made));
        assert!(files.open(2, 1 << 20).is_ok());
        assert_eq!(feed_of(1), east_before, "east's file is the same feed");

        // From now on a missing file stays missing.
        std::fs::remove_file(dir.path().join(files.relative_path(2))).unwrap();
        adopt_team_files(dir.path(), files.as_ref()).unwrap();
        assert!(files.open(2, 1 << 20).is_err());
    }

    #[test]
    fn a_missing_members_file_beside_team_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = RedbFiles::new(dir.path(), prometheus::IntGauge::new("d", "-").unwrap());
        adopt_team_files(dir.path(), files.as_ref()).unwrap();
        files.make(1).unwrap();
        let err = adopt_team_files(dir.path(), files.as_ref()).unwrap_err();
        assert!(
            err.to_string().contains("members.json is missing while"),
            "{err}"
        );
    }
}
