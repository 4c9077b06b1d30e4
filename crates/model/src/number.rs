//! Lead numbers people can say on the phone: `LX2611KQM007` is the 7th lead the device `KQM`
//! numbered in November 2026. Each device numbers its own leads with no coordination: its
//! three letters come from its Automerge actor id (13,824 combinations, no I or O to misread),
//! and its sequence per month is kept in its store. Two devices of a team drawing the same
//! letters is possible (about 1 in 460 for a team of five devices); a number two leads share is
//! then refused as ambiguous wherever it is typed, naming both, and the id still names each.

use automerge::ActorId;
use chrono::{DateTime, Utc};

/// What every lead number starts with (线索, lead).
pub const PREFIX: &str = "LX";

/// Letters a device code is made of: no I or O, which read as 1 and 0.
const LETTERS: &[u8; 24] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The three letters a device numbers its leads with, from its actor id.
pub fn device_code(actor: &ActorId) -> String {
    let bytes = actor.to_bytes();
    let value = bytes.iter().take(8).fold(0u64, |acc, byte| {
        acc.wrapping_mul(256).wrapping_add(u64::from(*byte))
    });
    (0..3)
        .map(|place| {
            let index = (value / 24u64.pow(place)) % 24;
            char::from(LETTERS[usize::try_from(index).unwrap_or(0)])
        })
        .collect()
}

/// The month a lead numbered at `at` counts in: `2611` for November 2026.
pub fn month(at: DateTime<Utc>) -> String {
    at.format("%y%m").to_string()
}

/// The number of the `sequence`th lead (from 1) a device `device` numbered in `month`.
pub fn lead_number(month: &str, device: &str, sequence: u32) -> String {
    format!("{PREFIX}{month}{device}{sequence:03}")
}

/// Whether `text` has the shape of a lead number (any case).
pub fn looks_like_number(text: &str) -> bool {
    let text = text.trim().to_ascii_uppercase();
    text.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() >= 10
            && rest[..4].bytes().all(|b| b.is_ascii_digit())
            && rest[4..7].bytes().all(|b| b.is_ascii_uppercase())
            && rest[7..].bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_on_the_phone() {
        let actor = ActorId::from(&[7u8; 16][..]);
        let code = device_code(&actor);
        assert_eq!(code.len(), 3);
        assert!(!code.contains(['I', 'O']));
        assert_eq!(
            device_code(&actor),
            code,
            "the same device, the same letters"
        );
        let at: DateTime<Utc> = "2026-11-29T03:00:00Z".parse().unwrap();
        let number = lead_number(&month(at), &code, 7);
        assert_eq!(number, format!("LX2611{code}007"));
        assert!(looks_like_number(&number.to_lowercase()));
        assert!(!looks_like_number("LX26"));
        assert_eq!(lead_number("2611", "KQM", 1234), "LX2611KQM1234");
    }
}
