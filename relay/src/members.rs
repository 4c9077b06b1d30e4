//! Teams and their members: `members.json` in the relay's data directory.
//!
//! The file is small, read whole, and replaced atomically (written beside and renamed) under an
//! exclusive lock on `members.lock`, so the admin commands can change it while the relay runs:
//! the relay notices the new file and closes the connections of removed members. Tokens are
//! 256 random bits shown once; the file keeps only their SHA-256 hashes (a token is a random
//! key, not a password, so a slow password hash would add nothing).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use fieldsync_sync::CloseReason;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use fieldsync_model::Role;

/// One member of a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's role.
    pub role: Role,
    /// SHA-256 of the member's token, hex.
    pub token_sha256: String,
    /// When the member was added.
    pub added_at: DateTime<Utc>,
    /// When the member was removed; a removed member is refused.
    pub removed_at: Option<DateTime<Utc>>,
}

/// One team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Number of the team's document file, `teams/N.redb`.
    pub file: u32,
    /// When the team was made.
    pub created_at: DateTime<Utc>,
    /// Members by name, removed ones included.
    pub members: BTreeMap<String, Member>,
    /// Whether the team's file was made (by `team create`, or at the first serve of a team an
    /// earlier release made): from then on a missing file is lost data, reported and never
    /// made again empty. Absent from earlier releases' files.
    #[serde(default)]
    pub file_made: bool,
}

impl Team {
    /// The members as the team document lists them: name, role, and whether removed.
    pub fn roster(&self) -> Vec<fieldsync_model::Member> {
        self.members
            .iter()
            .map(|(name, member)| fieldsync_model::Member {
                name: name.clone(),
                role: member.role,
                removed: member.removed_at.is_some(),
            })
            .collect()
    }
}

/// Every team of the relay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// Teams by name.
    pub teams: BTreeMap<String, Team>,
}

/// The SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    let length = name.chars().count();
    if name.trim() != name || length == 0 || length > 64 || name.chars().any(char::is_control) {
        bail!(
            "{what} name '{}' must be 1 to 64 characters with no control characters or surrounding spaces",
            name.escape_debug()
        );
    }
    Ok(())
}

impl Members {
    /// The file in `data`.
    pub fn path(data: &Path) -> PathBuf {
        data.join("members.json")
    }

    /// Reads the members of the relay in `data` (none if the file does not exist yet).
    pub fn load(data: &Path) -> anyhow::Result<Members> {
        let path = Members::path(data);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a members file", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Members::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Changes the members of the relay in `data` under an exclusive lock, replacing the file
    /// atomically; `change` may refuse, and then nothing is written.
    pub fn update<T>(
        data: &Path,
        change: impl FnOnce(&mut Members) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        fieldsync_store::private::create_dir(data)
            .with_context(|| format!("cannot create the data directory {}", data.display()))?;
        let lock = File::create(data.join("members.lock"))
            .with_context(|| format!("cannot create a lock file in {}", data.display()))?;
        lock.lock().context("cannot lock the members file")?;
        let mut members = Members::load(data)?;
        let result = change(&mut members)?;
        let path = Members::path(data);
        let partial = path.with_extension("json.partial");
        let _ = fs::remove_file(&partial);
        let mut file = fieldsync_store::private::create_file(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        file.write_all(&serde_json::to_vec_pretty(&members)?)?;
        file.sync_all()?;
        fs::rename(&partial, &path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(result)
    }

    /// Makes a team (its file is the caller's to make, before this is written).
    pub fn create_team(&mut self, name: &str, now: DateTime<Utc>) -> anyhow::Result<u32> {
        check_name("team", name)?;
        if self.teams.contains_key(name) {
            bail!("team '{name}' already exists");
        }
        let file = self
            .teams
            .values()
            .map(|team| team.file + 1)
            .max()
            .unwrap_or(1);
        self.teams.insert(
            name.to_owned(),
            Team {
                file,
                created_at: now,
                members: BTreeMap::new(),
                file_made: true,
            },
        );
        Ok(file)
    }

    /// The role of a member of a team, if they are one.
    pub fn role(&self, team: &str, member: &str) -> Option<Role> {
        Some(self.teams.get(team)?.members.get(member)?.role)
    }

    fn team_mut(&mut self, team: &str) -> anyhow::Result<&mut Team> {
        self.teams.get_mut(team).with_context(|| {
            format!("there is no team '{team}'; make it with `fieldsync-relay team create {team}`")
        })
    }

    /// Adds a member (or re-admits a removed one with a new token); returns the new token.
    pub fn add_member(
        &mut self,
        team: &str,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        check_name("member", name)?;
        let team_record = self.team_mut(team)?;
        if team_record
            .members
            .get(name)
            .is_some_and(|member| member.removed_at.is_none())
        {
            bail!("'{name}' is already a member of team '{team}'");
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = hex::encode(secret);
        team_record.members.insert(
            name.to_owned(),
            Member {
                role,
                token_sha256: token_hash(&token),
                added_at: now,
                removed_at: None,
            },
        );
        Ok(token)
    }

    /// Removes a member: their token stops working.
    pub fn remove_member(
        &mut self,
        team: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let team_record = self.team_mut(team)?;
        match team_record.members.get_mut(name) {
            Some(member) if member.removed_at.is_none() => {
                member.removed_at = Some(now);
                Ok(())
            }
            Some(_) => bail!("'{name}' was already removed from team '{team}'"),
            None => bail!("'{name}' is not a member of team '{team}'"),
        }
    }

    /// The team's file number if `member` is a current member of `team` whose token has the
    /// SHA-256 `token_sha256`; otherwise why not: `Removed` for a removed member's own
    /// token, `Unauthorized` for anything else (unknown team, member or token alike).
    pub fn authorize(
        &self,
        team: &str,
        member: &str,
        token_sha256: &str,
    ) -> Result<u32, CloseReason> {
        let record = self.teams.get(team).ok_or(CloseReason::Unauthorized)?;
        let found = record
            .members
            .get(member)
            .filter(|found| found.token_sha256 == token_sha256)
            .ok_or(CloseReason::Unauthorized)?;
        match found.removed_at {
            None => Ok(record.file),
            Some(_) => Err(CloseReason::Removed),
        }
    }

    /// A team, for listing.
    pub fn team(&self, team: &str) -> anyhow::Result<&Team> {
        self.teams.get(team).with_context(|| {
            format!("there is no team '{team}'; make it with `fieldsync-relay team create {team}`")
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_authorize_until_removed_and_only_hashes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        Members::update(dir.path(), |m| m.create_team("华东", now)).unwrap();
        let token =
            Members::update(dir.path(), |m| m.add_member("华东", "lina", Role::Rep, now)).unwrap();
        let text = fs::read_to_string(Members::path(dir.path())).unwrap();
        assert!(!text.contains(&token));
        let members = Members::load(dir.path()).unwrap();
        let hash = token_hash(&token);
        assert_eq!(members.authorize("华东", "lina", &hash), Ok(1));
        let unauthorized = Err(CloseReason::Unauthorized);
        assert_eq!(
            members.authorize("华东", "lina", &token_hash("guess")),
            unauthorized
        );
        assert_eq!(members.authorize("华北", "lina", &hash), unauthorized);
        Members::update(dir.path(), |m| m.remove_member("华东", "lina", now)).unwrap();
        let members = Members::load(dir.path()).unwrap();
        assert_eq!(
            members.authorize("华东", "lina", &hash),
            Err(CloseReason::Removed)
        );
        assert_eq!(
            members.authorize("华东", "lina", &token_hash("guess")),
            unauthorized
        );
    }

    #[test]
    fn refusals_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        Members::update(dir.path(), |m| m.create_team("east", now)).unwrap();
        let before = fs::read(Members::path(dir.path())).unwrap();
        for result in [
            Members::update(dir.path(), |m| m.create_team("east", now).map(|_| ())),
            Members::update(dir.path(), |m| m.create_team(" padded", now).map(|_| ())),
            Members::update(dir.path(), |m| m.remove_member("east", "nobody", now)),
            Members::update(dir.path(), |m| {
                m.add_member("west", "a", Role::Rep, now).map(|_| ())
            }),
        ] {
            assert!(result.is_err());
        }
        assert_eq!(fs::read(Members::path(dir.path())).unwrap(), before);
    }
}
