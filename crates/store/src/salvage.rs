//! `fieldsync repair`: a damaged store made sound again from what it still holds.
//!
//! Everything that still reads is read one document at a time, each read contained (a damaged
//! page may make the storage engine panic): who this device is, its relay, and every lead and
//! the team document whole, the changes not yet pushed included. A new store is built from
//! them beside the old one, with the same identity (so the relay and the team see the same
//! device), and set to start over: position 0 and every document to push, so the next sync
//! sends what the relay lacks and fetches everything else again. The new store then replaces
//! the damaged one in one rename; the damaged file is kept beside it for whoever wants to look.
//! A document that no longer reads comes back from the relay, unless it had changes that were
//! never pushed: those are lost, and named. When the damage reached redb's own index (nothing
//! reads as it is), a copy is read as redb repairs it, as of an earlier save: what this device
//! changed since then is lost, and the repair says so.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use chrono::Utc;
use fieldsync_model::TEAM_DOC_ID;
use redb::ReadableTable;

use crate::error::{OpenError, StoreError};
use crate::tables::{META, UNPUSHED, meta_key};
use crate::{Store, StoreOptions, put_raw_meta};

/// What a repair kept and lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repaired {
    /// Documents read whole and kept (leads and the team document).
    pub kept: usize,
    /// Of those, the ones with changes the relay had not acknowledged; the next sync sends them.
    pub pending: usize,
    /// Documents that could not be read; the relay sends them again.
    pub unreadable: Vec<String>,
    /// Of those, the ones with changes never pushed, which are lost.
    pub lost_changes: Vec<String>,
    /// Whether the damage reached the store's index, so that it was read as redb repaired a
    /// copy of it: as of an earlier save, without the changes made on this device since.
    pub earlier_save: bool,
    /// Where the damaged file was kept.
    pub damaged: PathBuf,
}

/// Why a store could not be repaired; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// Not even who this device is could be read.
    #[error(
        "nothing of the store at {path} can be read ({detail}); move it aside, then `fieldsync init` and `fieldsync join` again: the team's leads come back from the relay, but changes this device never pushed are lost"
    )]
    Unreadable {
        /// The store.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// Building or swapping in the new store failed.
    #[error("could not rebuild the store: {0}")]
    Rebuild(#[from] StoreError),
    /// Opening or creating a file failed.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Renaming the files failed.
    #[error("could not put the repaired store in place at {path}: {source}")]
    Io {
        /// The store.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Runs `read`, turning a panic of the storage engine into an error.
fn contained<T>(read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    catch_unwind(AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        Err(StoreError::Corrupt(format!(
            "the storage engine stopped: {}",
            crate::panic_message(panic.as_ref())
        )))
    })
}

/// What still reads of the damaged store.
struct Salvage {
    store: Store,
    earlier_save: bool,
    docs: Vec<(String, Vec<u8>)>,
    pending: BTreeSet<String>,
    unreadable: Vec<String>,
    /// Raw metadata values carried over as they are (lead numbers, the ticket, when made).
    meta: Vec<(&'static str, Vec<u8>)>,
}

/// A copy of the store at `path`, repaired by redb (every page checked; a damaged commit
/// given up for the one before it), or why not.
fn redb_repaired_copy(path: &Path) -> Result<PathBuf, String> {
    let copy = path.with_extension("redb.salvage");
    std::fs::copy(path, &copy).map_err(|err| err.to_string())?;
    let repaired = catch_unwind(|| {
        redb::Database::builder()
            .set_check_integrity_on_open(true)
            .create(&copy)
            .map(drop)
    });
    match repaired {
        Ok(Ok(())) => Ok(copy),
        Ok(Err(err)) => {
            let _ = std::fs::remove_file(&copy);
            Err(err.to_string())
        }
        Err(_) => {
            let _ = std::fs::remove_file(&copy);
            Err("the storage engine stopped".to_owned())
        }
    }
}

fn salvage(path: &Path, options: &StoreOptions) -> Result<Salvage, RepairError> {
    let unreadable = |detail: String| RepairError::Unreadable {
        path: path.to_owned(),
        detail,
    };
    let (store, earlier_save) = match Store::open_damaged(path, options.clone()) {
        Ok(store) => (store, false),
        // What the damage made unreachable as it is may read from redb's own repair of a copy,
        // which goes back to the last commit whose pages are whole.
        Err(as_is) => {
            let copy = redb_repaired_copy(path).map_err(|why| {
                unreadable(format!(
                    "{as_is}; redb could not repair a copy either: {why}"
                ))
            })?;
            let store = Store::open_damaged(&copy, options.clone()).map_err(unreadable)?;
            // The copy is open; it is removed once read (the repair builds a new store).
            let _ = std::fs::remove_file(&copy);
            (store, true)
        }
    };
    let (ids, pending) = contained(|| {
        let ids = store.lead_ids()?;
        let txn = store.handle()?.begin_read()?;
        let pending: BTreeSet<String> = txn
            .open_table(UNPUSHED)?
            .iter()?
            .map(|entry| entry.map(|(id, _)| id.value().to_owned()))
            .collect::<Result<_, _>>()?;
        Ok((ids, pending))
    })
    .map_err(|err| unreadable(format!("its list of leads: {err}")))?;
    let mut docs = Vec::new();
    let mut lost = Vec::new();
    for id in ids.iter().map(String::as_str).chain([TEAM_DOC_ID]) {
        match contained(|| store.whole(id)) {
            Ok(Some(doc)) => docs.push((doc.id, doc.data)),
            Ok(None) => {}
            Err(_) => lost.push(id.to_owned()),
        }
    }
    // A document that does not read as it is may read from redb's repair of a copy (as of the
    // save before the damage); one with changes not pushed is worth the try.
    if !earlier_save
        && lost.iter().any(|id| pending.contains(id))
        && let Ok(copy) = redb_repaired_copy(path)
    {
        if let Ok(older) = Store::open_damaged(&copy, options.clone()) {
            lost.retain(|id| match contained(|| older.whole(id)) {
                Ok(Some(doc)) => {
                    docs.push((doc.id, doc.data));
                    false
                }
                _ => true,
            });
        }
        let _ = std::fs::remove_file(&copy);
    }
    let meta = contained(|| {
        let txn = store.handle()?.begin_read()?;
        let table = txn.open_table(META)?;
        let mut kept = Vec::new();
        for key in [meta_key::NUMBERS, meta_key::TICKET, meta_key::CREATED_AT] {
            if let Some(value) = table.get(key)? {
                kept.push((key, value.value().to_vec()));
            }
        }
        Ok(kept)
    })
    .unwrap_or_default();
    Ok(Salvage {
        store,
        earlier_save,
        docs,
        pending,
        unreadable: lost,
        meta,
    })
}

impl Store {
    /// Rebuilds the damaged store at `path` from what still reads of it, as the module says.
    pub fn repair(path: &Path, options: StoreOptions) -> Result<Repaired, RepairError> {
        let salvage = salvage(path, &options)?;
        let remote = contained(|| salvage.store.remote()).unwrap_or(None);
        let me = salvage.store.me().to_owned();
        let actor = salvage.store.actor().clone();
        let pipeline = salvage.store.pipeline().clone();
        drop(salvage.store);

        let rebuilt = path.with_extension("redb.repairing");
        let _ = std::fs::remove_file(&rebuilt);
        let build = || -> Result<(), RepairError> {
            let mut store = Store::init_as(&rebuilt, &me, pipeline, actor, options.clone())?;
            if let Some(remote) = &remote {
                store.set_remote(remote)?;
            }
            let incoming: Vec<(&str, &[u8])> = salvage
                .docs
                .iter()
                .map(|(id, data)| (id.as_str(), data.as_slice()))
                .collect();
            store.merge_remote(&incoming)?;
            store.write(|txn| {
                for (key, value) in &salvage.meta {
                    put_raw_meta(txn, key, value)?;
                }
                Ok(())
            })?;
            store.start_over()?;
            Ok(())
        };
        if let Err(err) = build() {
            let _ = std::fs::remove_file(&rebuilt);
            return Err(err);
        }
        let damaged = path.with_extension(format!(
            "redb.damaged-{}",
            Utc::now().format("%Y%m%dT%H%M%SZ")
        ));
        let io = |source| RepairError::Io {
            path: path.to_owned(),
            source,
        };
        // The damaged file keeps a second name, then the rebuilt one replaces it in one step:
        // at every moment `path` is a whole store, the old or the new.
        std::fs::hard_link(path, &damaged).map_err(io)?;
        std::fs::rename(&rebuilt, path).map_err(io)?;
        let lost_changes = salvage
            .unreadable
            .iter()
            .filter(|id| salvage.pending.contains(*id))
            .cloned()
            .collect();
        Ok(Repaired {
            kept: salvage.docs.len(),
            pending: salvage
                .docs
                .iter()
                .filter(|(id, _)| salvage.pending.contains(id))
                .count(),
            unreadable: salvage.unreadable,
            lost_changes,
            earlier_save: salvage.earlier_save,
            damaged,
        })
    }
}
