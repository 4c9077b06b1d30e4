//! The device store as the sync protocol sees it.

use fieldsync_store::{Store, StoreError};
use fieldsync_sync::{DeviceDocs, DocChanges, Heads, Stored};

/// The store, lent to a sync session; counts what it merged.
pub struct Replica<'a> {
    /// The store.
    pub store: &'a mut Store,
    /// Documents changed by what the relay sent.
    pub merged: usize,
}

impl DeviceDocs for Replica<'_> {
    type Error = StoreError;

    fn pending(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DocChanges>, StoreError> {
        Ok(self
            .store
            .unpushed(after, limit)?
            .into_iter()
            .map(outgoing)
            .collect())
    }

    fn whole(&mut self, id: &str) -> Result<Option<DocChanges>, StoreError> {
        Ok(self.store.whole(id)?.map(outgoing))
    }

    fn acknowledged(&mut self, stored: &[Stored]) -> Result<(), StoreError> {
        let stored: Vec<_> = stored
            .iter()
            .map(|entry| (entry.id.clone(), entry.heads.0.clone()))
            .collect();
        self.store.acknowledge(&stored)
    }

    fn heads(&mut self, ids: &[&str]) -> Result<Vec<Option<Heads>>, StoreError> {
        Ok(self
            .store
            .heads(ids)?
            .into_iter()
            .map(|heads| heads.map(Heads::new))
            .collect())
    }

    fn apply(&mut self, docs: &[DocChanges]) -> Result<Vec<String>, StoreError> {
        let incoming: Vec<(&str, &[u8])> = docs
            .iter()
            .map(|doc| (doc.id.as_str(), doc.data.as_slice()))
            .collect();
        let merged = self.store.merge_remote(&incoming)?;
        self.merged += merged.changed;
        Ok(merged.incomplete)
    }

    fn set_since(&mut self, seq: u64) -> Result<(), StoreError> {
        self.store.set_since(seq)
    }

    fn follow_feed(&mut self, feed: &str, behind: bool) -> Result<bool, StoreError> {
        self.store.follow_feed(feed, behind)
    }

    fn pending_of(&mut self, ids: &[String]) -> Result<Vec<DocChanges>, StoreError> {
        Ok(self
            .store
            .unpushed_of(ids)?
            .into_iter()
            .map(outgoing)
            .collect())
    }

    fn forget(&mut self, ids: &[String]) -> Result<(), StoreError> {
        self.store.forget(ids).map(|_| ())
    }

    fn set_aside(&mut self, ids: &[String], reason: &str) -> Result<(), StoreError> {
        self.store.put_aside(ids, reason)
    }
    fn held(&mut self) -> Result<Vec<String>, StoreError> {
        self.store.lead_ids()
    }
}

fn outgoing(out: fieldsync_store::Outgoing) -> DocChanges {
    DocChanges {
        id: out.id,
        heads: Heads::new(out.heads),
        data: out.data,
    }
}
