//! `fieldsync report`: the period's lead-tracking report, market report and action list, as
//! Markdown, a self-contained HTML page, CSV or JSON, printed or written to a file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use fieldsync_report::{Format, Report, render};

use super::scope::scope;
use crate::args::{FormatArg, ReportArgs};
use crate::context::Context;

/// Writes the report where `--out` says, or prints it.
pub fn run(cx: &Context, args: &ReportArgs, out: &mut impl Write) -> Result<()> {
    let scope = scope(cx, &args.scope)?;
    if let Some(path) = &args.out {
        check_destination(path)?;
    }
    let store = cx.open_store()?;
    let rows = store.rows()?;
    let report = Report::compute(&rows, store.pipeline(), scope, &cx.zone);
    let format = match args.format {
        FormatArg::Md => Format::Markdown,
        FormatArg::Html => Format::Html,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
    };
    let text = render(&report, store.pipeline(), format)?;
    match &args.out {
        Some(path) => {
            write_whole(path, text.as_bytes())?;
            writeln!(out, "wrote {}", path.display())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// Refuses a destination that cannot be written, before any work is done.
fn check_destination(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(anyhow!(
            "out: {} is a folder: give a file name, such as {}",
            path.display(),
            path.join("report.html").display()
        ));
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(anyhow!(
            "out: the folder {} does not exist: create it first or write somewhere else",
            folder.display()
        ));
    }
    Ok(())
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader
/// sees the old report or the new one, never half of one.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(folder_of(path))
        .with_context(|| format!("cannot write in {}", folder_of(path).display()))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path)
        .map_err(|err| anyhow!("cannot write {}: {}", path.display(), err.error))?;
    Ok(())
}
