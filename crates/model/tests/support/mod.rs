//! Helpers shared by the model's behaviour tests: instants and stamps from text.

#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use fieldsync_model::Stamp;

/// An RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// `by` recording at `now` (RFC 3339).
pub fn stamp(by: &str, now: &str) -> Stamp {
    Stamp {
        by: by.into(),
        now: at(now),
    }
}
