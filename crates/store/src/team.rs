//! The team document in the store: the pipeline this device works to and the team's members.
//!
//! It is one Automerge document kept whole in the `team` table (it is small), with its heads
//! and its unpushed mark in the same tables as the leads', under the id [`TEAM_DOC_ID`], so the
//! sync protocol carries it like a lead. The pipeline the store hands out is the team
//! document's, or the template the store was made with while the team has never edited it.

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use fieldsync_model::well_formed::check_document;
use fieldsync_model::{Member, Pipeline, Roster, Stamp, TEAM_DOC_ID, TeamDoc, TeamError, heads};
use redb::{ReadableTable, WriteTransaction};

use crate::error::StoreError;
use crate::sync::Outgoing;
use crate::tables::{HEADS, META, TEAM, UNPUSHED, meta_key};
use crate::{Store, decode_json, put_meta};

/// What merging the relay's copy of the team document did.
pub(crate) enum TeamMerge {
    /// It depends on changes this device lacks; nothing was stored.
    Incomplete,
    /// Nothing new.
    Unchanged,
    /// New changes were stored.
    Changed,
    /// It does not load or is not a team document, for the reason given; nothing was stored.
    Unreadable(String),
}

/// The team document in `table`, if the device has one.
fn team_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    actor: &ActorId,
) -> Result<Option<TeamDoc>, StoreError> {
    let Some(bytes) = table.get(TEAM_DOC_ID)? else {
        return Ok(None);
    };
    let doc = Automerge::load(bytes.value())
        .map_err(|err| StoreError::Corrupt(format!("the team document does not load: {err}")))?;
    Ok(Some(TeamDoc::from_automerge(doc.with_actor(actor.clone()))))
}

/// The pipeline the store was made with, from the metadata table.
pub(crate) fn template_in(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<Pipeline, StoreError> {
    let bytes = meta
        .get(meta_key::PIPELINE)?
        .ok_or_else(|| StoreError::Corrupt("metadata 'pipeline' is missing".into()))?;
    decode_json(meta_key::PIPELINE, bytes.value())
}

/// The team document as of `txn`, if the device has one.
pub(crate) fn read_team(
    txn: &redb::ReadTransaction,
    actor: &ActorId,
) -> Result<Option<TeamDoc>, StoreError> {
    match txn.open_table(TEAM) {
        Ok(table) => team_in(&table, actor),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The pipeline in force as of `txn`: the team document's, or the store's template.
pub(crate) fn read_pipeline(
    txn: &redb::ReadTransaction,
    actor: &ActorId,
) -> Result<Pipeline, StoreError> {
    let template = template_in(&txn.open_table(META)?)?;
    Ok(match read_team(txn, actor)? {
        Some(team) => team.pipeline(&template),
        None => template,
    })
}

/// Stores the team document with its heads; a local change is also marked unpushed.
fn save_team(txn: &WriteTransaction, team: &TeamDoc, local: bool) -> Result<(), StoreError> {
    let doc = team.automerge();
    txn.open_table(TEAM)?
        .insert(TEAM_DOC_ID, doc.save().as_slice())?;
    txn.open_table(HEADS)?
        .insert(TEAM_DOC_ID, heads::to_bytes(&doc.get_heads()).as_slice())?;
    if local {
        txn.open_table(UNPUSHED)?.insert(TEAM_DOC_ID, ())?;
    }
    Ok(())
}

/// Prepares the team document for a device joining another team. A document this device only
/// edited alone goes to the new team (returns true: push it). One that came from another team
/// carries that team's members, so it is dropped; its pipeline becomes the store's template, so
/// the device works to the same pipeline until the new team's document arrives.
pub(crate) fn change_team(txn: &WriteTransaction, actor: &ActorId) -> Result<bool, StoreError> {
    let Some(team) = team_in(&txn.open_table(TEAM)?, actor)? else {
        return Ok(false);
    };
    if team.members().is_empty() {
        return Ok(true);
    }
    let pipeline = team.pipeline(&template_in(&txn.open_table(META)?)?);
    put_meta(txn, meta_key::PIPELINE, &pipeline)?;
    txn.open_table(TEAM)?.remove(TEAM_DOC_ID)?;
    txn.open_table(HEADS)?.remove(TEAM_DOC_ID)?;
    txn.open_table(UNPUSHED)?.remove(TEAM_DOC_ID)?;
    Ok(false)
}

/// Merges the relay's changes to the team document.
pub(crate) fn merge_team(
    txn: &WriteTransaction,
    data: &[u8],
    actor: &ActorId,
) -> Result<TeamMerge, StoreError> {
    let mut team =
        team_in(&txn.open_table(TEAM)?, actor)?.unwrap_or_else(|| TeamDoc::new(actor.clone()));
    let before = team.automerge().get_heads();
    if let Err(err) = team.automerge_mut().load_incremental(data) {
        return Ok(TeamMerge::Unreadable(format!(
            "its changes do not load: {err}"
        )));
    }
    if !team.automerge().get_missing_deps(&[]).is_empty() {
        return Ok(TeamMerge::Incomplete);
    }
    if let Err(err) = check_document(TEAM_DOC_ID, team.automerge()) {
        return Ok(TeamMerge::Unreadable(err.to_string()));
    }
    if team.automerge().get_heads() == before {
        return Ok(TeamMerge::Unchanged);
    }
    save_team(txn, &team, false)?;
    Ok(TeamMerge::Changed)
}

/// The team document's changes since `base` (all of it if `base` is empty), to push.
pub(crate) fn team_changes(
    txn: &redb::ReadTransaction,
    actor: &ActorId,
    base: &[ChangeHash],
) -> Result<Option<Outgoing>, StoreError> {
    Ok(read_team(txn, actor)?.map(|team| {
        let doc = team.automerge();
        let data = if base.is_empty() {
            doc.save()
        } else {
            doc.save_after(base)
        };
        Outgoing {
            id: TEAM_DOC_ID.to_owned(),
            heads: doc.get_heads(),
            data,
        }
    }))
}

impl Store {
    /// The team document, if this device has one (it has once the team's pipeline was edited
    /// here or the relay sent it).
    pub fn team(&self) -> Result<Option<TeamDoc>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        read_team(&txn, &self.meta.actor)
    }

    /// The team's members as the team document lists them (none before the first sync).
    pub fn members(&self) -> Result<Vec<Member>, StoreError> {
        Ok(self.team()?.map(|team| team.members()).unwrap_or_default())
    }

    /// The roster of `members` (from [`Store::members`]) as this device's member sees it.
    pub fn roster<'a>(&'a self, members: &'a [Member]) -> Roster<'a> {
        Roster {
            members,
            me: self.me(),
        }
    }

    /// Checks a lead's new owner against the roster (see [`Roster::check_owner`]).
    pub(crate) fn check_owner(&self, owner: Option<&str>) -> Result<(), StoreError> {
        if owner.is_some() {
            let members = self.members()?;
            self.roster(&members).check_owner("owner", owner)?;
        }
        Ok(())
    }

    /// Makes the team's pipeline `wanted`, recording only what differs in the team document,
    /// which is then pushed with the next sync. Returns whether anything changed. Only a
    /// manager may (or a device that has no roster yet).
    pub fn set_pipeline(&mut self, wanted: &Pipeline, stamp: &Stamp) -> Result<bool, StoreError> {
        // Checked before the file is opened for writing, which rewrites its header even when
        // nothing is committed: a refused edit leaves the store's bytes as they were.
        let members = self.members()?;
        self.roster(&members)
            .require_manager("change the pipeline")?;
        wanted.check().map_err(TeamError::from)?;
        let actor = self.meta.actor.clone();
        let (changed, pipeline) = self.write(|txn| {
            let template = template_in(&txn.open_table(META)?)?;
            let mut team = team_in(&txn.open_table(TEAM)?, &actor)?
                .unwrap_or_else(|| TeamDoc::new(actor.clone()));
            let changed = team.set_pipeline(wanted, &template, stamp)?;
            if changed {
                save_team(txn, &team, true)?;
            }
            Ok((changed, team.pipeline(&template)))
        })?;
        self.meta.pipeline = pipeline;
        Ok(changed)
    }

    /// Re-reads the pipeline after the team document changed.
    pub(crate) fn refresh_pipeline(&mut self) -> Result<(), StoreError> {
        let txn = self.handle()?.begin_read()?;
        self.meta.pipeline = read_pipeline(&txn, &self.meta.actor)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreOptions;
    use fieldsync_model::templates;

    fn stamp() -> Stamp {
        Stamp {
            by: "wang".into(),
            now: "2026-11-20T09:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn an_edited_pipeline_is_kept_pushed_and_merged_into_another_device() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.redb");
        let mut a = Store::init(&path, "wang", templates::b2b(), StoreOptions::default()).unwrap();
        assert!(a.team().unwrap().is_none());
        let mut wanted = a.pipeline().clone();
        wanted.stages[1].probability = 25;
        wanted.stages.retain(|stage| stage.key != "care");
        wanted.win_stage = None;
        assert!(a.set_pipeline(&wanted, &stamp()).unwrap());
        assert!(!a.set_pipeline(&wanted, &stamp()).unwrap(), "nothing new");
        drop(a);

        let a = Store::open(&path, StoreOptions::default()).unwrap();
        assert_eq!(a.pipeline().stages, wanted.stages);
        assert_eq!(a.pipeline().stage_label("care"), "account care 客户维护");
        let outgoing = a.unpushed(None, 10).unwrap();
        assert_eq!(outgoing.len(), 1);
        assert_eq!(outgoing[0].id, TEAM_DOC_ID);

        let other = dir.path().join("b.redb");
        let mut b = Store::init(&other, "lina", templates::b2b(), StoreOptions::default()).unwrap();
        let merged = b
            .merge_remote(&[(TEAM_DOC_ID, outgoing[0].data.as_slice())])
            .unwrap();
        assert!(merged.team_changed);
        assert_eq!(b.pipeline().stages, wanted.stages);
        assert_eq!(
            b.unpushed_count().unwrap(),
            0,
            "a merge is not a local edit"
        );
    }

    fn remote(team: &str) -> crate::Remote {
        crate::Remote {
            url: "ws://127.0.0.1:1/sync".into(),
            team: team.into(),
            token: "t".into(),
            ca_pem: None,
        }
    }

    #[test]
    fn joining_another_team_pushes_a_solo_pipeline_but_not_another_teams_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.redb");
        let mut store =
            Store::init(&path, "wang", templates::b2b(), StoreOptions::default()).unwrap();
        let mut wanted = store.pipeline().clone();
        wanted.stages[0].probability = 3;
        store.set_pipeline(&wanted, &stamp()).unwrap();
        store.set_remote(&remote("east")).unwrap();
        let pushed: Vec<String> = store
            .unpushed(None, 10)
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(pushed, [TEAM_DOC_ID]);

        // The east relay's roster arrives; then the device moves to team west.
        let mut relay_copy = store.team().unwrap().unwrap();
        let roster = [fieldsync_model::Member {
            name: "wang".into(),
            role: fieldsync_model::Role::Manager,
            removed: false,
        }];
        relay_copy.set_members(&roster, &stamp()).unwrap();
        let data = relay_copy.automerge().save();
        store
            .merge_remote(&[(TEAM_DOC_ID, data.as_slice())])
            .unwrap();
        assert_eq!(store.members().unwrap().len(), 1);
        store.set_remote(&remote("west")).unwrap();
        assert!(
            store.team().unwrap().is_none(),
            "east's members stay behind"
        );
        assert_eq!(store.unpushed(None, 10).unwrap().len(), 0);
        assert_eq!(
            store.pipeline().stages,
            wanted.stages,
            "the pipeline is kept"
        );
        drop(store);
        let store = Store::open(&path, StoreOptions::default()).unwrap();
        assert_eq!(store.pipeline().stages, wanted.stages);
    }
}
