//! fieldsync's funnel analytics: pure functions from projection rows, the pipeline, a period
//! and "now" to figures. No I/O and no clock: every figure is testable against a hand-computed
//! fixture, and every figure says how it counted.
//!
//! - [`period`]: the half-open time range a report covers, from calendar periods in a zone.
//! - [`rate`]: a ratio that is "n/a" when it has no denominator, never 0 or NaN.
//! - [`reach`]: when a lead reached each stage, under each counting rule.
//! - [`stages`]: per stage: leads in it now, leads that reached it, conversions.
//! - [`outcomes`]: win rate, deal sizes, loss analysis.
//! - [`durations`]: time in stage, creation to won, the proposal and negotiation cycles.
//! - [`pipeline_value`]: the weighted open pipeline and expected closes per month.
//! - [`groups`]: the same figures per source channel, owner, or customer trait (the winning profile).
//! - [`competitors`]: the competitors customers name, and how those deals ended.
//! - [`alerts`]: stale leads, missed cadences, next steps past due, anomalies.

pub mod alerts;
pub mod competitors;
pub mod durations;
pub mod groups;
pub mod outcomes;
pub mod period;
pub mod pipeline_value;
pub mod rate;
pub mod reach;
pub mod stages;

pub use period::{Compare, Period, Span};
pub use rate::Rate;
pub use reach::{Counting, Window};
