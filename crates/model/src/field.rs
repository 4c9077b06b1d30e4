//! The editable fields of a lead: one table that says, for each, its document key, its
//! command-line name, how typed text becomes a stored value, and how that value reads back.
//!
//! Creation, `lead edit`, conflict listing and the JSON view all go through this table, so a
//! field is added in one place.

use automerge::ScalarValue;
use chrono::{DateTime, TimeZone, Utc};

use crate::money::Money;
use crate::pipeline::Pipeline;
use crate::validate::{self, ValidationError};
use crate::vocab::Priority;
use crate::when;

/// What kind of value a field holds, which decides how it is parsed and stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Line,
    /// Free text with newlines.
    Text,
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// A source channel key from the pipeline.
    Source,
    /// high / medium / low.
    Priority,
    /// A money amount, stored as an integer of hundredths.
    Money,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
}

macro_rules! fields {
    ($($variant:ident => $key:literal, $flag:literal, $kind:ident, $doc:literal;)*) => {
        /// A lead field a person can set.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $(#[doc = $doc] $variant,)*
        }

        impl Field {
            /// Every field, in display order.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The key in the lead document and in JSON (`expected_close`).
            pub fn key(self) -> &'static str {
                match self { $(Field::$variant => $key,)* }
            }

            /// The command-line name (`expected-close`).
            pub fn flag(self) -> &'static str {
                match self { $(Field::$variant => $flag,)* }
            }

            /// How the field is parsed and stored.
            pub fn kind(self) -> FieldKind {
                match self { $(Field::$variant => FieldKind::$kind,)* }
            }

            /// One line saying what the field is, for help texts.
            pub fn help(self) -> &'static str {
                match self { $(Field::$variant => $doc,)* }
            }
        }
    };
}

fields! {
    Company => "company", "company", Line, "Company name (required).";
    Contact => "contact", "contact", Line, "Contact person's name (required).";
    Title => "title", "title", Line, "Contact's title or role in the decision chain.";
    Phone => "phone", "phone", Phone, "Contact phone.";
    Email => "email", "email", Email, "Contact email.";
    Industry => "industry", "industry", Line, "Industry.";
    Size => "size", "size", Line, "Company size band (staff or revenue).";
    Region => "region", "region", Line, "Sales region or territory (华东, 华南).";
    Source => "source", "source", Source, "Source channel key.";
    Priority => "priority", "priority", Priority, "Priority: high, medium or low.";
    Amount => "amount", "amount", Money, "Estimated deal amount.";
    ExpectedClose => "expected_close", "expected-close", Date, "Expected close date.";
    Notes => "notes", "note", Text, "General notes.";
    PainPoints => "pain_points", "pain-points", Text, "Needs: pain points.";
    Goals => "goals", "goals", Text, "Needs: goals.";
    DecisionChain => "decision_chain", "decision-chain", Text, "Needs: decision chain (influencer, decision maker, user).";
    Budget => "budget", "budget", Line, "Needs: budget range.";
    Timeline => "timeline", "timeline", Line, "Needs: project timeline.";
    Competitors => "competitors", "competitors", Text, "Competitors the customer talks to.";
    History => "history", "history", Text, "History with us.";
    Risks => "risks", "risks", Text, "Risks (\"needs sign-off from both IT and purchasing\").";
}

/// What parsing needs besides the text: the pipeline for sources, and the clock and zone for dates.
pub struct ParseContext<'a, Tz: TimeZone> {
    /// The team's pipeline.
    pub pipeline: &'a Pipeline,
    /// Now, for relative dates.
    pub now: DateTime<Utc>,
    /// The user's time zone.
    pub zone: &'a Tz,
}

impl Field {
    /// Looks a field up by its command-line name or document key.
    pub fn from_name(name: &str) -> Option<Field> {
        let name = name.trim().trim_start_matches("--");
        Field::ALL
            .iter()
            .copied()
            .find(|f| f.flag() == name || f.key() == name)
    }

    /// Whether every lead must have it.
    pub fn is_required(self) -> bool {
        matches!(self, Field::Company | Field::Contact)
    }

    /// Turns typed text into the value stored in the document. Empty text clears an optional field.
    pub fn parse<Tz: TimeZone>(
        self,
        text: &str,
        cx: &ParseContext<'_, Tz>,
    ) -> Result<Option<ScalarValue>, ValidationError> {
        let flag = self.flag();
        if text.trim().is_empty() {
            return if self.is_required() {
                Err(ValidationError::new(
                    flag,
                    "is required and cannot be empty",
                ))
            } else {
                Ok(None)
            };
        }
        let value = match self.kind() {
            FieldKind::Line => ScalarValue::Str(validate::line(flag, text)?.into()),
            FieldKind::Text => ScalarValue::Str(validate::free_text(flag, text)?.into()),
            FieldKind::Phone => ScalarValue::Str(validate::phone(text)?.into()),
            FieldKind::Email => ScalarValue::Str(validate::email(text)?.into()),
            FieldKind::Source => {
                let source = cx.pipeline.resolve_source(text)?;
                ScalarValue::Str(source.key.as_str().into())
            }
            FieldKind::Priority => {
                let priority: Priority = text
                    .parse()
                    .map_err(|problem: String| ValidationError::new(flag, problem))?;
                ScalarValue::Str(priority.key().into())
            }
            FieldKind::Money => {
                let unit = cx.pipeline.currency.as_ref().map_or(1, |c| c.unit);
                let money = Money::parse_written(text, unit)
                    .map_err(|problem| ValidationError::new(flag, problem))?;
                ScalarValue::Int(money.cents())
            }
            FieldKind::Date => {
                let date = when::parse_date(text, cx.now, cx.zone)
                    .map_err(|problem| ValidationError::new(flag, problem))?;
                ScalarValue::Str(date.format("%Y-%m-%d").to_string().into())
            }
        };
        Ok(Some(value))
    }

    /// A stored value as a person reads it (amounts in units, dates as written).
    pub fn display(self, value: &ScalarValue) -> String {
        match (self.kind(), value) {
            (FieldKind::Money, ScalarValue::Int(cents)) => Money::from_cents(*cents).to_string(),
            (_, ScalarValue::Str(text)) => text.to_string(),
            (_, ScalarValue::Null) => String::new(),
            (_, other) => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates;

    fn cx(pipeline: &Pipeline) -> ParseContext<'_, Utc> {
        ParseContext {
            pipeline,
            now: "2024-05-10T06:30:00Z".parse().unwrap(),
            zone: &Utc,
        }
    }

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::from_name(field.flag()), Some(*field));
            assert_eq!(Field::from_name(field.key()), Some(*field));
        }
    }

    #[test]
    fn parse_names_the_field_in_errors() {
        let pipeline = templates::b2b();
        let err = Field::Amount.parse("-3", &cx(&pipeline)).unwrap_err();
        assert_eq!(err.field, "amount");
        let err = Field::ExpectedClose
            .parse("soon", &cx(&pipeline))
            .unwrap_err();
        assert_eq!(err.field, "expected-close");
        let err = Field::Company.parse("  ", &cx(&pipeline)).unwrap_err();
        assert_eq!(err.field, "company");
        assert_eq!(Field::Notes.parse("", &cx(&pipeline)).unwrap(), None);
        assert_eq!(
            Field::Source.parse("Trade Show", &cx(&pipeline)).unwrap(),
            Some(ScalarValue::Str("trade-show".into()))
        );
    }
}
