//! The report as one self-contained HTML page: its styles inline, its charts inline SVG, no
//! script and no link to anything outside the file, so it reads the same offline, attached to
//! an email or opened years later.

use std::fmt::Write;

use crate::RenderError;
use crate::charts;
use crate::document::{Block, Document, Table};

/// The page's styles: readable tables, figures right-aligned; on a phone (390 px) a wide table
/// scrolls inside its box and a chart keeps a width its text stays legible at, scrolling too.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;\
margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222;line-height:1.45}\
h1{margin-bottom:.2rem}.subtitle{color:#666;margin-top:0}\
h2{border-bottom:2px solid #2b6cb0;padding-bottom:.2rem;margin-top:2.5rem}\
.scroll{overflow-x:auto;margin:.5rem 0 1.5rem;-webkit-overflow-scrolling:touch}\
table{border-collapse:collapse;font-size:.92rem}\
caption{text-align:left;font-weight:600;padding:.3rem 0}\
th,td{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left;vertical-align:top}\
th{background:#f3f6fa}td.n{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:1rem 0;overflow-x:auto}figure svg{max-width:100%;height:auto}\
@media (max-width:600px){body{margin:1rem auto;padding:0 .6rem}figure svg{max-width:none;width:560px}\
table{font-size:.85rem}th,td{padding:.25rem .45rem}}\
.more{color:#666;font-size:.9rem}";

/// Escapes text for an HTML text node or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a cell holds a figure: a count, an amount, a rate, a number of days.
fn is_figure(cell: &str) -> bool {
    cell.starts_with(|c: char| c.is_ascii_digit())
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '%' | '-' | ' ' | 'd'))
}

/// Per column, whether it holds figures (right-aligned): every cell is a figure or "n/a"
/// (and not all are "n/a").
fn figure_columns(table: &Table) -> Vec<bool> {
    (0..table.headers.len())
        .map(|column| {
            let cells = || table.rows.iter().filter_map(|row| row.get(column));
            cells().all(|cell| cell == "n/a" || cell.is_empty() || is_figure(cell))
                && cells().any(|cell| is_figure(cell))
        })
        .collect()
}

fn table(out: &mut String, table: &Table) {
    if table.rows.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>{}</strong>: none in this period.</p>",
            escape(&table.caption)
        );
        return;
    }
    let _ = write!(
        out,
        "<div class=\"scroll\"><table id=\"{}\"><caption>{}</caption>\n<thead><tr>",
        escape(&table.name),
        escape(&table.caption)
    );
    for header in &table.headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let figures = figure_columns(table);
    for row in &table.rows {
        out.push_str("<tr>");
        for (cell, figure) in row.iter().zip(&figures) {
            let class = if *figure { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    if table.omitted > 0 {
        let _ = writeln!(
            out,
            "<p class=\"more\">… and {} more (the CSV and JSON formats list them all).</p>",
            table.omitted
        );
    }
}

/// Writes `document` as an HTML page.
pub fn write(document: &Document) -> Result<String, RenderError> {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<p class=\"subtitle\">{subtitle}</p>\n",
        title = escape(&document.title),
        subtitle = escape(&document.subtitle),
    );
    for section in &document.sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(section.title));
        for block in &section.blocks {
            match block {
                Block::Text(text) => {
                    let _ = writeln!(out, "<p>{}</p>", escape(text));
                }
                Block::Table(t) => table(&mut out, t),
                Block::Chart(chart) => {
                    let _ = writeln!(
                        out,
                        "<figure id=\"{}\">\n{}\n</figure>",
                        chart.id(),
                        charts::svg(chart)?
                    );
                }
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<b>\"R&D\" 's</b>"),
            "&lt;b&gt;&quot;R&amp;D&quot; &#39;s&lt;/b&gt;"
        );
    }

    #[test]
    fn figures_are_told_from_words() {
        for figure in ["12", "42.9%", "3.5 d", "25.05"] {
            assert!(is_figure(figure), "{figure}");
        }
        for word in ["", "n/a", "lina", "需求挖掘", "2024-05 x", "d"] {
            assert!(!is_figure(word), "{word}");
        }
    }
}
