//! `fieldsync import`: the whole file is checked first (every row validated, every duplicate
//! found) without writing; only then, unless something blocks it, is it read again and every
//! lead written in one store transaction. Memory holds one row at a time plus the duplicate
//! index, never the file.

use std::path::Path;

use chrono::TimeZone;
use fieldsync_model::{LeadHistory, LeadId, ParseContext, Stamp};
use fieldsync_store::{BUILD_BATCH, LeadBatch, Store};
use rayon::prelude::*;

use crate::TransferError;
use crate::columns::Mapping;
use crate::draft::{Draft, Drafter, Problem};
use crate::duplicates::{Duplicate, DuplicateIndex, Keys, Original};
use crate::sheet::{self, SheetRow};

/// Problems and duplicates listed in a report; the rest are counted.
pub const MAX_LISTED: usize = 50;

/// What to do with a row that repeats a lead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Import nothing and list them.
    #[default]
    Refuse,
    /// Leave them out.
    Skip,
    /// Write their values into the lead they repeat.
    Merge,
}

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `COLUMN=field` overrides of the header matching.
    pub maps: Vec<String>,
    /// Import the valid rows and leave the invalid ones out, instead of importing nothing.
    pub skip_invalid: bool,
    /// What to do with duplicates.
    pub on_duplicate: OnDuplicate,
    /// Check and report only.
    pub dry_run: bool,
}

/// What an import found and did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Rows read below the header.
    pub rows: u64,
    /// Leads created (or that would be, in a dry run or a refused import).
    pub created: u64,
    /// Rows merged into an existing lead (or that would be).
    pub merged: u64,
    /// Rows with at least one problem.
    pub invalid_rows: u64,
    /// The first [`MAX_LISTED`] problems.
    pub problems: Vec<Problem>,
    /// Rows that repeat a lead.
    pub duplicate_rows: u64,
    /// The first [`MAX_LISTED`] of them.
    pub duplicates: Vec<Duplicate>,
    /// Headers of columns nothing was imported from.
    pub unmapped: Vec<String>,
    /// Whether the store was written.
    pub written: bool,
}

impl ImportReport {
    /// Why nothing may be imported, with what to do about it.
    pub fn refusal(&self, options: &ImportOptions) -> Option<String> {
        let rows = |count: u64| {
            if count == 1 {
                "1 row".to_owned()
            } else {
                format!("{count} rows")
            }
        };
        if self.invalid_rows > 0 && !options.skip_invalid {
            Some(format!(
                "{} invalid: nothing was imported (fix them, or give --skip-invalid to import the others)",
                if self.invalid_rows == 1 {
                    "1 row is".to_owned()
                } else {
                    format!("{} are", rows(self.invalid_rows))
                }
            ))
        } else if self.duplicate_rows > 0 && options.on_duplicate == OnDuplicate::Refuse {
            Some(format!(
                "{} {} leads: nothing was imported (give --duplicates skip to leave them out, or --duplicates merge to update those leads)",
                rows(self.duplicate_rows),
                if self.duplicate_rows == 1 {
                    "repeats"
                } else {
                    "repeat"
                }
            ))
        } else {
            None
        }
    }
}

/// Progress, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Rows checked so far.
    Checking(u64),
    /// Rows written so far, of the rows to write.
    Writing(u64, u64),
}

/// What becomes of one row.
enum Fate<'a> {
    Create(&'a Draft, &'a LeadId),
    Merge(&'a Draft, &'a LeadId),
    Invalid(Vec<Problem>),
    Duplicate(Duplicate),
}

/// Rows drafted together on every core before their fates are decided in order.
const DRAFT_CHUNK: usize = 1024;

/// Reads the file once, deciding what becomes of each row. Both passes walk the file with
/// this one function, so the write does exactly what the check reported. Rows are checked
/// [`DRAFT_CHUNK`] at a time on every core; duplicates are then found row by row, in order.
fn walk<Tz: TimeZone + Sync>(
    path: &Path,
    options: &ImportOptions,
    parse: &ParseContext<'_, Tz>,
    me: &str,
    mut index: DuplicateIndex,
    mut each: impl FnMut(Fate<'_>) -> Result<(), TransferError>,
) -> Result<Mapping, TransferError> {
    let mut mapping: Option<Mapping> = None;
    let mut chunk: Vec<SheetRow> = Vec::with_capacity(DRAFT_CHUNK);
    let mut decide_chunk = |mapping: &Mapping, chunk: &mut Vec<SheetRow>| {
        let drafter = Drafter {
            mapping,
            parse: ParseContext {
                pipeline: parse.pipeline,
                now: parse.now,
                zone: parse.zone,
            },
            me,
        };
        let drafts: Vec<Result<(Draft, Keys), Vec<Problem>>> = chunk
            .par_iter()
            .map(|row| {
                let draft = drafter.draft(row)?;
                let keys = DuplicateIndex::keys_of(&draft);
                Ok((draft, keys))
            })
            .collect();
        chunk.clear();
        drafts
            .into_iter()
            .try_for_each(|draft| decide(draft, &mut index, options, &mut each))
    };
    sheet::read_rows(path, |row: &SheetRow| -> Result<(), TransferError> {
        let Some(mapping) = &mapping else {
            mapping = Some(Mapping::new(&row.cells, &options.maps)?);
            return Ok(());
        };
        chunk.push(row.clone());
        if chunk.len() == DRAFT_CHUNK {
            decide_chunk(mapping, &mut chunk)?;
        }
        Ok(())
    })?;
    let mapping = mapping.ok_or_else(|| TransferError::Read {
        path: path.display().to_string(),
        reason: "the file is empty: it needs a header row, then one row per lead".to_owned(),
    })?;
    decide_chunk(&mapping, &mut chunk)?;
    Ok(mapping)
}

/// Decides one drafted row's fate against the leads and rows seen so far, and files it.
fn decide(
    drafted: Result<(Draft, Keys), Vec<Problem>>,
    index: &mut DuplicateIndex,
    options: &ImportOptions,
    each: &mut impl FnMut(Fate<'_>) -> Result<(), TransferError>,
) -> Result<(), TransferError> {
    let (draft, keys) = match drafted {
        Ok(drafted) => drafted,
        Err(problems) => return each(Fate::Invalid(problems)),
    };
    match (index.find(&keys, draft.line), options.on_duplicate) {
        (Some(duplicate), OnDuplicate::Merge) => {
            let into = duplicate.original;
            index.insert(&keys, into.clone());
            each(Fate::Merge(&draft, into.id()))
        }
        (Some(duplicate), _) => each(Fate::Duplicate(duplicate)),
        (None, _) => {
            let id = LeadId::random();
            index.insert(
                &keys,
                Original::Row {
                    line: draft.line,
                    id: id.clone(),
                },
            );
            each(Fate::Create(&draft, &id))
        }
    }
}

/// Creates the pending leads; returns how many.
fn create_pending(
    batch: &mut LeadBatch<'_, '_>,
    pending: &mut Vec<LeadHistory>,
) -> Result<u64, TransferError> {
    let created = pending.len() as u64;
    batch.create_all(std::mem::replace(pending, Vec::with_capacity(BUILD_BATCH)))?;
    Ok(created)
}

/// Imports `path` into `store` as `stamp.by`, recorded at `stamp.now`.
pub fn import<Tz: TimeZone + Sync>(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    parse: &ParseContext<'_, Tz>,
    stamp: &Stamp,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, TransferError> {
    let index = DuplicateIndex::of_store(&store.rows()?);
    let mut report = ImportReport::default();
    let mapping = walk(path, options, parse, &stamp.by, index.clone(), |fate| {
        report.rows += 1;
        match fate {
            Fate::Create(..) => report.created += 1,
            Fate::Merge(..) => report.merged += 1,
            Fate::Invalid(problems) => {
                report.invalid_rows += 1;
                let room = MAX_LISTED.saturating_sub(report.problems.len());
                report.problems.extend(problems.into_iter().take(room));
            }
            Fate::Duplicate(duplicate) => {
                report.duplicate_rows += 1;
                if report.duplicates.len() < MAX_LISTED {
                    report.duplicates.push(duplicate);
                }
            }
        }
        progress(Progress::Checking(report.rows));
        Ok(())
    })?;
    report.unmapped = mapping.unmapped().into_iter().map(str::to_owned).collect();
    if options.dry_run || report.refusal(options).is_some() {
        return Ok(report);
    }
    let planned = report.created + report.merged;
    store.write_batch(|batch: &mut LeadBatch<'_, '_>| {
        // New leads are built BUILD_BATCH at a time, on all cores; a merge may concern one of
        // them, so the pending ones are written before it.
        let mut pending: Vec<LeadHistory> = Vec::with_capacity(BUILD_BATCH);
        let mut written = 0;
        walk(path, options, parse, &stamp.by, index, |fate| {
            match fate {
                Fate::Create(draft, id) => {
                    pending.push(draft.history(id.clone(), stamp));
                    if pending.len() < BUILD_BATCH {
                        return Ok(());
                    }
                    written += create_pending(batch, &mut pending)?;
                }
                Fate::Merge(draft, id) => {
                    written += create_pending(batch, &mut pending)?;
                    batch.update(id, &[draft.merge_action()], stamp)?;
                    written += 1;
                }
                Fate::Invalid(_) if options.skip_invalid => return Ok(()),
                Fate::Duplicate(_) if options.on_duplicate == OnDuplicate::Skip => {
                    return Ok(());
                }
                Fate::Invalid(_) | Fate::Duplicate(_) => {
                    return Err(TransferError::Changed(path.display().to_string()));
                }
            }
            progress(Progress::Writing(written, planned));
            Ok(())
        })?;
        written += create_pending(batch, &mut pending)?;
        if written == planned {
            Ok(())
        } else {
            Err(TransferError::Changed(path.display().to_string()))
        }
    })?;
    report.written = true;
    Ok(report)
}
