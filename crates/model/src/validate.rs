//! Entry validation: what a phone number, an email or a line of text must look like.
//!
//! Every check returns a [`ValidationError`] naming the field and saying how to fix it, so the
//! command line can print it as one line.

use thiserror::Error;

/// A value a person typed that cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {problem}")]
#[non_exhaustive]
pub struct ValidationError {
    /// The field, as the command line names it (`phone`, `expected-close`).
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl ValidationError {
    /// An error about `field`.
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Longest single-line value (company, contact, title...), in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest free text (notes, follow-up summaries), in characters.
pub const MAX_TEXT_CHARS: usize = 5000;

/// A single-line value: trimmed, no control characters, at most [`MAX_LINE_CHARS`].
pub fn line(field: &'static str, text: &str) -> Result<String, ValidationError> {
    checked_text(field, text, MAX_LINE_CHARS, false)
}

/// Free text: trimmed, newlines and tabs allowed, at most [`MAX_TEXT_CHARS`].
pub fn free_text(field: &'static str, text: &str) -> Result<String, ValidationError> {
    checked_text(field, text, MAX_TEXT_CHARS, true)
}

/// Like [`line`] or [`free_text`] but must not be empty.
pub fn required(field: &'static str, value: String) -> Result<String, ValidationError> {
    if value.is_empty() {
        Err(ValidationError::new(
            field,
            "is required and cannot be empty",
        ))
    } else {
        Ok(value)
    }
}

fn checked_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let value = text.trim();
    if let Some(bad) = value
        .chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
    {
        return Err(ValidationError::new(
            field,
            format!("contains the control character {bad:?}: remove it"),
        ));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field,
            format!("is {chars} characters long; the limit is {max_chars}"),
        ));
    }
    Ok(value.to_owned())
}

/// A phone number: digits with optional `+` in front and spaces, dashes, dots or parentheses
/// between, 7 to 15 digits in all (E.164 allows at most 15).
pub fn phone(text: &str) -> Result<String, ValidationError> {
    let value = text.trim();
    let hint = "use 7 to 15 digits, optionally with a leading + and spaces, dashes or parentheses (+86 138 0013 8000)";
    let body = value.strip_prefix('+').unwrap_or(value);
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if value.is_empty() || !allowed || !(7..=15).contains(&digits) {
        return Err(ValidationError::new(
            "phone",
            format!("'{value}' is not a phone number: {hint}"),
        ));
    }
    Ok(value.to_owned())
}

/// An email address: RFC 5322 syntax with a dotted domain (`name@example.com`).
pub fn email(text: &str) -> Result<String, ValidationError> {
    let value = text.trim();
    let dotted_domain = value
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'));
    if !dotted_domain || !email_address::EmailAddress::is_valid(value) {
        return Err(ValidationError::new(
            "email",
            format!("'{value}' is not an email address: write it as name@example.com"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for good in [
            "+86 138 0013 8000",
            "(010) 6552-9988",
            "13800138000",
            "555.123.4567",
        ] {
            assert!(phone(good).is_ok(), "{good}");
        }
        for bad in [
            "12345",
            "phone me",
            "+86 138 0013 8000 0000 00",
            "138-abc-0000",
            "++8613800138000",
        ] {
            assert_eq!(phone(bad).unwrap_err().field, "phone", "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(email("zhang.wei@example.com").is_ok());
        assert!(email("张伟@例子.中国").is_ok());
        for bad in [
            "zhang",
            "zhang@localhost",
            "@example.com",
            "a b@example.com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_limits() {
        assert_eq!(line("company", "  华为  ").unwrap(), "华为");
        assert!(line("company", "a\nb").is_err());
        assert!(free_text("notes", "a\nb").is_ok());
        assert!(
            required("company", String::new())
                .unwrap_err()
                .to_string()
                .contains("company: is required")
        );
    }
}
