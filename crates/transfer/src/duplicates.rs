//! Rows that repeat a lead: the same phone, the same email, or the same company and contact,
//! against the leads already stored and the rows above them in the file.
//!
//! The index lives in a redb file of the import's scratch folder, one transaction that is
//! never committed, so that memory does not grow with the file or the store: redb keeps a
//! bounded cache of its pages and writes the rest out. It keeps a 64-bit hash of each
//! normalised key rather than the text (the chance of two different keys colliding among a
//! million is about one in thirty million).

use std::fmt;
use std::path::Path;

use fieldsync_model::duplicate::{Match, keys};
use fieldsync_model::{Field, LeadId, LeadRow};
use redb::{Database, ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::TransferError;
use crate::draft::Draft;
use crate::error::OrScratch;

/// The lead a duplicate repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Original {
    /// A lead already in the store.
    Stored {
        /// Its id.
        id: LeadId,
        /// Its company.
        company: String,
    },
    /// An earlier row of the file.
    Row {
        /// Its line.
        line: u64,
        /// The id its lead is given.
        id: LeadId,
    },
}

impl Original {
    /// The id of the lead a merge goes into.
    pub fn id(&self) -> &LeadId {
        match self {
            Original::Stored { id, .. } | Original::Row { id, .. } => id,
        }
    }
}

/// A row that repeats a lead.
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    /// The row's line.
    pub line: u64,
    /// What it shares.
    pub matched: Match,
    /// What it repeats.
    pub original: Original,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.original {
            Original::Stored { id, company } => write!(
                f,
                "line {} has the {} of stored lead {} ({company})",
                self.line,
                self.matched,
                id.short()
            ),
            Original::Row { line, .. } => {
                write!(
                    f,
                    "line {} has the {} of line {line}",
                    self.line, self.matched
                )
            }
        }
    }
}

/// The keys one row or lead is found by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys(Vec<(Match, u64)>);

impl Keys {
    /// The keys `draft` is found by (computed apart from the index, so rows can be keyed on
    /// every core).
    pub fn of(draft: &Draft) -> Keys {
        Keys(keys(
            draft.text(Field::Phone),
            draft.text(Field::Email),
            draft.text(Field::Company),
            draft.text(Field::Contact),
        ))
    }
}

/// Key hash -> the number of the original it was first seen with.
const KEYS: TableDefinition<u64, u32> = TableDefinition::new("keys");

/// Original number -> the original (postcard).
const ORIGINALS: TableDefinition<u32, &[u8]> = TableDefinition::new("originals");

/// redb's page cache for the index: what it holds in memory at most, whatever the file's size.
const INDEX_CACHE_BYTES: usize = 16 << 20;

/// Every key seen so far, and whose it is.
pub struct DuplicateIndex<'txn> {
    keys: Table<'txn, u64, u32>,
    originals: Table<'txn, u32, &'static [u8]>,
    filed: u32,
    path: &'txn Path,
}

/// Runs `work` with an empty index kept in a new redb file at `path`, which is left for the
/// caller's scratch folder to remove.
pub fn with_index<T>(
    path: &Path,
    work: impl FnOnce(&mut DuplicateIndex<'_>) -> Result<T, TransferError>,
) -> Result<T, TransferError> {
    let db = Database::builder()
        .set_cache_size(INDEX_CACHE_BYTES)
        .create(path)
        .or_scratch(path)?;
    let txn = db.begin_write().or_scratch(path)?;
    let worked = {
        let mut index = DuplicateIndex {
            keys: txn.open_table(KEYS).or_scratch(path)?,
            originals: txn.open_table(ORIGINALS).or_scratch(path)?,
            filed: 0,
            path,
        };
        work(&mut index)
    };
    let aborted = txn.abort();
    let value = worked?;
    aborted.or_scratch(path)?;
    Ok(value)
}

impl DuplicateIndex<'_> {
    /// Files the stored leads of `rows` (deleted ones are not duplicated by a new row). A key
    /// two stored leads share stays with the first.
    pub fn insert_stored(&mut self, rows: &[LeadRow]) -> Result<(), TransferError> {
        for row in rows.iter().filter(|row| !row.deleted) {
            let keys = Keys(keys(&row.phone, &row.email, &row.company, &row.contact));
            let (_, vacant) = self.put(&keys)?;
            if vacant != 0 {
                self.keep(&Original::Stored {
                    id: row.id.clone(),
                    company: row.company.to_string(),
                })?;
            }
        }
        Ok(())
    }

    /// The lead the row on `line` with these keys repeats, if any; if none, its keys are filed
    /// under `original`. A row that repeats a lead has its other keys filed under that lead
    /// when it is `merged` into it, and nowhere otherwise.
    pub fn file(
        &mut self,
        keys: &Keys,
        line: u64,
        original: &Original,
        merged: bool,
    ) -> Result<Option<Duplicate>, TransferError> {
        let (found, vacant) = self.put(keys)?;
        let Some((matched, earlier)) = found else {
            if vacant != 0 {
                self.keep(original)?;
            }
            return Ok(None);
        };
        for (n, &(_, key)) in keys.0.iter().enumerate() {
            if vacant & (1 << n) == 0 {
                continue;
            }
            if merged {
                self.keys.insert(key, earlier).or_scratch(self.path)?;
            } else {
                self.keys.remove(key).or_scratch(self.path)?;
            }
        }
        let bytes = self
            .originals
            .get(earlier)
            .or_scratch(self.path)?
            .ok_or("the index lost a lead it filed")
            .or_scratch(self.path)?;
        let original = postcard::from_bytes(bytes.value()).or_scratch(self.path)?;
        Ok(Some(Duplicate {
            line,
            matched,
            original,
        }))
    }

    /// Files each key not filed yet under the next original; returns the first key already
    /// filed with its original's number, and a bit for each key that was not (bit `n` for the
    /// `n`th). One B-tree operation per new key, the usual case.
    fn put(&mut self, keys: &Keys) -> Result<(Option<(Match, u32)>, u8), TransferError> {
        let (mut found, mut vacant) = (None, 0u8);
        for (n, &(matched, key)) in keys.0.iter().enumerate() {
            let earlier = self
                .keys
                .insert(key, self.filed)
                .or_scratch(self.path)?
                .map(|earlier| earlier.value());
            match earlier {
                None => vacant |= 1 << n,
                Some(earlier) => {
                    self.keys.insert(key, earlier).or_scratch(self.path)?;
                    found = found.or(Some((matched, earlier)));
                }
            }
        }
        Ok((found, vacant))
    }

    /// Keeps `original` as the next original, the one [`Self::put`] filed keys under.
    fn keep(&mut self, original: &Original) -> Result<(), TransferError> {
        let bytes = postcard::to_stdvec(original).or_scratch(self.path)?;
        self.originals
            .insert(self.filed, bytes.as_slice())
            .or_scratch(self.path)?;
        self.filed += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_keys(phone: &str, email: &str) -> Keys {
        Keys(keys(phone, email, "", ""))
    }

    fn row(line: u64) -> Original {
        Original::Row {
            line,
            id: LeadId::random(),
        }
    }

    #[test]
    fn a_merged_row_files_its_new_keys_under_its_lead_and_a_left_out_row_files_none()
    -> Result<(), TransferError> {
        let folder = tempfile::tempdir().or_scratch(Path::new("."))?;
        let stored = Original::Stored {
            id: LeadId::random(),
            company: "杭州云栖科技".into(),
        };
        with_index(&folder.path().join("index.redb"), |index| {
            let found = index.file(&row_keys("13800138000", "a@x.cn"), 0, &stored, false)?;
            assert_eq!(found, None, "the first lead is new");

            // The same phone written another way; the row is left out, so its email is not filed.
            let left_out =
                index.file(&row_keys("+86 138 0013 8000", "b@x.cn"), 2, &row(2), false)?;
            assert_eq!(
                left_out.map(|dup| (dup.matched, dup.original)),
                Some((Match::Phone, stored.clone()))
            );
            assert_eq!(
                index.file(&row_keys("", "B@x.cn"), 3, &row(3), false)?,
                None
            );

            // A merged row's new email leads to the lead it was merged into.
            let merged = index.file(&row_keys("", "A@X.CN"), 4, &row(4), true)?;
            assert_eq!(merged.map(|dup| dup.matched), Some(Match::Email));
            let merged = index.file(&row_keys("13900139000", "a@x.cn"), 5, &row(5), true)?;
            assert_eq!(merged.map(|dup| dup.original), Some(stored.clone()));
            let found = index.file(&row_keys("139 0013 9000", ""), 6, &row(6), false)?;
            assert_eq!(found.map(|dup| dup.original), Some(stored.clone()));
            Ok(())
        })
    }
}
