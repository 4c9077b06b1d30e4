//! The report's tables as CSV for a spreadsheet: every record starts with its table's name
//! (`funnel`, `channels`, `profile-industry`, ...), first the table's heading row and then its
//! rows, so one filter on the first column gives any table back.

use crate::RenderError;
use crate::document::{Block, Document};

/// Writes every table of `document` as CSV.
pub fn write(document: &Document) -> Result<String, RenderError> {
    let mut writer = ::csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let tables = document.sections.iter().flat_map(|section| {
        section.blocks.iter().filter_map(|block| match block {
            Block::Table(table) => Some(table),
            Block::Text(_) | Block::Chart(_) => None,
        })
    });
    for table in tables {
        let name = table.name.as_str();
        writer.write_record(std::iter::once(name).chain(table.headers.iter().copied()))?;
        for row in &table.rows {
            writer.write_record(std::iter::once(name).chain(row.iter().map(String::as_str)))?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|err| RenderError::Csv(err.into_error().into()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
