//! The time range a report covers: half-open `[from, to)` in UTC, made from calendar periods
//! (week, month, quarter, year) or dates as the user's zone sees them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// A calendar period kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// January-March, April-June, July-September, October-December.
    Quarter,
    /// A calendar year.
    Year,
}

/// `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First instant inside.
    from: DateTime<Utc>,
    /// First instant after.
    to: DateTime<Utc>,
    /// `from` and `to` in ms, for [`Period::contains_ms`], which every figure calls per row.
    #[serde(skip)]
    millis: (i64, i64),
}

/// Local midnight starting `date` in `zone` (the earliest, if a clock change makes it
/// ambiguous; the first instant of the day, if midnight does not exist that day).
fn midnight<Z: TimeZone>(date: NaiveDate, zone: &Z) -> DateTime<Utc> {
    let mut time = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..4 {
        if let Some(local) = zone.from_local_datetime(&time).earliest() {
            return local.with_timezone(&Utc);
        }
        time += Duration::minutes(30);
    }
    time.and_utc()
}

impl Period {
    /// The whole days `first..=last` in `zone`.
    pub fn days<Z: TimeZone>(first: NaiveDate, last: NaiveDate, zone: &Z) -> Period {
        Period::new(
            midnight(first, zone),
            midnight(last.succ_opt().unwrap_or(last), zone),
        )
    }

    /// The calendar period containing `now`, as `zone` sees it.
    pub fn containing<Z: TimeZone>(calendar: Calendar, now: DateTime<Utc>, zone: &Z) -> Period {
        let today = now.with_timezone(zone).date_naive();
        let (first, next) = match calendar {
            Calendar::Week => {
                let first =
                    today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                (first, first + Duration::days(7))
            }
            Calendar::Month => {
                let first = today.with_day(1).unwrap_or(today);
                (first, add_months(first, 1))
            }
            Calendar::Quarter => {
                let month = (today.month0() / 3) * 3 + 1;
                let first = NaiveDate::from_ymd_opt(today.year(), month, 1).unwrap_or(today);
                (first, add_months(first, 3))
            }
            Calendar::Year => {
                let first = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
                (first, add_months(first, 12))
            }
        };
        Period::new(midnight(first, zone), midnight(next, zone))
    }

    /// Whether `at` (ms since the epoch) is inside.
    pub fn contains_ms(&self, at: i64) -> bool {
        self.millis.0 <= at && at < self.millis.1
    }

    /// The period from `from` up to, not including, `to`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Period {
        Period {
            from,
            to,
            millis: (from.timestamp_millis(), to.timestamp_millis()),
        }
    }

    /// The first instant inside.
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The first instant after.
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
}

fn add_months(first: NaiveDate, months: u32) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(months))
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn periods_follow_the_local_calendar() {
        let shanghai = FixedOffset::east_opt(8 * 3600)
            .unwrap_or(FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
        // 2024-03-31 17:00 UTC is already April 1st in Shanghai.
        let now = utc("2024-03-31T17:00:00Z");
        let month = Period::containing(Calendar::Month, now, &shanghai);
        assert_eq!(month.from, utc("2024-03-31T16:00:00Z"));
        assert_eq!(month.to, utc("2024-04-30T16:00:00Z"));
        let quarter = Period::containing(Calendar::Quarter, now, &shanghai);
        assert_eq!(quarter.from, utc("2024-03-31T16:00:00Z"));
        assert_eq!(quarter.to, utc("2024-06-30T16:00:00Z"));
        let week = Period::containing(Calendar::Week, now, &Utc);
        assert_eq!(week.from, utc("2024-03-25T00:00:00Z"));
        assert_eq!(week.to, utc("2024-04-01T00:00:00Z"));
        let year = Period::containing(Calendar::Year, now, &Utc);
        assert_eq!(year.from, utc("2024-01-01T00:00:00Z"));
        assert!(!year.contains_ms(year.to.timestamp_millis()));
        assert!(year.contains_ms(year.from.timestamp_millis()));
    }
}
