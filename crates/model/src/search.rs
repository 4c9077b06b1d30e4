//! Finding a lead by what a person knows of the customer: a piece of the company's or the
//! contact's name (Chinese substrings included), of the phone number, of the email or of the
//! lead number.
//! Letters match without regard to case; a query of digits matches the phone's digits whatever
//! the spacing (`13800138` finds `+86 138 0013 8000`).

use crate::row::LeadRow;

/// A search as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// The text, lowercased.
    text: String,
    /// The query's digits, when it is a phone number (three digits or more, nothing but digits,
    /// spaces, `+`, `-` and brackets).
    digits: Option<String>,
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

impl Search {
    /// The search for `text`, or `None` when it is blank.
    pub fn new(text: &str) -> Option<Search> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let phone_like = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c));
        let number = digits(text);
        Some(Search {
            text: text.to_lowercase(),
            digits: (phone_like && number.len() >= 3).then_some(number),
        })
    }

    /// Whether `row` matches: its company, contact, phone or email contains the text.
    pub fn matches(&self, row: &LeadRow) -> bool {
        let contains = |value: &str| {
            if value.is_ascii() && self.text.is_ascii() {
                value.to_ascii_lowercase().contains(&self.text)
            } else {
                value.to_lowercase().contains(&self.text)
            }
        };
        contains(&row.company)
            || contains(&row.number)
            || contains(&row.contact)
            || contains(&row.email)
            || contains(&row.phone)
            || self
                .digits
                .as_ref()
                .is_some_and(|wanted| digits(&row.phone).contains(wanted.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::LeadId;
    use crate::view::Outcome;

    fn row() -> LeadRow {
        LeadRow {
            id: LeadId::from_bytes([1; 16]),
            number: "LX2611KQM007".into(),
            company: "深圳市腾飞科技有限公司".into(),
            contact: "张伟".into(),
            title: "".into(),
            phone: "+86 138 0013 8000".into(),
            email: "Zhang.Wei@Example.com".into(),
            industry: "".into(),
            size: "".into(),
            region: "".into(),
            budget: "".into(),
            competitors: "".into(),
            source: "".into(),
            priority: None,
            owner: None,
            stage: "acquisition".into(),
            stage_entered_ms: 0,
            created_ms: 0,
            amount: None,
            expected_close: None,
            outcome: Outcome::Open,
            outcome_ms: None,
            deal_amount: None,
            loss_reason: None,
            deleted: false,
            conflicts: 0,
            followups: 0,
            last_followup_ms: None,
            next_due: None,
            hold_until: None,
            stage_path: Vec::new(),
        }
    }

    #[test]
    fn finds_by_any_piece_of_what_a_person_knows() {
        let row = row();
        for text in [
            "腾飞",
            "张",
            "zhang.wei",
            "EXAMPLE",
            "13800138",
            "138 0013",
            "+86",
        ] {
            assert!(Search::new(text).unwrap().matches(&row), "{text}");
        }
        for text in ["华为", "lina", "13900"] {
            assert!(!Search::new(text).unwrap().matches(&row), "{text}");
        }
        assert_eq!(Search::new("  "), None);
    }
}
