//! A ratio with its parts: "n/a" when nothing was counted below the line.

use serde::{Serialize, Serializer};
use std::fmt;

/// `numerator / denominator`, kept as counts so the parts stay visible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rate {
    /// What was counted above the line.
    pub numerator: u64,
    /// What was counted below it.
    pub denominator: u64,
}

impl Rate {
    /// `numerator / denominator`.
    pub fn new(numerator: u64, denominator: u64) -> Rate {
        Rate {
            numerator,
            denominator,
        }
    }

    /// The ratio, or `None` when the denominator is zero.
    pub fn value(self) -> Option<f64> {
        (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64)
    }
}

impl fmt::Display for Rate {
    /// `42.9%`, or `n/a` with no denominator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Some(value) => write!(f, "{:.1}%", value * 100.0),
            None => f.write_str("n/a"),
        }
    }
}

impl Serialize for Rate {
    /// `{"numerator": 3, "denominator": 7, "rate": 0.4286}`; `rate` is `null` with no denominator.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Rate", 3)?;
        out.serialize_field("numerator", &self.numerator)?;
        out.serialize_field("denominator", &self.denominator)?;
        out.serialize_field("rate", &self.value())?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_denominator_is_not_applicable() {
        assert_eq!(Rate::new(0, 0).to_string(), "n/a");
        assert_eq!(Rate::new(0, 0).value(), None);
        assert_eq!(Rate::new(3, 7).to_string(), "42.9%");
        assert_eq!(Rate::new(0, 4).to_string(), "0.0%");
    }
}
