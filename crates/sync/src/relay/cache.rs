//! The documents a team keeps loaded, bounded by bytes across every team of a relay.
//!
//! Each team's cache is least recently used first out; all of them draw on one [`Budget`].
//! A document is weighed by an estimate of its size in memory, from the bytes it is stored
//! in. When the relay's total passes the budget, the
//! team that is adding a document gives up its own least recently used ones, so one team's
//! large documents cannot keep growing the relay, and a document larger than the whole budget
//! is used and dropped rather than kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::Automerge;
use lru::LruCache;

/// Bytes in memory per byte of saved document. Measured: 25-27 for the sample team's leads
/// (1.4 KB saved, about 35 KB loaded), 3 for a document holding one large text. The estimate
/// is that of the small documents teams have, so large ones count for more than they use and
/// leave the cache first.
pub const MEMORY_PER_SAVED_BYTE: usize = 25;

/// The memory every team's cache may use together.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// The bytes the caches hold now (estimated).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn over(&self) -> bool {
        self.used() > self.limit
    }
}

/// A loaded document and the bytes it is stored in.
#[derive(Debug)]
pub struct Loaded {
    /// The document.
    pub doc: Automerge,
    /// The bytes it was loaded from plus those stored for it since.
    pub saved: usize,
}

impl Loaded {
    /// A document loaded from `saved` bytes.
    pub fn new(doc: Automerge, saved: usize) -> Loaded {
        Loaded { doc, saved }
    }

    /// Its estimated size in memory, in bytes.
    fn weight(&self) -> usize {
        self.saved.saturating_mul(MEMORY_PER_SAVED_BYTE)
    }
}

/// One team's loaded documents.
pub struct DocCache {
    docs: LruCache<String, Loaded>,
    budget: Arc<Budget>,
}

impl DocCache {
    /// An empty cache drawing on `budget`.
    pub fn new(budget: Arc<Budget>) -> DocCache {
        DocCache {
            docs: LruCache::unbounded(),
            budget,
        }
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Takes document `id` out of the cache.
    pub fn take(&mut self, id: &str) -> Option<Loaded> {
        let loaded = self.docs.pop(id)?;
        self.budget
            .used
            .fetch_sub(loaded.weight(), Ordering::Relaxed);
        Some(loaded)
    }

    /// Keeps `loaded` as document `id`, the most recently used, then gives up this team's
    /// least recently used documents while the relay is over its budget.
    pub fn put(&mut self, id: String, loaded: Loaded) {
        self.budget
            .used
            .fetch_add(loaded.weight(), Ordering::Relaxed);
        if let Some((_, old)) = self.docs.push(id, loaded) {
            self.budget.used.fetch_sub(old.weight(), Ordering::Relaxed);
        }
        while self.budget.over() {
            let Some((_, dropped)) = self.docs.pop_lru() else {
                break;
            };
            self.budget
                .used
                .fetch_sub(dropped.weight(), Ordering::Relaxed);
        }
    }
}

impl Drop for DocCache {
    fn drop(&mut self) {
        let held: usize = self.docs.iter().map(|(_, loaded)| loaded.weight()).sum();
        self.budget.used.fetch_sub(held, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(bytes: usize) -> Loaded {
        Loaded::new(Automerge::new(), bytes)
    }

    #[test]
    fn teams_share_one_budget_and_the_adding_team_gives_way() {
        let budget = Budget::new(100 * MEMORY_PER_SAVED_BYTE);
        let mut east = DocCache::new(budget.clone());
        let mut west = DocCache::new(budget.clone());
        east.put("a".into(), doc(40));
        east.put("b".into(), doc(40));
        assert_eq!(budget.used(), 80 * MEMORY_PER_SAVED_BYTE);
        // West adds beyond the budget: it has nothing of its own to give up but this one.
        west.put("c".into(), doc(30));
        assert_eq!(west.len(), 0);
        // East reads "a" again, then adds: its least recently used, "b", goes.
        let a = east.take("a").unwrap();
        east.put("a".into(), a);
        east.put("d".into(), doc(30));
        assert!(east.take("b").is_none());
        assert_eq!(budget.used(), 70 * MEMORY_PER_SAVED_BYTE);
        drop(east);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_document_larger_than_the_budget_is_not_kept() {
        let budget = Budget::new(10);
        let mut team = DocCache::new(budget.clone());
        team.put("huge".into(), doc(1_000));
        assert_eq!(team.len(), 0);
        assert_eq!(budget.used(), 0);
    }
}
