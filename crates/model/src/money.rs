//! Money amounts.
//!
//! An amount is kept as an integer number of hundredths of the team's currency unit, so sums
//! are exact. The unit itself is the team's choice (the playbooks count in 10k CNY); fieldsync
//! never converts between currencies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount in hundredths of the team's currency unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// From hundredths.
    pub const fn from_cents(cents: i64) -> Self {
        Self(cents)
    }

    /// From whole units.
    pub const fn from_units(units: i64) -> Self {
        Self(units * 100)
    }

    /// The amount in hundredths.
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// The amount as a float, for averages and charts.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl FromStr for Money {
    type Err = String;

    /// Accepts `25`, `25.5`, `1,200.50` or `1_200`; rejects negatives and more than 2 decimals.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| *c != ',' && *c != '_')
            .collect();
        let hint = "write a non-negative number such as 25 or 1200.50";
        if cleaned.starts_with('-') {
            return Err(format!("'{text}' is negative: {hint}"));
        }
        let (whole, frac) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && frac.is_empty()
            || !digits_only(whole)
            || !digits_only(frac)
            || frac.len() > 2
        {
            return Err(format!("'{text}' is not an amount: {hint}"));
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole
                .parse()
                .map_err(|_| format!("'{text}' is too large: {hint}"))?
        };
        let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .map(Money)
            .ok_or_else(|| format!("'{text}' is too large: {hint}"))
    }
}

/// The team's currency and the unit its amounts are counted in (CNY in units of 10,000:
/// 万元), kept in the team document and shown beside every amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// ISO code (`CNY`).
    pub code: String,
    /// How many of the currency one unit of an amount is (10000 for 万元; 1 for yuan).
    pub unit: u32,
    /// How the unit is written beside an amount (`万元`; `CNY` when blank).
    #[serde(default)]
    pub label: String,
}

impl Currency {
    /// What is written beside an amount: the label, or the code (with the unit when not 1).
    pub fn beside(&self) -> String {
        match (self.label.trim(), self.unit) {
            ("", 1) => self.code.clone(),
            ("", unit) => format!("{} {unit}", self.code),
            (label, _) => label.to_owned(),
        }
    }

    /// Checks the code is three letters and the unit not zero.
    pub fn check(&self) -> Result<(), String> {
        if self.code.len() != 3 || !self.code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "'{}' is not a currency code: use three capital letters like CNY",
                self.code
            ));
        }
        if self.unit == 0 {
            return Err("a currency unit of 0 counts nothing: use 1, 1000 or 10000".to_owned());
        }
        Ok(())
    }
}

/// How many currency units a written multiplier stands for (`万` is 10,000).
const MULTIPLIERS: [(&str, f64); 7] = [
    ("亿", 100_000_000.0),
    ("万", 10_000.0),
    ("w", 10_000.0),
    ("W", 10_000.0),
    ("千", 1_000.0),
    ("k", 1_000.0),
    ("K", 1_000.0),
];

/// Currency marks a sheet may write around an amount.
const MARKS: [&str; 7] = ["¥", "￥", "RMB", "CNY", "人民币", "元", "$"];

impl Money {
    /// An amount as a sheet or a person writes it, in a team whose amounts count `unit` of
    /// the currency: `25` (already in the team's unit), `20万`, `¥200,000`, `200000元`,
    /// `1.5k`. A written multiplier or currency mark means currency, converted to the unit.
    pub fn parse_written(text: &str, unit: u32) -> Result<Money, String> {
        let mut rest = text.trim().to_owned();
        let mut currency = false;
        for mark in MARKS {
            if let Some(stripped) = rest.strip_prefix(mark).or_else(|| rest.strip_suffix(mark)) {
                rest = stripped.trim().to_owned();
                currency = true;
            }
        }
        let mut factor = 1.0;
        for (suffix, times) in MULTIPLIERS {
            if let Some(stripped) = rest.strip_suffix(suffix) {
                rest = stripped.trim().to_owned();
                factor = times;
                currency = true;
                break;
            }
        }
        if !currency {
            return text.parse();
        }
        let number: f64 = rest
            .replace([',', '_'], "")
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("'{text}' is not an amount: write 25, 20万 or ¥200,000"))?;
        let cents = (number * factor / f64::from(unit.max(1)) * 100.0).round();
        if cents > i64::MAX as f64 {
            return Err(format!("'{text}' is too large"));
        }
        Ok(Money(cents as i64))
    }
}

impl fmt::Display for Money {
    /// `25`, `25.5`, `25.05`: no trailing zeros, no thousands separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            _ => write!(f, "{whole}.{frac:02}"),
        }
    }
}

/// Human-readable formats (JSON) carry a number in units (`25.5`), which is what scripts
/// expect; binary formats (the store's rows) carry the exact integer of hundredths.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_f64(self.as_f64())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let units = f64::deserialize(deserializer)?;
            Ok(Money((units * 100.0).round() as i64))
        } else {
            i64::deserialize(deserializer).map(Money)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (input, cents, shown) in [
            ("25", 2500, "25"),
            ("25.5", 2550, "25.5"),
            ("1,200.05", 120005, "1200.05"),
            (".5", 50, "0.5"),
            ("0", 0, "0"),
        ] {
            let m: Money = input.parse().unwrap();
            assert_eq!(m.cents(), cents, "{input}");
            assert_eq!(m.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn amounts_written_with_units_convert_to_the_teams_unit() {
        for (text, unit, cents) in [
            ("20万", 10_000, 2000),
            ("¥200,000", 10_000, 2000),
            ("200000元", 10_000, 2000),
            ("25", 10_000, 2500),
            ("20万", 1, 20_000_000),
            ("1.5k", 1, 150_000),
            ("￥ 3,000", 1_000, 300),
        ] {
            assert_eq!(
                Money::parse_written(text, unit).unwrap().cents(),
                cents,
                "{text} in units of {unit}"
            );
        }
        assert!(Money::parse_written("二十万", 1).is_err());
        assert!(Money::parse_written("-5万", 1).is_err());
    }

    #[test]
    fn json_carries_units() {
        let m = Money::from_cents(2550);
        assert_eq!(serde_json::to_string(&m).unwrap(), "25.5");
        assert_eq!(serde_json::from_str::<Money>("25.5").unwrap(), m);
    }

    #[test]
    fn rejects_bad_amounts() {
        for bad in ["-1", "abc", "1.234", "", ".", "1e5", "99999999999999999999"] {
            assert!(bad.parse::<Money>().is_err(), "{bad}");
        }
    }
}
