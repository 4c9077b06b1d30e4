//! `fieldsync report`: the period's lead-tracking report, market report and action list, as
//! Markdown, a self-contained HTML page, CSV or JSON, printed or written to a file.

use std::io::Write;

use anyhow::Result;
use fieldsync_report::{Format, Report, render};

use super::destination::{check_destination, write_whole};
use super::owners::rows;
use super::scope::scope;
use crate::args::{FormatArg, ReportArgs};
use crate::context::Context;

/// Writes the report where `--out` says, or prints it.
pub fn run(cx: &Context, args: &ReportArgs, out: &mut impl Write) -> Result<()> {
    let scope = scope(cx, &args.scope)?;
    if let Some(path) = &args.out {
        check_destination(path, "report.html")?;
    }
    let store = cx.open_store()?;
    let (rows, covers) = rows(&store, &args.scope.of)?;
    let mut report = Report::compute(&rows, store.pipeline(), scope, &cx.zone);
    report.leads_of = covers;
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Html => Format::Html,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
    };
    let text = render(&report, store.pipeline(), format)?;
    match &args.out {
        Some(path) => {
            write_whole(path, |file| Ok(file.write_all(text.as_bytes())?))?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}
