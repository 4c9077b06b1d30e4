//! Spreadsheets in and out of the lead store.
//!
//! - [`sheet`] reads a CSV or XLSX file as rows of text, one at a time.
//! - [`columns`] maps its header to lead fields, matching English and Chinese headers.
//! - [`draft`] checks one row and turns it into a new lead, naming the line and column of
//!   anything wrong.
//! - [`duplicates`] finds rows that repeat a stored lead or an earlier row.
//! - [`import`] checks the whole file first, then writes every lead in one transaction, as
//!   the `plan` of the check says; both live in a `scratch` folder beside the store.
//! - [`export`] writes leads, or their whole follow-up logs, as CSV, JSON or XLSX.

pub mod columns;
pub mod draft;
pub mod duplicates;
pub mod error;
pub mod export;
pub mod import;
mod plan;
mod scratch;
pub mod sheet;

pub use error::TransferError;
