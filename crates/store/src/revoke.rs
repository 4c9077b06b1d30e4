//! Dropping what this device's member no longer sees: leads handed to someone else (the relay
//! revokes them), and, when the member is removed from the team, every lead and the team
//! document of the team.
//!
//! A lead is dropped whole, in one transaction: its document, incremental changes, row, heads
//! and sync marks. The sync session drops a revoked lead only once the relay has acknowledged
//! every change of this device's own to it, so nothing typed here is lost with it.

use fieldsync_model::TEAM_DOC_ID;

use crate::error::StoreError;
use crate::leads::LeadTables;
use crate::tables::{ACKED, HEADS, META, TEAM, UNPUSHED, meta_key};
use crate::{Store, put_meta};

/// What wiping a team's data removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wiped {
    /// Leads removed.
    pub leads: usize,
    /// Whether the team document was removed.
    pub team_document: bool,
}

impl Store {
    /// Removes these leads (and the team document, if named) and everything recorded about
    /// them, in one transaction. Ids this device does not hold are ignored.
    pub fn forget(&mut self, ids: &[String]) -> Result<usize, StoreError> {
        let (removed, team_removed) = self.write(|txn| {
            let mut removed = 0;
            let mut team_removed = false;
            {
                let mut tables = LeadTables::open(txn)?;
                for id in ids.iter().filter(|id| *id != TEAM_DOC_ID) {
                    if tables.contains(id)? {
                        tables.put_entries(id, None)?;
                        removed += 1;
                    }
                }
            }
            // A document set aside and then removed for the team is no longer waited on.
            for id in ids {
                crate::quarantine::release(txn, id)?;
            }
            if ids.iter().any(|id| id == TEAM_DOC_ID) {
                team_removed = forget_team(txn)?;
            }
            Ok((removed, team_removed))
        })?;
        if team_removed {
            self.refresh_pipeline()?;
        }
        Ok(removed)
    }

    /// Removes every lead and the team document, the relay this device joined (its token
    /// included) and the feed position: the member was removed from the team.
    pub fn wipe_team(&mut self) -> Result<Wiped, StoreError> {
        let wiped = self.write(|txn| {
            let mut tables = LeadTables::open(txn)?;
            let ids = tables.lead_ids()?;
            for id in &ids {
                tables.put_entries(id.as_str(), None)?;
            }
            drop(tables);
            let team_document = forget_team(txn)?;
            crate::quarantine::clear(txn)?;
            let mut meta = txn.open_table(META)?;
            meta.remove(meta_key::REMOTE)?;
            drop(meta);
            put_meta(txn, meta_key::SINCE, &0u64)?;
            Ok(Wiped {
                leads: ids.len(),
                team_document,
            })
        })?;
        self.refresh_pipeline()?;
        Ok(wiped)
    }
}

/// Removes the team document and its sync marks; returns whether there was one.
fn forget_team(txn: &redb::WriteTransaction) -> Result<bool, StoreError> {
    let mut team = txn.open_table(TEAM)?;
    let had = team.remove(TEAM_DOC_ID)?.is_some();
    drop(team);
    txn.open_table(HEADS)?.remove(TEAM_DOC_ID)?;
    txn.open_table(ACKED)?.remove(TEAM_DOC_ID)?;
    txn.open_table(UNPUSHED)?.remove(TEAM_DOC_ID)?;
    Ok(had)
}
