//! A team's store in memory: the protocol core's tests, the fuzzing targets and any relay
//! that needs no durability use it. Nothing survives the process.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

use fieldsync_model::Access;

use super::{NewChanges, TeamStore};
use crate::message::{FeedEntry, Heads};

/// One team's documents and feed, in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryTeamStore {
    /// Names the feed; a restored copy gets a new one.
    pub feed_id: String,
    /// Each document's stored chunks, concatenated.
    pub docs: HashMap<String, Vec<u8>>,
    /// Sequence number -> document id (each document at its latest number).
    pub feed: BTreeMap<u64, String>,
    /// Each document's latest sequence number and heads.
    pub positions: HashMap<String, (u64, Heads)>,
    /// Each lead's access.
    pub access: HashMap<String, Access>,
    /// The feed head when each member's role last changed.
    pub role_changed: HashMap<String, u64>,
    /// The latest sequence number.
    pub head: u64,
    /// Commits made (for tests that count them).
    pub commits: usize,
}

impl TeamStore for MemoryTeamStore {
    type Error = Infallible;

    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, Infallible> {
        Ok(self.docs.get(id).cloned())
    }

    fn access(&mut self, id: &str) -> Result<Option<Access>, Infallible> {
        Ok(self.access.get(id).cloned())
    }

    fn role_changed_at(&mut self, member: &str) -> Result<u64, Infallible> {
        Ok(self.role_changed.get(member).copied().unwrap_or(0))
    }

    fn commit(
        &mut self,
        changes: &[NewChanges],
        role_changed: &[String],
    ) -> Result<Vec<u64>, Infallible> {
        self.commits += 1;
        let seqs = changes
            .iter()
            .map(|change| {
                self.head += 1;
                if let Some(access) = &change.access {
                    let access = access.clone().numbered(self.head);
                    self.access.insert(change.id.clone(), access);
                }
                if change.access.as_ref().is_some_and(|access| access.removed) {
                    self.docs.remove(&change.id);
                } else {
                    self.docs
                        .entry(change.id.clone())
                        .or_default()
                        .extend_from_slice(&change.data);
                }
                if let Some((old, _)) = self
                    .positions
                    .insert(change.id.clone(), (self.head, change.heads.clone()))
                {
                    self.feed.remove(&old);
                }
                self.feed.insert(self.head, change.id.clone());
                self.head
            })
            .collect();
        for member in role_changed {
            self.role_changed.insert(member.clone(), self.head);
        }
        Ok(seqs)
    }

    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, Infallible> {
        Ok(self
            .feed
            .range(after + 1..)
            .take(limit)
            .map(|(&seq, id)| {
                (
                    FeedEntry {
                        id: id.clone(),
                        seq,
                        heads: self.positions[id].1.clone(),
                    },
                    self.access.get(id).cloned(),
                )
            })
            .collect())
    }

    fn feed_head(&mut self) -> Result<u64, Infallible> {
        Ok(self.head)
    }

    fn feed_id(&mut self) -> Result<String, Infallible> {
        Ok(self.feed_id.clone())
    }
}
