//! Documents from the relay this device could not read, set aside instead of stored.
//!
//! A document that does not load, or does not read as the lead (or team document) its id
//! says, is recorded here with the reason and is not asked for again: a sync that retried it
//! would never end. A later version of it that reads (a manager replaced it) is stored as
//! usual and its entry removed. Wiping the team's data removes these entries too.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::tables::QUARANTINE;
use crate::{Store, decode_json};

/// A document set aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAside {
    /// The document's id.
    #[serde(skip)]
    pub id: String,
    /// Why it could not be read.
    pub reason: String,
    /// When this device set it aside.
    pub at: DateTime<Utc>,
}

/// Records that `id` could not be read, for `reason`.
pub(crate) fn set_aside(txn: &WriteTransaction, id: &str, reason: &str) -> Result<(), StoreError> {
    let entry = SetAside {
        id: id.to_owned(),
        reason: reason.to_owned(),
        at: Utc::now(),
    };
    let bytes = serde_json::to_vec(&entry).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    txn.open_table(QUARANTINE)?.insert(id, bytes.as_slice())?;
    Ok(())
}

/// Removes `id`'s entry, if any: it was read after all.
pub(crate) fn release(txn: &WriteTransaction, id: &str) -> Result<(), StoreError> {
    txn.open_table(QUARANTINE)?.remove(id)?;
    Ok(())
}

/// Removes every entry.
pub(crate) fn clear(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(QUARANTINE)?.retain(|_, _| false)?;
    Ok(())
}

impl Store {
    /// Sets `ids` aside for `reason` (the relay's copy of each, sent whole, still lacks
    /// changes it depends on), in one transaction.
    pub fn put_aside(&mut self, ids: &[String], reason: &str) -> Result<(), StoreError> {
        self.write(|txn| {
            for id in ids {
                set_aside(txn, id, reason)?;
            }
            Ok(())
        })
    }

    /// The documents set aside, in id order.
    pub fn set_aside(&self) -> Result<Vec<SetAside>, StoreError> {
        let txn = self.handle()?.begin_read()?;
        let table = match txn.open_table(QUARANTINE) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(err) => return Err(err.into()),
        };
        table
            .iter()?
            .map(|entry| {
                let (id, bytes) = entry?;
                let mut aside: SetAside = decode_json(id.value(), bytes.value())?;
                aside.id = id.value().to_owned();
                Ok(aside)
            })
            .collect()
    }
}
