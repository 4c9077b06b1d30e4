//! fieldsync's reports: a period's lead-tracking report, market report and action list
//! (DOMAIN.md "Reports"), computed once as a [`Report`] of figures and written as Markdown,
//! one self-contained HTML page with inline SVG charts, CSV or JSON.
//!
//! - [`figures`]: every figure, from the projection rows (the JSON format's shape).
//! - [`compare`]: the figures beside an earlier period's, and the changes.
//! - [`document`]: the figures laid out as sections of text, tables and charts, with labels.
//! - [`markdown`], [`html`], [`csv`]: the layout written in each format.
//! - [`charts`]: the charts as SVG, drawn with plotters.

pub mod charts;
pub mod compare;
pub mod csv;
pub mod document;
pub mod figures;
pub mod html;
pub mod markdown;

use document::{Length, lay_out};
use fieldsync_model::Pipeline;
use thiserror::Error;

pub use figures::{Previous, Report, Scope};

/// The formats a report is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Markdown, for a wiki or an email.
    Markdown,
    /// One HTML page with its styles and SVG charts inline: no network needed to read it.
    Html,
    /// The tables, one record per row and every row, for a spreadsheet.
    Csv,
    /// Every figure, for other programs.
    Json,
}

/// Why a report could not be written.
#[derive(Debug, Error)]
pub enum RenderError {
    /// A chart could not be drawn.
    #[error("cannot draw the chart '{chart}': {reason}")]
    Chart {
        /// The chart's id.
        chart: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The CSV writer failed.
    #[error("cannot write CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// The JSON writer failed.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes `report` in `format`, labelling keys from `pipeline`.
pub fn render(report: &Report, pipeline: &Pipeline, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(report)?;
            text.push('\n');
            Ok(text)
        }
        Format::Markdown => Ok(markdown::write(&lay_out(
            report,
            pipeline,
            Length::Readable,
        ))),
        Format::Html => html::write(&lay_out(report, pipeline, Length::Readable)),
        Format::Csv => csv::write(&lay_out(report, pipeline, Length::Whole)),
    }
}
