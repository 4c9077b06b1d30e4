//! Reading the dates and times people type.
//!
//! Everything is stored in UTC and shown in local time. A time typed without an offset
//! (`2024-05-10 14:30`, `2024-05-10`) means that wall-clock time in the user's zone, which is
//! passed in so the parsing is testable in any zone. Due dates and expected close dates are
//! calendar dates when typed as dates: "by 05-12" means by the end of that day wherever the rep is.

use std::fmt;

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The forms accepted, for error messages.
pub const ACCEPTED_FORMS: &str = "use YYYY-MM-DD (or 2024/05/10, 2024年5月10日), 'YYYY-MM-DD HH:MM', RFC 3339 (2024-05-10T14:30:00+08:00), today, yesterday or tomorrow";

/// A date written the way a Chinese team writes it (`2024/5/10`, `2024.05.10`,
/// `2024年5月10日`, with or without a time after it) in the ISO form the parsers read.
fn iso(text: &str) -> String {
    let text = text.trim();
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let parts: Vec<&str> = date
        .trim_end_matches('日')
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let date = match parts.as_slice() {
        [year, month, day]
            if year.len() == 4
                && [year, month, day]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            format!("{year}-{month:0>2}-{day:0>2}")
        }
        _ => return text.to_owned(),
    };
    match time {
        Some(time) => format!("{date} {}", time.trim()),
        None => date,
    }
}

/// Events may not be dated before this (a typo guard, not a business rule).
pub fn earliest_event() -> DateTime<Utc> {
    DateTime::<Utc>::from_naive_utc_and_offset(
        NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        Utc,
    )
}

/// How far in the future an event time may be, to allow for clock skew between devices.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 10;

/// Parses when something happened (`--at`). Date-only input means the start of that local day.
/// The result must lie between 2000-01-01 and `now` (plus a small clock-skew tolerance).
pub fn parse_event_time<Tz: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<DateTime<Utc>, String> {
    let at = parse_instant(text, now, zone)?;
    if at > now + chrono::Duration::minutes(FUTURE_TOLERANCE_MINUTES) {
        return Err(format!(
            "'{text}' is in the future: --at says when something already happened"
        ));
    }
    if at < earliest_event() {
        return Err(format!("'{text}' is before 2000-01-01: check the year"));
    }
    Ok(at)
}

fn parse_instant<Tz: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<DateTime<Utc>, String> {
    let trimmed = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(at.with_timezone(&Utc));
    }
    let today = now.with_timezone(zone).date_naive();
    let naive = match trimmed.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" | "今天" => today.and_time(NaiveTime::MIN),
        "yesterday" | "昨天" => (today - Days::new(1)).and_time(NaiveTime::MIN),
        "tomorrow" | "明天" => (today + Days::new(1)).and_time(NaiveTime::MIN),
        _ => parse_naive(&iso(trimmed))
            .ok_or_else(|| format!("'{text}' is not a date or time: {ACCEPTED_FORMS}"))?,
    };
    local_to_utc(naive, zone).ok_or_else(|| {
        format!("'{text}' does not exist in the local time zone (a daylight-saving gap)")
    })
}

fn parse_naive(text: &str) -> Option<NaiveDateTime> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_time(NaiveTime::MIN));
    }
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Maps a local wall-clock time to UTC; an ambiguous time (DST fold) takes the earlier instant.
fn local_to_utc<Tz: TimeZone>(naive: NaiveDateTime, zone: &Tz) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// Parses a moment to look back at (`--as-of`): a date alone (`2024-03-05`, `today`,
/// `yesterday`) means the end of that local day, or now for today; a time means that moment.
/// It must not lie ahead.
pub fn parse_as_of<Tz: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<DateTime<Utc>, String> {
    if text.contains(':') {
        return parse_event_time(text, now, zone);
    }
    let date = parse_date(text, now, zone)?;
    let next = date
        .succ_opt()
        .ok_or_else(|| format!("'{text}' is past the last date there is"))?;
    let end = parse_instant(&next.format("%Y-%m-%d").to_string(), now, zone)?
        - chrono::Duration::seconds(1);
    if date > now.with_timezone(zone).date_naive() {
        return Err(format!(
            "'{text}' is in the future: give today or an earlier date"
        ));
    }
    Ok(end.min(now))
}

/// Parses a calendar date (`--expected-close`); RFC 3339 input is read as its local date.
pub fn parse_date<Tz: TimeZone>(
    text: &str,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<NaiveDate, String> {
    let date = match NaiveDate::parse_from_str(&iso(text), "%Y-%m-%d") {
        Ok(date) => date,
        Err(_) => parse_instant(text, now, zone)?
            .with_timezone(zone)
            .date_naive(),
    };
    check_plausible_year(text, date)?;
    Ok(date)
}

fn check_plausible_year(text: &str, date: NaiveDate) -> Result<(), String> {
    use chrono::Datelike;
    if (2000..=2100).contains(&date.year()) {
        Ok(())
    } else {
        Err(format!("'{text}' is outside 2000-2100: check the year"))
    }
}

/// When a next step is due: a whole calendar day, or an exact moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Due {
    /// Due by the end of this day, in whatever zone the rep is in.
    Date(NaiveDate),
    /// Due at this moment.
    At(DateTime<Utc>),
}

impl Due {
    /// Parses `--due`: a date stays a date; anything with a time becomes a moment.
    pub fn parse<Tz: TimeZone>(text: &str, now: DateTime<Utc>, zone: &Tz) -> Result<Self, String> {
        let trimmed = text.trim();
        let due = match NaiveDate::parse_from_str(&iso(trimmed), "%Y-%m-%d") {
            Ok(date) => Due::Date(date),
            Err(_) => match trimmed.to_ascii_lowercase().as_str() {
                "today" | "yesterday" => Due::Date(
                    parse_instant(trimmed, now, zone)?
                        .with_timezone(zone)
                        .date_naive(),
                ),
                "tomorrow" => Due::Date(now.with_timezone(zone).date_naive() + Days::new(1)),
                _ => Due::At(parse_instant(trimmed, now, zone)?),
            },
        };
        check_plausible_year(text, due.date_in(zone))?;
        Ok(due)
    }

    /// Reads the stored form written by [`Due::to_stored`].
    pub fn from_stored(text: &str) -> Option<Self> {
        // `NaiveDate`'s own ISO parser: several times faster than a format string, and the
        // alerts read every open lead's due date.
        text.parse::<NaiveDate>()
            .map(Due::Date)
            .or_else(|_| {
                DateTime::parse_from_rfc3339(text).map(|at| Due::At(at.with_timezone(&Utc)))
            })
            .ok()
    }

    /// The stored form: `YYYY-MM-DD` or RFC 3339 in UTC.
    pub fn to_stored(self) -> String {
        match self {
            Due::Date(date) => date.format("%Y-%m-%d").to_string(),
            Due::At(at) => at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    /// The calendar day it falls on in `zone`.
    pub fn date_in<Tz: TimeZone>(self, zone: &Tz) -> NaiveDate {
        match self {
            Due::Date(date) => date,
            Due::At(at) => at.with_timezone(zone).date_naive(),
        }
    }
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

/// Milliseconds since the epoch, as Automerge timestamps hold them.
pub fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn now() -> DateTime<Utc> {
        "2024-05-10T06:30:00Z".parse().unwrap()
    }

    fn shanghai() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn date_only_means_local_midnight() {
        let at = parse_event_time("2024-05-09", now(), &shanghai()).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-08T16:00:00+00:00");
        let at = parse_event_time("2024-05-09 14:30", now(), &shanghai()).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-09T06:30:00+00:00");
        let at = parse_event_time("yesterday", now(), &shanghai()).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-08T16:00:00+00:00");
    }

    #[test]
    fn dates_as_a_chinese_team_writes_them() {
        for text in ["2024/5/9", "2024.05.09", "2024年5月9日", "2024-05-09"] {
            assert_eq!(
                parse_date(text, now(), &shanghai()).unwrap().to_string(),
                "2024-05-09",
                "{text}"
            );
        }
        let at = parse_event_time("2024/05/09 14:30", now(), &shanghai()).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-09T06:30:00+00:00");
        assert_eq!(
            parse_date("明天", now(), &shanghai()).unwrap().to_string(),
            "2024-05-11"
        );
        assert!(parse_date("2024年13月9日", now(), &shanghai()).is_err());
    }

    #[test]
    fn rfc3339_keeps_its_offset() {
        let at = parse_event_time("2024-05-10T14:30:00+08:00", now(), &Utc).unwrap();
        assert_eq!(at.to_rfc3339(), "2024-05-10T06:30:00+00:00");
    }

    #[test]
    fn insane_event_times_are_refused() {
        assert!(
            parse_event_time("2024-06-01", now(), &Utc)
                .unwrap_err()
                .contains("future")
        );
        assert!(
            parse_event_time("1999-12-31", now(), &Utc)
                .unwrap_err()
                .contains("2000")
        );
        assert!(
            parse_event_time("2024-13-01", now(), &Utc)
                .unwrap_err()
                .contains("not a date")
        );
        assert!(
            parse_event_time("10/05/2024", now(), &Utc)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn due_dates_stay_dates() {
        let due = Due::parse("2024-05-12", now(), &shanghai()).unwrap();
        assert_eq!(
            due,
            Due::Date(NaiveDate::from_ymd_opt(2024, 5, 12).unwrap())
        );
        assert_eq!(Due::from_stored(&due.to_stored()), Some(due));
        let exact = Due::parse("2024-05-12T09:00:00Z", now(), &Utc).unwrap();
        assert_eq!(Due::from_stored(&exact.to_stored()), Some(exact));
    }
}
