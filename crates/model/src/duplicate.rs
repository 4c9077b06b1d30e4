//! Leads that are probably the same customer: the same phone, the same email, or the same
//! company and contact. An import checks every row by these keys; the app warns before a new
//! lead repeats one.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::row::LeadRow;

/// What two leads share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Match {
    /// The same phone number: its last ten digits, so that `+86 138 0013 8000` and
    /// `13800138000` match (shorter numbers: all their digits).
    Phone,
    /// The same email (case ignored).
    Email,
    /// The same company and contact (case and spaces ignored).
    CompanyAndContact,
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Match::Phone => "phone",
            Match::Email => "email",
            Match::CompanyAndContact => "company and contact",
        })
    }
}

/// The keys a lead is found by, each a hash of its normalised text.
pub fn keys(phone: &str, email: &str, company: &str, contact: &str) -> Vec<(Match, u64)> {
    let hash = |parts: &[&str]| {
        let mut hasher = DefaultHasher::new();
        parts.hash(&mut hasher);
        hasher.finish()
    };
    let folded = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let digits: String = digits[digits.len().saturating_sub(10)..].iter().collect();
    let email = email.trim().to_lowercase();
    let (company, contact) = (folded(company), folded(contact));
    let mut found = Vec::with_capacity(3);
    if !digits.is_empty() {
        found.push((Match::Phone, hash(&["phone", &digits])));
    }
    if !email.is_empty() {
        found.push((Match::Email, hash(&["email", &email])));
    }
    if !company.is_empty() && !contact.is_empty() {
        found.push((Match::CompanyAndContact, hash(&["who", &company, &contact])));
    }
    found
}

/// The stored leads that `phone`, `email`, `company` and `contact` (as typed) repeat, with what
/// each shares; deleted leads are left out.
pub fn among<'a>(
    phone: &str,
    email: &str,
    company: &str,
    contact: &str,
    rows: &'a [LeadRow],
) -> Vec<(Match, &'a LeadRow)> {
    let wanted = keys(phone, email, company, contact);
    if wanted.is_empty() {
        return Vec::new();
    }
    rows.iter()
        .filter(|row| !row.deleted)
        .filter_map(|row| {
            let theirs = keys(&row.phone, &row.email, &row.company, &row.contact);
            wanted
                .iter()
                .find(|key| theirs.contains(key))
                .map(|(matched, _)| (*matched, row))
        })
        .collect()
}
