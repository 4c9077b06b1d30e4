//! `fieldsync import`: the whole file is checked first (every row validated, every duplicate
//! found, every decision written to a plan) without writing to the store; only then, unless
//! something blocks it, is it read again and every lead written in one store transaction, as
//! the plan says. Memory holds a chunk of rows and bounded caches, never the file: the
//! duplicate index and the plan are files in a scratch folder beside the store.

use std::path::Path;
use std::sync::Arc;
use std::thread::{self, ScopedJoinHandle};

use chrono::TimeZone;
use fieldsync_model::plural::counted;
use fieldsync_model::{LeadHistory, LeadId, ParseContext, Roster, Stamp};
use fieldsync_store::{BUILD_BATCH, LeadBatch, Store};
use rayon::prelude::*;

use crate::TransferError;
use crate::columns::Mapping;
use crate::draft::{Draft, Drafter, Problem};
use crate::duplicates::{self, Duplicate, Keys, Original};
use crate::plan::{Action, Plan, PlanWriter};
use crate::scratch::Scratch;
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
    /// Owner of rows that name none (default: the member importing).
    pub owner: Option<String>,
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
    /// Each imported column ("C (联系方式)") and what it holds (`phone`).
    pub columns: Vec<(String, &'static str)>,
    /// Whether the store was written.
    pub written: bool,
}

impl ImportReport {
    /// Why nothing may be imported, with what to do about it.
    pub fn refusal(&self, options: &ImportOptions) -> Option<String> {
        let rows = |count: u64| counted(count, "row");
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

/// What drafting a row gives: its lead with whatever the walk's `prepare` computed from it on
/// the thread pool, or everything wrong with the row.
type Drafted<T> = Result<(Draft, T), Vec<Problem>>;

/// Rows drafted together on every core before they are handed on in order.
const DRAFT_CHUNK: usize = 1024;

/// Leads written from which an import writes into a copy of the store: a write of a thousand
/// leads holds the store for about 0.2 s, which readers wait out; longer ones would make them
/// give up (after 3 s) where a copy costs a read of the store file.
const WRITE_IN_COPY_FROM: u64 = 1_000;

/// Reads the file once, handing `each` every row in order with its draft, or its problems.
/// Both passes walk the file with this one function. Rows are drafted [`DRAFT_CHUNK`] at a
/// time on the thread pool, and `prepare` runs there on each draft; one chunk is drafted
/// while `each` works through the one before, so neither waits for the other.
fn walk<Tz: TimeZone + Sync, T: Send>(
    path: &Path,
    options: &ImportOptions,
    parse: &ParseContext<'_, Tz>,
    roster: Roster<'_>,
    prepare: impl Fn(&Draft) -> T + Sync,
    mut each: impl FnMut(u64, Drafted<T>) -> Result<(), TransferError>,
) -> Result<Arc<Mapping>, TransferError> {
    let draft_chunk = |mapping: &Mapping, chunk: Vec<SheetRow>| -> Vec<(u64, Drafted<T>)> {
        let drafter = Drafter {
            mapping,
            parse: ParseContext {
                pipeline: parse.pipeline,
                now: parse.now,
                zone: parse.zone,
            },
            owner: options.owner.as_deref().unwrap_or(roster.me),
            roster,
        };
        chunk
            .par_iter()
            .map(|row| {
                let drafted = drafter.draft(row).map(|draft| {
                    let prepared = prepare(&draft);
                    (draft, prepared)
                });
                (row.line, drafted)
            })
            .collect()
    };
    let mut hand_on = |drafts: Vec<(u64, Drafted<T>)>| {
        drafts
            .into_iter()
            .try_for_each(|(line, drafted)| each(line, drafted))
    };
    thread::scope(|scope| {
        let mut mapping: Option<Arc<Mapping>> = None;
        let mut chunk: Vec<SheetRow> = Vec::with_capacity(DRAFT_CHUNK);
        let mut drafting: Option<ScopedJoinHandle<'_, _>> = None;
        sheet::read_rows(path, |row: &SheetRow| -> Result<(), TransferError> {
            let Some(mapping) = &mapping else {
                mapping = Some(Arc::new(Mapping::new(&row.cells, &options.maps)?));
                return Ok(());
            };
            chunk.push(row.clone());
            if chunk.len() == DRAFT_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(DRAFT_CHUNK));
                let mapping = Arc::clone(mapping);
                let next = scope.spawn(move || draft_chunk(&mapping, full));
                if let Some(previous) = drafting.replace(next) {
                    hand_on(joined(previous))?;
                }
            }
            Ok(())
        })?;
        let mapping = mapping.ok_or_else(|| TransferError::Read {
            path: path.display().to_string(),
            reason: "the file is empty: it needs a header row, then one row per lead".to_owned(),
        })?;
        if let Some(previous) = drafting {
            hand_on(joined(previous))?;
        }
        hand_on(draft_chunk(&mapping, chunk))?;
        Ok(mapping)
    })
}

/// What a drafting thread returned; a panic there goes on here.
fn joined<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The check pass: decides every row's fate against the stored leads and the rows above it,
/// reports it, and writes the plan the write pass follows (none for a dry run).
fn check<Tz: TimeZone + Sync>(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
    parse: &ParseContext<'_, Tz>,
    roster: Roster<'_>,
    scratch: &Scratch,
    progress: &mut dyn FnMut(Progress),
) -> Result<(ImportReport, Option<Plan>), TransferError> {
    duplicates::with_index(&scratch.file("duplicates.redb"), |index| {
        store.visit_rows(|rows| index.insert_stored(rows))?;
        let mut plan = (!options.dry_run)
            .then(|| PlanWriter::create(scratch.file("plan")))
            .transpose()?;
        let mut decide = |line, action, id: &LeadId| match plan.as_mut() {
            Some(plan) => plan.push(line, action, id),
            None => Ok(()),
        };
        let mut report = ImportReport::default();
        let mapping = walk(path, options, parse, roster, Keys::of, |line, drafted| {
            report.rows += 1;
            match drafted {
                Err(problems) => {
                    report.invalid_rows += 1;
                    let room = MAX_LISTED.saturating_sub(report.problems.len());
                    report.problems.extend(problems.into_iter().take(room));
                }
                Ok((_, keys)) => {
                    let id = LeadId::random();
                    let merged = options.on_duplicate == OnDuplicate::Merge;
                    let new_lead = Original::Row {
                        line,
                        id: id.clone(),
                    };
                    match index.file(&keys, line, &new_lead, merged)? {
                        None => {
                            decide(line, Action::Create, &id)?;
                            report.created += 1;
                        }
                        Some(duplicate) if merged => {
                            decide(line, Action::Merge, duplicate.original.id())?;
                            report.merged += 1;
                        }
                        Some(duplicate) => {
                            report.duplicate_rows += 1;
                            if report.duplicates.len() < MAX_LISTED {
                                report.duplicates.push(duplicate);
                            }
                        }
                    }
                }
            }
            progress(Progress::Checking(report.rows));
            Ok(())
        })?;
        report.unmapped = mapping.unmapped().into_iter().map(str::to_owned).collect();
        report.columns = mapping
            .columns()
            .map(|(index, target)| (mapping.describe(index), target.name()))
            .collect();
        Ok((report, plan.map(PlanWriter::finish).transpose()?))
    })
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
    let scratch = Scratch::beside(store.path())?;
    let members = store.members()?;
    let roster = Roster {
        members: &members,
        me: &stamp.by,
    };
    let (mut report, plan) = check(store, path, options, parse, roster, &scratch, progress)?;
    let Some(plan) = plan.filter(|_| report.refusal(options).is_none()) else {
        return Ok(report);
    };
    let planned = report.created + report.merged;
    let changed = || TransferError::Changed(path.display().to_string());
    let mut steps = plan.steps()?;
    let write = |batch: &mut LeadBatch<'_, '_>| {
        // New leads are built BUILD_BATCH at a time, on all cores; a merge may concern one of
        // them, so the pending ones are written before it.
        let mut pending: Vec<LeadHistory> = Vec::with_capacity(BUILD_BATCH);
        let mut written = 0;
        let mut next = steps.next_step()?;
        walk(
            path,
            options,
            parse,
            roster,
            |_| (),
            |line, drafted| {
                // Rows the check left out have no step.
                let Some(step) = next.take_if(|step| step.line <= line) else {
                    return Ok(());
                };
                let (draft, ()) = drafted.map_err(|_| changed())?;
                if step.line != line {
                    return Err(changed());
                }
                next = steps.next_step()?;
                match step.action {
                    Action::Create => {
                        pending.push(draft.history(step.id, stamp, parse.pipeline));
                        if pending.len() < BUILD_BATCH {
                            return Ok(());
                        }
                        written += create_pending(batch, &mut pending)?;
                    }
                    Action::Merge => {
                        written += create_pending(batch, &mut pending)?;
                        batch.update(&step.id, &[draft.merge_action()], stamp)?;
                        written += 1;
                    }
                }
                progress(Progress::Writing(written, planned));
                Ok(())
            },
        )?;
        written += create_pending(batch, &mut pending)?;
        if next.is_none() && written == planned {
            Ok(())
        } else {
            Err(changed())
        }
    };
    // A long write goes into a copy of the store that then replaces it, so the device's
    // other commands read the store as it was meanwhile instead of waiting for the import.
    if planned >= WRITE_IN_COPY_FROM {
        store.write_batch_in_copy(&scratch.file("store.redb"), write)?;
    } else {
        store.write_batch(write)?;
    }
    report.written = true;
    Ok(report)
}
