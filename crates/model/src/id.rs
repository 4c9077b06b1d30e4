//! Lead identifiers.
//!
//! Ids are random (UUID v4, 32 lowercase hex digits) so that devices create them without
//! coordination *and* any short prefix is likely unique. Time-ordered ids (UUIDv7, ULID) were
//! rejected: leads created in the same weeks share their first 8-10 characters, which defeats
//! the short prefixes people type (`fieldsync move 3f2a discovery`).

use std::fmt;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// Number of characters shown where a table needs a short id.
pub const SHORT_ID_LEN: usize = 8;

/// Fewest characters accepted as an id prefix.
pub const MIN_PREFIX_LEN: usize = 4;

/// A lead's identity: 32 lowercase hexadecimal digits.
///
/// Held as a [`SmolStr`], so the copies analytics and alerts make share one allocation.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(SmolStr);

impl LeadId {
    /// A new random id.
    pub fn random() -> Self {
        Self(SmolStr::new(
            uuid::Uuid::new_v4()
                .simple()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        ))
    }

    /// An id from 16 bytes, for deterministic generators and tests.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(SmolStr::new(
            uuid::Uuid::from_bytes(bytes)
                .simple()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        ))
    }

    /// Parses a full id; `None` unless it is exactly 32 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(text.into()))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first [`SHORT_ID_LEN`] characters, for tables.
    pub fn short(&self) -> &str {
        // Ids read back from storage are not re-validated, so never slice past the end.
        self.0.get(..SHORT_ID_LEN).unwrap_or(&self.0)
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeadId({})", self.0)
    }
}

/// Normalises what a person typed as an id prefix, or says why it cannot be one.
pub fn normalize_prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim().to_ascii_lowercase();
    if prefix.len() < MIN_PREFIX_LEN {
        return Err(format!(
            "id '{text}' is too short: give at least {MIN_PREFIX_LEN} characters of it"
        ));
    }
    if prefix.len() > 32 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{text}' is not a lead id: ids are hexadecimal (0-9, a-f), as `fieldsync lead list` shows them"
        ));
    }
    Ok(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_32_hex_and_parse_back() {
        let id = LeadId::random();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(LeadId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.short().len(), SHORT_ID_LEN);
    }

    #[test]
    fn prefixes_are_checked() {
        assert_eq!(normalize_prefix(" AB12 ").as_deref(), Ok("ab12"));
        assert!(normalize_prefix("ab1").unwrap_err().contains("at least 4"));
        assert!(
            normalize_prefix("zzzz")
                .unwrap_err()
                .contains("hexadecimal")
        );
    }
}
