//! The report as Markdown: headings, paragraphs and pipe tables (charts are left to the HTML
//! format; every figure they show is in a table).

use std::fmt::Write;

use crate::document::{Block, Document, Table};

/// Escapes what would break a table cell or start markup.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "**{}**\n", table.caption);
    if table.rows.is_empty() {
        out.push_str("None in this period.\n\n");
        return;
    }
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out.push_str(&line(table.headers.iter().map(|h| cell(h)).collect()));
    out.push_str(&line(
        table.headers.iter().map(|_| "---".to_owned()).collect(),
    ));
    for row in &table.rows {
        out.push_str(&line(row.iter().map(|c| cell(c)).collect()));
    }
    if table.omitted > 0 {
        let _ = writeln!(out, "\n… and {} more.", table.omitted);
    }
    out.push('\n');
}

/// Writes `document` as Markdown.
pub fn write(document: &Document) -> String {
    let mut out = format!("# {}\n\n{}\n\n", document.title, document.subtitle);
    for section in &document.sections {
        let _ = writeln!(out, "## {}\n", section.title);
        for block in &section.blocks {
            match block {
                Block::Text(text) => {
                    let _ = writeln!(out, "{text}\n");
                }
                Block::Table(t) => table(&mut out, t),
                Block::Chart(_) => {}
            }
        }
    }
    out
}
