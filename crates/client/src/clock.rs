//! Whether this device's clock agrees with the relay's. Every event a rep records is stamped
//! with the device's clock, so a phone set a year ahead records wins "in 2028"; the relay says
//! its time in its welcome, and a device more than [`TOLERANCE`] off is told so.

use chrono::{DateTime, TimeDelta, Utc};

/// How far the clocks may differ before the device is warned (network time keeps a phone
/// within a second; this leaves room for a slow connection).
pub const TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// How far this device's clock is from the relay's, when that is more than [`TOLERANCE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockSkew {
    /// This device's time minus the relay's: positive when the device is ahead.
    pub ahead: TimeDelta,
}

impl ClockSkew {
    /// The skew between `now` here and the relay's time `relay_ms` (milliseconds since
    /// 1970-01-01 UTC, from its welcome), if the relay said and it is more than [`TOLERANCE`].
    pub fn measure(relay_ms: Option<i64>, now: DateTime<Utc>) -> Option<ClockSkew> {
        let relay = DateTime::<Utc>::from_timestamp_millis(relay_ms?)?;
        let ahead = now - relay;
        (ahead.abs() > TOLERANCE).then_some(ClockSkew { ahead })
    }

    /// How far off, in the largest whole unit: (amount, "day" | "hour" | "minute").
    pub fn amount(&self) -> (i64, &'static str) {
        let off = self.ahead.abs();
        if off.num_days() > 0 {
            (off.num_days(), "day")
        } else if off.num_hours() > 0 {
            (off.num_hours(), "hour")
        } else {
            (off.num_minutes(), "minute")
        }
    }
}

impl std::fmt::Display for ClockSkew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (amount, unit) = self.amount();
        let side = if self.ahead > TimeDelta::zero() {
            "ahead of"
        } else {
            "behind"
        };
        write!(
            f,
            "this device's clock is {} {side} the relay's: set its date and time to automatic; what it records now carries the wrong time",
            fieldsync_model::plural::counted(amount.unsigned_abs(), unit)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_within_minutes_is_not_remarked_and_one_a_year_off_is() {
        let relay = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let relay_ms = Some(relay.timestamp_millis());
        assert_eq!(
            ClockSkew::measure(relay_ms, relay + TimeDelta::minutes(4)),
            None
        );
        assert_eq!(ClockSkew::measure(None, relay + TimeDelta::days(400)), None);
        let ahead = ClockSkew::measure(relay_ms, relay + TimeDelta::days(400)).unwrap();
        assert_eq!(
            ahead.to_string(),
            "this device's clock is 400 days ahead of the relay's: set its date and time to automatic; what it records now carries the wrong time"
        );
        let behind = ClockSkew::measure(relay_ms, relay - TimeDelta::hours(3)).unwrap();
        assert_eq!(behind.amount(), (3, "hour"));
        assert!(behind.to_string().contains("3 hours behind the relay's"));
    }
}
