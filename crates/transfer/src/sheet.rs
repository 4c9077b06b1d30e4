//! Reading a spreadsheet file as rows of text, one row at a time, so that memory does not
//! grow with the file: CSV through the `csv` crate, XLSX through calamine's cell reader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

use crate::TransferError;

/// The kinds of file read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SheetKind {
    /// Comma-separated values, UTF-8 (a byte-order mark is allowed).
    Csv,
    /// An Excel workbook; its first sheet is read.
    Xlsx,
}

impl SheetKind {
    /// The kind of `path`, from its extension.
    pub fn of(path: &Path) -> Result<SheetKind, TransferError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => Ok(SheetKind::Csv),
            Some("xlsx") => Ok(SheetKind::Xlsx),
            _ => Err(read_error(
                path,
                "only .csv and .xlsx files can be imported (save the sheet as one of them)",
            )),
        }
    }
}

/// One row of the file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SheetRow {
    /// Its line in the file (CSV) or its row number (XLSX), counting from 1.
    pub line: u64,
    /// Its cells as text, trimmed; missing cells are empty.
    pub cells: Vec<String>,
    /// Cells that hold no usable value (an Excel error such as `#N/A`): column index and why.
    pub unreadable: Vec<(usize, String)>,
}

impl SheetRow {
    /// Whether every cell is blank.
    pub fn is_blank(&self) -> bool {
        self.unreadable.is_empty() && self.cells.iter().all(String::is_empty)
    }
}

fn read_error(path: &Path, reason: impl Into<String>) -> TransferError {
    TransferError::Read {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Calls `visit` with every row of `path` that is not blank, in order; stops at its first error.
pub fn read_rows<E: From<TransferError>>(
    path: &Path,
    visit: impl FnMut(&SheetRow) -> Result<(), E>,
) -> Result<(), E> {
    match SheetKind::of(path)? {
        SheetKind::Csv => read_csv(path, visit),
        SheetKind::Xlsx => read_xlsx(path, visit),
    }
}

fn read_csv<E: From<TransferError>>(
    path: &Path,
    mut visit: impl FnMut(&SheetRow) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|err| read_error(path, err.to_string()))?;
    let mut lines = LineCounter::new(path).map_err(|err| read_error(path, err.to_string()))?;
    let mut record = csv::StringRecord::new();
    let mut row = SheetRow::default();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(err) => return Err(read_error(path, csv_problem(&err)).into()),
        }
        row.line = lines
            .start_of(reader.position().byte())
            .map_err(|err| read_error(path, err.to_string()))?;
        row.cells.clear();
        row.cells
            .extend(record.iter().map(|cell| cell.trim().to_owned()));
        if !row.is_blank() {
            visit(&row)?;
        }
    }
}

/// Line numbers of CSV records. The csv crate skips blank lines and dates a record from
/// before them, so this follows the reader through a second handle on the file: the line a
/// record starts on is the line its bytes start on once blank lines are passed.
struct LineCounter {
    file: BufReader<File>,
    at: u64,
    line: u64,
    chunk: Vec<u8>,
}

impl LineCounter {
    fn new(path: &Path) -> std::io::Result<LineCounter> {
        Ok(LineCounter {
            file: BufReader::new(File::open(path)?),
            at: 0,
            line: 1,
            chunk: Vec::new(),
        })
    }

    /// The line of the record that the reader has just read, up to byte `end`.
    fn start_of(&mut self, end: u64) -> std::io::Result<u64> {
        self.chunk.clear();
        (&mut self.file)
            .take(end.saturating_sub(self.at))
            .read_to_end(&mut self.chunk)?;
        self.at = end;
        let blank = self
            .chunk
            .iter()
            .position(|b| !matches!(b, b'\n' | b'\r'))
            .unwrap_or(self.chunk.len());
        let count = |bytes: &[u8]| bytes.iter().filter(|b| **b == b'\n').count() as u64;
        let start = self.line + count(&self.chunk[..blank]);
        self.line = start + count(&self.chunk[blank..]);
        Ok(start)
    }
}

/// A CSV reading error in words, with what to do about it.
fn csv_problem(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "line {} is not UTF-8 text: save the sheet as \"CSV UTF-8\" (or import the .xlsx itself)",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        _ => err.to_string(),
    }
}

/// The most a workbook may unpack to, in all: a workbook of 250,000 leads is well under it. A
/// workbook is a zip file, and its parts can inflate a thousand times their packed size.
pub const MAX_XLSX_UNPACKED: u64 = 256 << 20;

/// Refuses a workbook whose parts would unpack to more than `limit` bytes in all, before any
/// of them is unpacked: the zip's directory declares each part's size, and the zip reader
/// stops a part that inflates past what it declared.
fn check_unpacked_size(path: &Path, limit: u64) -> Result<(), TransferError> {
    let file = File::open(path).map_err(|err| read_error(path, err.to_string()))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|err| read_error(path, format!("not a readable workbook: {err}")))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let part = archive
            .by_index_raw(index)
            .map_err(|err| read_error(path, format!("not a readable workbook: {err}")))?;
        total = total.saturating_add(part.size());
    }
    if total > limit {
        return Err(read_error(
            path,
            format!(
                "the workbook unpacks to {} MB, more than the {} MB an import reads; split it into smaller workbooks or save it as CSV",
                total >> 20,
                limit >> 20
            ),
        ));
    }
    Ok(())
}

fn read_xlsx<E: From<TransferError>>(
    path: &Path,
    mut visit: impl FnMut(&SheetRow) -> Result<(), E>,
) -> Result<(), E> {
    check_unpacked_size(path, MAX_XLSX_UNPACKED)?;
    let mut workbook: Xlsx<_> =
        calamine::open_workbook(path).map_err(|err| read_error(path, format!("{err}")))?;
    let Some(first) = workbook.sheet_names().into_iter().next() else {
        return Ok(());
    };
    let mut cells = workbook
        .worksheet_cells_reader(&first)
        .map_err(|err| read_error(path, format!("{err}")))?;
    let mut row = SheetRow::default();
    loop {
        let cell = cells
            .next_cell()
            .map_err(|err| read_error(path, format!("{err}")))?;
        let line = cell.as_ref().map(|c| u64::from(c.get_position().0) + 1);
        if line != Some(row.line) {
            if row.line > 0 && !row.is_blank() {
                visit(&row)?;
            }
            let Some(line) = line else {
                return Ok(());
            };
            row.line = line;
            row.cells.clear();
            row.unreadable.clear();
        }
        let Some(cell) = cell else {
            return Ok(());
        };
        let column = usize::try_from(cell.get_position().1).unwrap_or(usize::MAX);
        if row.cells.len() <= column {
            row.cells.resize(column + 1, String::new());
        }
        match cell_text(cell.get_value()) {
            Ok(text) => row.cells[column] = text,
            Err(reason) => row.unreadable.push((column, reason)),
        }
    }
}

/// A cell's value as the text a person would type: whole numbers without a decimal point
/// (phone numbers are often stored as numbers), dates as `YYYY-MM-DD`.
fn cell_text(value: &DataRef<'_>) -> Result<String, String> {
    Ok(match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
            text.trim().to_owned()
        }
        DataRef::SharedString(text) => text.trim().to_owned(),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{number:.0}")
        }
        DataRef::Float(number) => number.to_string(),
        DataRef::Bool(flag) => flag.to_string(),
        DataRef::DateTime(at) => match at.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.format("%Y-%m-%d").to_string(),
            Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => return Err(format!("the date {at} is out of range")),
        },
        DataRef::Error(error) => return Err(format!("the cell holds the Excel error {error}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_typed() {
        assert_eq!(
            cell_text(&DataRef::Float(13_800_138_000.0)).unwrap(),
            "13800138000"
        );
        assert_eq!(cell_text(&DataRef::Float(1234.5)).unwrap(), "1234.5");
        assert_eq!(cell_text(&DataRef::SharedString(" 客户 ")).unwrap(), "客户");
        assert!(
            cell_text(&DataRef::Error(calamine::CellErrorType::NA))
                .unwrap_err()
                .contains("#N/A")
        );
    }

    #[test]
    fn csv_lines_are_the_lines_an_editor_shows() {
        let dir = tempfile::tempdir().unwrap();
        for ending in ["\n", "\r\n"] {
            let inside = format!("two{ending}lines");
            let text = [
                "\u{feff}company,contact",
                "",
                "A,\"two",
                "lines\"",
                "",
                "",
                "B,b",
                "",
                "C,c",
            ]
            .join(ending);
            for text in [text.clone(), text + ending] {
                let path = dir.path().join("lines.csv");
                std::fs::write(&path, &text).unwrap();
                let mut seen = Vec::new();
                read_rows::<TransferError>(&path, |row| {
                    seen.push((row.line, row.cells.join("|")));
                    Ok(())
                })
                .unwrap();
                let expected = [
                    (1, "company|contact".to_owned()),
                    (3, format!("A|{inside}")),
                    (7, "B|b".to_owned()),
                    (9, "C|c".to_owned()),
                ];
                assert_eq!(seen, expected, "{text:?}");
            }
        }
    }

    #[test]
    fn kinds_come_from_the_extension() {
        assert_eq!(SheetKind::of(Path::new("a.CSV")).unwrap(), SheetKind::Csv);
        assert_eq!(SheetKind::of(Path::new("a.xlsx")).unwrap(), SheetKind::Xlsx);
        assert!(SheetKind::of(Path::new("a.xls")).is_err());
    }
}
