//! `fieldsync export`: leads (with stage and latest follow-up) or every follow-up, as CSV,
//! JSON or XLSX, printed or written whole to a file.

use std::io::Write;

use anyhow::{Result, anyhow};
use fieldsync_model::plural::counted;
use fieldsync_transfer::export::{Destination, ExportFormat, ExportWhat, Labels, export};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::destination::{check_destination, write_whole};
use crate::args::{ExportArgs, ExportFormatArg, LabelsArg};
use crate::context::Context;

/// Writes the export where `--out` says, or prints it.
pub fn run(cx: &Context, args: &ExportArgs, out: &mut impl Write) -> Result<()> {
    let (format, extension) = match args.format {
        ExportFormatArg::Csv => (ExportFormat::Csv, "csv"),
        ExportFormatArg::Json => (ExportFormat::Json, "json"),
        ExportFormatArg::Xlsx => (ExportFormat::Xlsx, "xlsx"),
    };
    let what = if args.followups {
        ExportWhat::FollowUps
    } else {
        ExportWhat::Leads
    };
    match &args.out {
        Some(path) => check_destination(path, &format!("leads.{extension}"))?,
        None if format == ExportFormat::Xlsx => {
            return Err(anyhow!(
                "format: an XLSX export needs a file: give --out leads.xlsx"
            ));
        }
        None => {}
    }
    let labels = match args.labels {
        LabelsArg::Keys => Labels::Keys,
        LabelsArg::Zh => Labels::Chinese,
    };
    let store = cx.open_store()?;
    let Some(path) = &args.out else {
        export(
            &store,
            (what, format, labels),
            &cx.zone,
            Destination::Stream(out),
            &mut |_, _| {},
        )?;
        return Ok(());
    };
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("exporting {bar:30} {pos}/{len} leads")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut records = 0;
    let written = write_whole(path, |file| {
        records = export(
            &store,
            (what, format, labels),
            &cx.zone,
            Destination::File(file),
            &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
        )?;
        Ok(())
    });
    bar.finish_and_clear();
    written?;
    let noun = if args.followups { "follow-up" } else { "lead" };
    writeln!(
        out,
        "wrote {} to {}",
        counted(records, noun),
        path.display()
    )?;
    Ok(())
}
