//! `fieldsync export`: every lead (not deleted) with its stage, outcome and latest follow-up,
//! or every follow-up of every lead, as CSV, JSON or XLSX. Times are written in the user's
//! zone with their offset (`2026-03-02T09:30:00+08:00`, with milliseconds when there are
//! some), which `import` reads back exactly.
//! Lead columns use the names `import` matches, so an export imports as the same leads; with
//! [`Labels::Chinese`] the headers and labelled values are Chinese, and import back too.

use std::fs::File;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use fieldsync_model::{Field, Lead, Money, Outcome, Pipeline, Priority};
use fieldsync_store::Store;
use rust_xlsxwriter::Workbook;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::TransferError;
use crate::columns::chinese_header;

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, UTF-8 with a byte-order mark so that Excel reads Chinese text right.
    Csv,
    /// One JSON array of objects.
    Json,
    /// An Excel workbook with one sheet.
    Xlsx,
}

/// What is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportWhat {
    /// One row per lead.
    Leads,
    /// One row per follow-up.
    FollowUps,
}

/// The language of the headers and of the values that have labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    /// Column names and keys as `import` and scripts know them (`source: trade-show`).
    Keys,
    /// Chinese headers and the pipeline's Chinese labels (`来源渠道: 行业展会`, `成交`,
    /// priority 高/中/低), all of which `import` reads back.
    Chinese,
}

impl Labels {
    fn header(self, name: &'static str) -> &'static str {
        match self {
            Labels::Keys => name,
            Labels::Chinese => chinese_header(name),
        }
    }
}

/// Where the export goes. XLSX needs a file (the format is a zip archive).
pub enum Destination<'a> {
    /// A stream such as standard output (CSV and JSON only).
    Stream(&'a mut dyn Write),
    /// A file.
    File(&'a mut File),
}

/// One value of a table.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Text(String),
    Number(f64),
    Count(u64),
    Empty,
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(text) => serializer.serialize_str(text),
            Value::Number(number) => serializer.serialize_f64(*number),
            Value::Count(count) => serializer.serialize_u64(*count),
            Value::Empty => serializer.serialize_none(),
        }
    }
}

/// One record as a JSON object, its keys in column order.
struct Record<'a> {
    header: &'a [String],
    values: &'a [Value],
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_map(Some(self.header.len()))?;
        for (name, value) in self.header.iter().zip(self.values) {
            object.serialize_entry(name, value)?;
        }
        object.end()
    }
}

impl Value {
    fn text(text: impl Into<String>) -> Value {
        let text = text.into();
        if text.is_empty() {
            Value::Empty
        } else {
            Value::Text(text)
        }
    }

    fn money(money: Option<Money>) -> Value {
        money.map_or(Value::Empty, |m| Value::Number(m.cents() as f64 / 100.0))
    }

    fn time<Tz: TimeZone>(at: Option<DateTime<Utc>>, zone: &Tz) -> Value
    where
        Tz::Offset: std::fmt::Display,
    {
        at.map_or(Value::Empty, |at| {
            Value::Text(
                at.with_timezone(zone)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            )
        })
    }

    /// As CSV writes it.
    fn as_text(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Count(count) => count.to_string(),
            Value::Empty => String::new(),
        }
    }
}

/// The lead columns after the fields.
const LEAD_TAIL: [&str; 14] = [
    "owner",
    "stage",
    "stage_entered_at",
    "created_at",
    "outcome",
    "outcome_at",
    "deal_amount",
    "loss_reason",
    "outcome_note",
    "followups",
    "last_followup_at",
    "last_followup",
    "next_step",
    "next_due",
];

/// The follow-up columns.
const FOLLOW_UP_COLUMNS: [&str; 10] = [
    "lead_id",
    "company",
    "at",
    "recorded_at",
    "recorded_by",
    "channel",
    "summary",
    "feedback",
    "next_step",
    "next_due",
];

/// The headers, with the team's money unit beside the amount columns (`amount (万元)`,
/// which `import` reads as `amount`).
fn header(what: ExportWhat, labels: Labels, unit: Option<&str>) -> Vec<String> {
    let names: Vec<&'static str> = match what {
        ExportWhat::Leads => ["id", "number"]
            .into_iter()
            .chain(Field::ALL.iter().map(|field| field.key()))
            .chain(LEAD_TAIL)
            .collect(),
        ExportWhat::FollowUps => FOLLOW_UP_COLUMNS.to_vec(),
    };
    names
        .into_iter()
        .map(|name| {
            let header = labels.header(name);
            match (unit, name) {
                (Some(unit), "amount" | "deal_amount") => match labels {
                    Labels::Keys => format!("{header} ({unit})"),
                    Labels::Chinese => format!("{header}（{unit}）"),
                },
                _ => header.to_owned(),
            }
        })
        .collect()
}

/// A key as `labels` writes it: itself, or the Chinese label `zh` gives (the key when the
/// label is blank).
fn labelled(key: &str, labels: Labels, zh: impl FnOnce(&str) -> Option<String>) -> String {
    match labels {
        Labels::Chinese if !key.is_empty() => zh(key)
            .filter(|label| !label.is_empty())
            .unwrap_or_else(|| key.to_owned()),
        _ => key.to_owned(),
    }
}

/// The note of the event that closed the lead as it stands, if it is closed.
fn closing_note(lead: &Lead) -> Option<String> {
    if lead.outcome == Outcome::Open {
        return None;
    }
    lead.outcomes
        .iter()
        .rev()
        .find(|event| event.outcome == lead.outcome)?
        .note
        .clone()
}

/// The records of one lead.
fn records<Tz: TimeZone>(
    lead: &Lead,
    what: ExportWhat,
    (pipeline, labels): (&Pipeline, Labels),
    zone: &Tz,
) -> Vec<Vec<Value>>
where
    Tz::Offset: std::fmt::Display,
{
    match what {
        ExportWhat::Leads => {
            let latest = lead.followups.last();
            let mut record = vec![
                Value::text(lead.id.as_str()),
                Value::text(lead.number.clone().unwrap_or_default()),
            ];
            record.extend(Field::ALL.iter().map(|field| match field {
                Field::Amount => Value::money(lead.amount()),
                Field::Source => Value::text(labelled(&lead.text(*field), labels, |key| {
                    let source = pipeline.sources.iter().find(|c| c.key == key)?;
                    Some(source.label.zh.clone())
                })),
                Field::Priority => Value::text(labelled(&lead.text(*field), labels, |key| {
                    let tier: Priority = key.parse().ok()?;
                    Some(tier.zh().to_owned())
                })),
                _ => Value::text(lead.text(*field)),
            }));
            let outcome = match labels {
                Labels::Keys => lead.outcome.key(),
                Labels::Chinese => lead.outcome.zh(),
            };
            let stage = labelled(&lead.stage, labels, |key| {
                Some(pipeline.stage(key)?.label.zh.clone())
            });
            let reason = labelled(
                lead.loss_reason.as_deref().unwrap_or_default(),
                labels,
                |key| Some(pipeline.resolve_loss_reason(key).ok()?.label.zh.clone()),
            );
            record.extend([
                Value::text(lead.owner.clone().unwrap_or_default()),
                Value::text(stage),
                Value::time(Some(lead.stage_entered_at), zone),
                Value::time(Some(lead.created_at), zone),
                Value::text(outcome),
                Value::time(
                    lead.outcome_at.filter(|_| lead.outcome != Outcome::Open),
                    zone,
                ),
                Value::money(lead.deal_amount),
                Value::text(reason),
                Value::text(closing_note(lead).unwrap_or_default()),
                Value::Count(lead.followups.len() as u64),
                Value::time(latest.map(|f| f.times.at), zone),
                Value::text(
                    latest
                        .map(|f| format!("{}: {}", f.channel, f.summary))
                        .unwrap_or_default(),
                ),
                Value::text(latest.and_then(|f| f.next.clone()).unwrap_or_default()),
                Value::text(
                    latest
                        .and_then(|f| f.due)
                        .map(|due| due.to_stored())
                        .unwrap_or_default(),
                ),
            ]);
            vec![record]
        }
        ExportWhat::FollowUps => lead
            .followups
            .iter()
            .map(|followup| {
                vec![
                    Value::text(lead.id.as_str()),
                    Value::text(lead.text(Field::Company)),
                    Value::time(Some(followup.times.at), zone),
                    Value::time(Some(followup.times.recorded_at), zone),
                    Value::text(followup.times.by.clone()),
                    Value::text(followup.channel.clone()),
                    Value::text(followup.summary.clone()),
                    Value::text(followup.feedback.clone().unwrap_or_default()),
                    Value::text(followup.next.clone().unwrap_or_default()),
                    Value::text(followup.due.map(|due| due.to_stored()).unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

/// Writes records in one format.
enum Sink<'a> {
    Csv(Box<csv::Writer<&'a mut dyn Write>>),
    Json {
        out: &'a mut dyn Write,
        header: Vec<String>,
        first: bool,
    },
    Xlsx {
        workbook: Box<Workbook>,
        file: &'a mut File,
        row: u32,
    },
}

fn write_error(err: impl std::fmt::Display) -> TransferError {
    TransferError::Write {
        path: "the export".to_owned(),
        reason: err.to_string(),
    }
}

impl<'a> Sink<'a> {
    fn new(
        format: ExportFormat,
        destination: Destination<'a>,
        header: Vec<String>,
    ) -> Result<Sink<'a>, TransferError> {
        let stream: &'a mut dyn Write = match destination {
            Destination::File(file) if format == ExportFormat::Xlsx => {
                let mut workbook = Box::new(Workbook::new());
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(write_error)?;
                for (column, name) in header.iter().enumerate() {
                    sheet
                        .write_string(0, column_number(column)?, name.as_str())
                        .map_err(write_error)?;
                }
                return Ok(Sink::Xlsx {
                    workbook,
                    file,
                    row: 1,
                });
            }
            Destination::Stream(_) if format == ExportFormat::Xlsx => {
                return Err(TransferError::Write {
                    path: "standard output".to_owned(),
                    reason: "an XLSX export needs a file: give --out FILE.xlsx".to_owned(),
                });
            }
            Destination::File(file) => file,
            Destination::Stream(stream) => stream,
        };
        match format {
            ExportFormat::Csv => {
                stream
                    .write_all("\u{feff}".as_bytes())
                    .map_err(write_error)?;
                let mut writer = csv::Writer::from_writer(stream);
                writer.write_record(&header).map_err(write_error)?;
                Ok(Sink::Csv(Box::new(writer)))
            }
            _ => {
                stream.write_all(b"[").map_err(write_error)?;
                Ok(Sink::Json {
                    out: stream,
                    header,
                    first: true,
                })
            }
        }
    }

    fn record(&mut self, values: &[Value]) -> Result<(), TransferError> {
        match self {
            Sink::Csv(writer) => writer
                .write_record(values.iter().map(Value::as_text))
                .map_err(write_error),
            Sink::Json { out, header, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })
                    .map_err(write_error)?;
                *first = false;
                serde_json::to_writer(&mut **out, &Record { header, values }).map_err(write_error)
            }
            Sink::Xlsx { workbook, row, .. } => {
                let sheet = workbook.worksheet_from_index(0).map_err(write_error)?;
                for (column, value) in values.iter().enumerate() {
                    let column = column_number(column)?;
                    match value {
                        Value::Text(text) => sheet.write_string(*row, column, text).map(drop),
                        Value::Number(number) => {
                            sheet.write_number(*row, column, *number).map(drop)
                        }
                        Value::Count(count) => {
                            sheet.write_number(*row, column, *count as f64).map(drop)
                        }
                        Value::Empty => Ok(()),
                    }
                    .map_err(write_error)?;
                }
                *row += 1;
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<(), TransferError> {
        match self {
            Sink::Csv(mut writer) => writer.flush().map_err(write_error),
            Sink::Json { out, .. } => out.write_all(b"\n]\n").map_err(write_error),
            Sink::Xlsx {
                mut workbook, file, ..
            } => workbook.save_to_writer(file).map_err(write_error),
        }
    }
}

fn column_number(index: usize) -> Result<u16, TransferError> {
    u16::try_from(index).map_err(write_error)
}

/// Exports every lead that is not deleted, in id order, with `labels`; `progress` gets leads
/// done and the total. Returns the number of records written.
pub fn export<Tz: TimeZone>(
    store: &Store,
    (what, format, labels): (ExportWhat, ExportFormat, Labels),
    zone: &Tz,
    destination: Destination<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, TransferError>
where
    Tz::Offset: std::fmt::Display,
{
    let ids: Vec<_> = store
        .rows()?
        .into_iter()
        .filter(|row| !row.deleted)
        .map(|row| row.id)
        .collect();
    let pipeline = store.pipeline();
    let unit = pipeline.amount_unit();
    let mut sink = Sink::new(format, destination, header(what, labels, unit.as_deref()))?;
    let mut written = 0;
    for (done, id) in ids.iter().enumerate() {
        let lead = store.load(id)?.view();
        for record in records(&lead, what, (pipeline, labels), zone) {
            sink.record(&record)?;
            written += 1;
        }
        progress(done as u64 + 1, ids.len() as u64);
    }
    sink.finish()?;
    Ok(written)
}
