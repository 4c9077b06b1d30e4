//! Counts as a person reads them: "1 lead", "2 leads".

/// `count` with `noun`, plural when it is not 1 (nouns fieldsync counts take an `s`).
pub fn counted(count: impl Into<u64>, noun: &str) -> String {
    match count.into() {
        1 => format!("1 {noun}"),
        count => format!("{count} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lead_two_leads() {
        assert_eq!(counted(1u64, "lead"), "1 lead");
        assert_eq!(counted(0u32, "lead"), "0 leads");
        assert_eq!(counted(2u64, "follow-up"), "2 follow-ups");
    }
}
