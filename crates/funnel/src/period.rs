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
        Span::containing(calendar, now, zone).period(zone)
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

/// Which earlier period a period's figures are set beside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// The period just before: the previous week, month, quarter or year, or as many days
    /// right before a period given by its days.
    Previous,
    /// The same days a year before.
    YearAgo,
    /// No comparison.
    None,
}

impl Compare {
    /// How the comparison is named in every output.
    pub fn label(self) -> &'static str {
        match self {
            Compare::Previous => "the previous period",
            Compare::YearAgo => "a year before",
            Compare::None => "nothing",
        }
    }
}

/// A period as a person names it: whole days in their zone, a calendar period or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Its first day.
    pub first: NaiveDate,
    /// Its last day.
    pub last: NaiveDate,
    /// The calendar period it is, if it is one.
    pub calendar: Option<Calendar>,
}

impl Span {
    /// The calendar period containing `now`, as `zone` sees it.
    pub fn containing<Z: TimeZone>(calendar: Calendar, now: DateTime<Utc>, zone: &Z) -> Span {
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
        Span {
            first,
            last: next.pred_opt().unwrap_or(next),
            calendar: Some(calendar),
        }
    }

    /// The days `first..=last`; a calendar period when they are one (March 1 to 31 is a
    /// month, and is compared with February).
    pub fn days(first: NaiveDate, last: NaiveDate) -> Span {
        let ends = |months: u32| add_months(first, months).pred_opt() == Some(last);
        let calendar =
            if first.weekday() == chrono::Weekday::Mon && last == first + Duration::days(6) {
                Some(Calendar::Week)
            } else if first.day() != 1 {
                None
            } else if first.month() == 1 && ends(12) {
                Some(Calendar::Year)
            } else if first.month0().is_multiple_of(3) && ends(3) {
                Some(Calendar::Quarter)
            } else if ends(1) {
                Some(Calendar::Month)
            } else {
                None
            };
        Span {
            first,
            last,
            calendar,
        }
    }

    /// The instants of these days in `zone`.
    pub fn period<Z: TimeZone>(&self, zone: &Z) -> Period {
        Period::days(self.first, self.last, zone)
    }

    /// The span to compare this one with, if any.
    pub fn compared(&self, compare: Compare) -> Option<Span> {
        let back = |months: u32| {
            let first = sub_months(self.first, months);
            Span {
                first,
                last: match self.calendar {
                    // A calendar period's last day is the day before the next one begins.
                    Some(_) => self.first.pred_opt().unwrap_or(self.first),
                    None => sub_months(self.last, months),
                },
                calendar: self.calendar,
            }
        };
        match (compare, self.calendar) {
            (Compare::None, _) => None,
            (Compare::Previous, Some(Calendar::Week)) | (Compare::Previous, None) => {
                let days = (self.last - self.first).num_days() + 1;
                Some(Span {
                    first: self.first - Duration::days(days),
                    last: self.first - Duration::days(1),
                    calendar: self.calendar,
                })
            }
            (Compare::Previous, Some(Calendar::Month)) => Some(back(1)),
            (Compare::Previous, Some(Calendar::Quarter)) => Some(back(3)),
            (Compare::Previous, Some(Calendar::Year))
            | (Compare::YearAgo, Some(Calendar::Year)) => Some(back(12)),
            (Compare::YearAgo, _) => Some(Span {
                first: sub_months(self.first, 12),
                last: sub_months(self.last, 12),
                calendar: self.calendar,
            }),
        }
    }
}

fn sub_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(date)
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

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    #[test]
    fn the_period_to_compare_with() {
        let now = utc("2024-03-15T12:00:00Z");
        let compared = |calendar, compare| {
            Span::containing(calendar, now, &Utc)
                .compared(compare)
                .map(|span| (span.first, span.last))
        };
        let february = Some((day("2024-02-01"), day("2024-02-29")));
        assert_eq!(compared(Calendar::Month, Compare::Previous), february);
        assert_eq!(
            compared(Calendar::Month, Compare::YearAgo),
            Some((day("2023-03-01"), day("2023-03-31")))
        );
        assert_eq!(
            compared(Calendar::Quarter, Compare::Previous),
            Some((day("2023-10-01"), day("2023-12-31")))
        );
        assert_eq!(
            compared(Calendar::Week, Compare::Previous),
            Some((day("2024-03-04"), day("2024-03-10")))
        );
        assert_eq!(compared(Calendar::Year, Compare::None), None);
        // A whole month given by its days is a month.
        let whole = Span::days(day("2024-03-01"), day("2024-03-31"));
        assert_eq!(whole.calendar, Some(Calendar::Month));
        let before = whole.compared(Compare::Previous).unwrap();
        assert_eq!(
            (before.first, before.last),
            (day("2024-02-01"), day("2024-02-29"))
        );
        // Days: as many days right before, or the same days a year before.
        let days = Span::days(day("2024-03-01"), day("2024-03-10"));
        let before = days.compared(Compare::Previous).unwrap();
        assert_eq!(
            (before.first, before.last),
            (day("2024-02-20"), day("2024-02-29"))
        );
        let year = days.compared(Compare::YearAgo).unwrap();
        assert_eq!(
            (year.first, year.last),
            (day("2023-03-01"), day("2023-03-10"))
        );
    }
}
