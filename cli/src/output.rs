//! Printing: aligned tables that stay aligned with Chinese text, local times, and JSON.
//!
//! Tables use comfy-table, which measures display width (a Chinese character is two columns),
//! so company and stage names in any script line up.

use std::io::{self, Write};

use anyhow::Result;
use chrono::{DateTime, Local, Utc};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

/// A table with the house style and these headers.
pub fn table(headers: &[&str]) -> Table {
    let mut table = facts();
    table.set_header(headers.iter().map(|h| h.to_uppercase()));
    table
}

/// A two-column name/value table without a header.
pub fn facts() -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    table
}

/// Prints a table, trimming the trailing blanks comfy-table pads lines with.
pub fn print_table(out: &mut impl Write, table: &Table) -> io::Result<()> {
    for line in table.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A UTC time as local `YYYY-MM-DD HH:MM`.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A UTC time as a local date.
pub fn local_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%Y-%m-%d").to_string()
}

/// Prints a value as pretty JSON with a trailing newline.
pub fn print_json(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}
