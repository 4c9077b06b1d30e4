//! Rows that repeat a lead: the same phone, the same email, or the same company and contact,
//! against the leads already stored and the rows above them in the file.
//!
//! The index keeps a 64-bit hash of each normalised key rather than the text, so that it
//! stays small for big files (the chance of two different keys colliding among a million is
//! about one in thirty million).

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use fieldsync_model::{Field, LeadId, LeadRow};

use crate::draft::Draft;

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

/// The lead a duplicate repeats.
#[derive(Clone, Debug, PartialEq)]
pub enum Original {
    /// A lead already in the store.
    Stored {
        /// Its id.
        id: LeadId,
        /// Its company.
        company: String,
    },
    /// An earlier row of the file.
    Row {
        /// Its line.
        line: u64,
        /// The id its lead is given.
        id: LeadId,
    },
}

impl Original {
    /// The id of the lead a merge goes into.
    pub fn id(&self) -> &LeadId {
        match self {
            Original::Stored { id, .. } | Original::Row { id, .. } => id,
        }
    }
}

/// A row that repeats a lead.
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    /// The row's line.
    pub line: u64,
    /// What it shares.
    pub matched: Match,
    /// What it repeats.
    pub original: Original,
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.original {
            Original::Stored { id, company } => write!(
                f,
                "line {} has the {} of stored lead {} ({company})",
                self.line,
                self.matched,
                id.short()
            ),
            Original::Row { line, .. } => {
                write!(
                    f,
                    "line {} has the {} of line {line}",
                    self.line, self.matched
                )
            }
        }
    }
}

/// The keys a lead is found by.
fn keys(phone: &str, email: &str, company: &str, contact: &str) -> Vec<(Match, u64)> {
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

/// The keys one row or lead is found by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys(Vec<(Match, u64)>);

/// Every key seen so far, and whose it is.
#[derive(Clone, Debug, Default)]
pub struct DuplicateIndex {
    seen: HashMap<u64, usize>,
    originals: Vec<Original>,
}

impl DuplicateIndex {
    /// The index of the stored leads (deleted ones are not duplicated by a new row).
    pub fn of_store(rows: &[LeadRow]) -> DuplicateIndex {
        let mut index = DuplicateIndex::default();
        for row in rows.iter().filter(|row| !row.deleted) {
            index.add(
                &keys(&row.phone, &row.email, &row.company, &row.contact),
                Original::Stored {
                    id: row.id.clone(),
                    company: row.company.to_string(),
                },
            );
        }
        index
    }

    /// The keys `draft` is found by (computed apart from the index, so rows can be keyed on
    /// every core).
    pub fn keys_of(draft: &Draft) -> Keys {
        Keys(keys(
            draft.text(Field::Phone),
            draft.text(Field::Email),
            draft.text(Field::Company),
            draft.text(Field::Contact),
        ))
    }

    /// The lead the row on `line` with these keys repeats, if any.
    pub fn find(&self, keys: &Keys, line: u64) -> Option<Duplicate> {
        keys.0.iter().find_map(|&(matched, key)| {
            self.seen.get(&key).map(|&at| Duplicate {
                line,
                matched,
                original: self.originals[at].clone(),
            })
        })
    }

    /// Files `keys` under `original` (keys already filed keep their lead).
    pub fn insert(&mut self, keys: &Keys, original: Original) {
        self.add(&keys.0, original);
    }

    fn add(&mut self, keys: &[(Match, u64)], original: Original) {
        let at = self.originals.len();
        let mut used = false;
        for (_, key) in keys {
            if let std::collections::hash_map::Entry::Vacant(entry) = self.seen.entry(*key) {
                entry.insert(at);
                used = true;
            }
        }
        if used {
            self.originals.push(original);
        }
    }
}
