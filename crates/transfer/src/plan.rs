//! The import plan: what the check pass decided for each row it will write, kept in a file of
//! the scratch folder and read back in order by the write pass. The write then does exactly
//! what the check reported (the same new ids, the same merges) without holding a decision per
//! row in memory.
//!
//! A step is a fixed-size record: the row's line (8 bytes, little-endian), what to do (1 byte)
//! and the lead's id (32 ASCII hex digits).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use fieldsync_model::LeadId;

use crate::error::{OrScratch, TransferError};

/// What the write does with a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Create a lead with the step's id.
    Create,
    /// Write the row's values into the lead with the step's id.
    Merge,
}

/// The decision for one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The row's line.
    pub(crate) line: u64,
    /// What to do.
    pub(crate) action: Action,
    /// The lead created or merged into.
    pub(crate) id: LeadId,
}

const ID_BYTES: usize = 32;
const STEP_BYTES: usize = 8 + 1 + ID_BYTES;

/// Writes the steps of a plan, in line order.
pub(crate) struct PlanWriter {
    out: BufWriter<File>,
    path: PathBuf,
    steps: u64,
}

impl PlanWriter {
    /// A new, empty plan file at `path`.
    pub(crate) fn create(path: PathBuf) -> Result<PlanWriter, TransferError> {
        let out = BufWriter::new(File::create(&path).or_scratch(&path)?);
        Ok(PlanWriter {
            out,
            path,
            steps: 0,
        })
    }

    /// Adds the step for the row on `line`.
    pub(crate) fn push(
        &mut self,
        line: u64,
        action: Action,
        id: &LeadId,
    ) -> Result<(), TransferError> {
        let id = id.as_str().as_bytes();
        if id.len() != ID_BYTES {
            return Err(TransferError::scratch(
                &self.path,
                format_args!("lead id {} is not 32 characters", id.escape_ascii()),
            ));
        }
        let mut step = [0u8; STEP_BYTES];
        step[..8].copy_from_slice(&line.to_le_bytes());
        step[8] = match action {
            Action::Create => b'c',
            Action::Merge => b'm',
        };
        step[9..].copy_from_slice(id);
        self.out.write_all(&step).or_scratch(&self.path)?;
        self.steps += 1;
        Ok(())
    }

    /// The finished plan.
    pub(crate) fn finish(mut self) -> Result<Plan, TransferError> {
        self.out.flush().or_scratch(&self.path)?;
        Ok(Plan {
            path: self.path,
            steps: self.steps,
        })
    }
}

/// A written plan.
#[derive(Debug)]
pub(crate) struct Plan {
    path: PathBuf,
    steps: u64,
}

impl Plan {
    /// Reads the steps back from the first.
    pub(crate) fn steps(&self) -> Result<Steps<'_>, TransferError> {
        Ok(Steps {
            input: BufReader::new(File::open(&self.path).or_scratch(&self.path)?),
            path: &self.path,
            left: self.steps,
        })
    }
}

/// The steps of a plan, read one at a time.
pub(crate) struct Steps<'a> {
    input: BufReader<File>,
    path: &'a Path,
    left: u64,
}

impl Steps<'_> {
    /// The next step, or `None` after the last.
    pub(crate) fn next_step(&mut self) -> Result<Option<Step>, TransferError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut step = [0u8; STEP_BYTES];
        self.input.read_exact(&mut step).or_scratch(self.path)?;
        self.left -= 1;
        let garbled = || TransferError::scratch(self.path, "the plan file was changed");
        let line = u64::from_le_bytes(step[..8].try_into().map_err(|_| garbled())?);
        let action = match step[8] {
            b'c' => Action::Create,
            b'm' => Action::Merge,
            _ => return Err(garbled()),
        };
        let id = std::str::from_utf8(&step[9..])
            .ok()
            .and_then(LeadId::parse)
            .ok_or_else(garbled)?;
        Ok(Some(Step { line, action, id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back_as_written() -> Result<(), TransferError> {
        let folder =
            tempfile::tempdir().map_err(|err| TransferError::scratch(Path::new("."), err))?;
        let mut writer = PlanWriter::create(folder.path().join("plan"))?;
        let written = [
            Step {
                line: 2,
                action: Action::Create,
                id: LeadId::random(),
            },
            Step {
                line: 40_000_000_000,
                action: Action::Merge,
                id: LeadId::random(),
            },
        ];
        for step in &written {
            writer.push(step.line, step.action, &step.id)?;
        }
        let plan = writer.finish()?;
        let mut steps = plan.steps()?;
        let mut read = Vec::new();
        while let Some(step) = steps.next_step()? {
            read.push(step);
        }
        assert_eq!(read, written);
        Ok(())
    }
}
