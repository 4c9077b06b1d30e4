//! A manager's removal of documents no device can read: each becomes a tombstone (its access
//! marked removed, committed as a feed entry), which no one sees, every device that may hold it
//! is told to drop (live, or at its next pull), and to which nothing pushed is stored again. A
//! document that reads as a lead is kept: a lead is deleted as a change of its own, which the
//! team sees and can undo.

use fieldsync_model::well_formed::check_document;
use fieldsync_model::{Role, TEAM_DOC_ID};

use super::{NewChanges, Outcome, Refusal, Team, TeamStore, check_id};
use crate::announce::Viewer;
use crate::codec;
use crate::message::{Heads, Message, Remove, Removed};

impl<S: TeamStore> Team<S> {
    /// Whether the relay's copy of `id` loads and reads as a lead.
    fn reads_as_lead(&mut self, id: &str) -> Result<bool, Refusal<S::Error>> {
        let bytes = self.store.load(id).map_err(Refusal::Storage)?;
        Ok(bytes
            .and_then(|bytes| automerge::Automerge::load(&bytes).ok())
            .is_some_and(|doc| check_document(id, &doc).is_ok()))
    }

    /// Removes the documents of `remove` for `viewer`, a manager; answers which were removed.
    pub(super) fn remove(
        &mut self,
        remove: Remove,
        viewer: &Viewer,
    ) -> Result<Outcome, Refusal<S::Error>> {
        if viewer.role != Role::Manager {
            return Err(Refusal::NotManager(viewer.role));
        }
        let mut new_changes = Vec::new();
        let mut readable = Vec::new();
        for id in remove.ids {
            check_id(&id)?;
            if id == TEAM_DOC_ID {
                return Err(Refusal::Protocol(
                    "the team document cannot be removed".to_owned(),
                ));
            }
            let Some(before) = self.store.access(&id).map_err(Refusal::Storage)? else {
                continue;
            };
            if before.removed {
                continue;
            }
            if self.reads_as_lead(&id)? {
                readable.push(id);
                continue;
            }
            self.cache.take(&id);
            let after = fieldsync_model::Access {
                removed: true,
                ..before.clone()
            };
            new_changes.push((
                NewChanges {
                    id,
                    data: Vec::new(),
                    heads: Heads::default(),
                    access: Some(after),
                },
                Some(before),
                false,
            ));
        }
        let ids: Vec<String> = new_changes.iter().map(|(c, _, _)| c.id.clone()).collect();
        let broadcast = if new_changes.is_empty() {
            Vec::new()
        } else {
            self.commit(new_changes, Vec::new(), &[])?
        };
        Ok(Outcome {
            reply: vec![codec::encode(&Message::Removed(Removed {
                request: remove.request,
                ids,
                readable,
            }))],
            broadcast,
            ..Outcome::default()
        })
    }
}
