//! Values as a reader sees them: times in the device's local zone, day counts, amounts with the
//! team's unit.

use chrono::{DateTime, Local, NaiveDate, Utc};
use fieldsync_model::{Money, Pipeline};

/// A moment in local time: `2026-11-29 15:04`.
pub fn moment(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A moment from stored milliseconds.
pub fn moment_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(String::new, moment)
}

/// The value of a `datetime-local` input for a moment.
pub fn input_moment(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Today, in the device's zone.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Local).date_naive()
}

/// Whole days from `from_ms` to `now`.
pub fn days_since(from_ms: i64, now: DateTime<Utc>) -> i64 {
    (now.timestamp_millis() - from_ms).max(0) / 86_400_000
}

/// An amount with the team's unit, or "".
pub fn amount(pipeline: &Pipeline, money: Option<Money>) -> String {
    money.map_or_else(String::new, |money| pipeline.amount(money))
}

/// The form of a datetime-local input's text that the model's date parser reads.
pub fn typed_moment(text: &str) -> String {
    text.trim().replacen('T', " ", 1)
}
