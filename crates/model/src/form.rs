//! What a person typed, turned into checked values: the one place the command line's flags and
//! the app's form fields become a new lead or a follow-up, so both front ends accept and refuse
//! exactly the same text, with the same message naming the field.

use chrono::{DateTime, Offset, TimeZone, Utc};

use crate::action::{FollowUpDraft, LeadHistory, NewLead, Stamp};
use crate::field::{Field, ParseContext};
use crate::id::LeadId;
use crate::validate::{self, ValidationError};
use crate::vocab::{ContactChannel, Priority};
use crate::when::{self, Due};

/// Optional free text (a note, feedback): trimmed; empty means none.
pub fn optional_text(
    field: &'static str,
    text: Option<&str>,
) -> Result<Option<String>, ValidationError> {
    let Some(text) = text else { return Ok(None) };
    let value = validate::free_text(field, text)?;
    Ok((!value.is_empty()).then_some(value))
}

/// When something happened, as typed (`None` or blank: now), checked as the field `at`.
pub fn event_time<Tz: TimeZone>(
    at: Option<&str>,
    now: DateTime<Utc>,
    zone: &Tz,
) -> Result<DateTime<Utc>, ValidationError> {
    match at.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(now),
        Some(text) => when::parse_event_time(text, now, zone)
            .map_err(|problem| ValidationError::new("at", problem)),
    }
}

/// A parse whose problem is a plain message, as a [`ValidationError`] of `field`.
pub fn parse_with<T>(field: &'static str, parsed: Result<T, String>) -> Result<T, ValidationError> {
    parsed.map_err(|problem| ValidationError::new(field, problem))
}

/// A follow-up as typed.
#[derive(Clone, Debug, Default)]
pub struct FollowUpText<'a> {
    /// When it happened (blank: now).
    pub at: Option<&'a str>,
    /// Phone, email, visit or message, by key or label.
    pub channel: &'a str,
    /// What was discussed (required).
    pub summary: &'a str,
    /// The customer's feedback.
    pub feedback: Option<&'a str>,
    /// The next step.
    pub next: Option<&'a str>,
    /// When the next step is due.
    pub due: Option<&'a str>,
}

impl FollowUpText<'_> {
    /// The checked follow-up; the first field that is wrong is named.
    pub fn draft<Tz: TimeZone>(
        &self,
        now: DateTime<Utc>,
        zone: &Tz,
    ) -> Result<FollowUpDraft, ValidationError> {
        let at = event_time(self.at, now, zone)?;
        Ok(FollowUpDraft {
            at,
            channel: parse_with("channel", self.channel.parse::<ContactChannel>())?,
            summary: validate::required("summary", validate::free_text("summary", self.summary)?)?,
            feedback: optional_text("feedback", self.feedback)?,
            next: optional_text("next", self.next)?,
            due: self
                .due
                .filter(|due| !due.trim().is_empty())
                .map(|due| parse_with("due", Due::parse(due, now, zone)))
                .transpose()?,
            zone: zone.offset_from_utc_datetime(&at.naive_utc()).fix(),
        })
    }
}

/// A new lead as typed.
#[derive(Clone, Debug, Default)]
pub struct NewLeadText<'a> {
    /// The fields given, with the text typed for each (company and contact are required).
    pub fields: Vec<(Field, &'a str)>,
    /// Responsible rep (`None`: whoever records it).
    pub owner: Option<&'a str>,
    /// When the lead came in (blank: now).
    pub at: Option<&'a str>,
}

impl NewLeadText<'_> {
    /// The checked lead, recorded by `stamp`, with a fresh id; the first field that is wrong
    /// is named. Priority is medium unless given.
    pub fn history<Tz: TimeZone>(
        &self,
        cx: &ParseContext<'_, Tz>,
        stamp: &Stamp,
    ) -> Result<LeadHistory, ValidationError> {
        let mut fields = Vec::new();
        for (field, text) in &self.fields {
            if let Some(value) = field.parse(text, cx)? {
                fields.push((*field, value));
            }
        }
        for required in [Field::Company, Field::Contact] {
            if !fields.iter().any(|(field, _)| *field == required) {
                return Err(ValidationError::new(
                    required.flag(),
                    "is required and cannot be empty",
                ));
            }
        }
        if !fields.iter().any(|(field, _)| *field == Field::Priority) {
            fields.push((Field::Priority, Priority::Medium.key().into()));
        }
        let owner = match self.owner.map(str::trim).filter(|owner| !owner.is_empty()) {
            Some(owner) => validate::required("owner", validate::line("owner", owner)?)?,
            None => stamp.by.clone(),
        };
        Ok(LeadHistory {
            id: LeadId::random(),
            new: NewLead {
                fields,
                owner: Some(owner),
                created_at: event_time(self.at, cx.now, cx.zone)?,
                number: None,
            },
            creator: stamp.clone(),
            events: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates;
    use chrono::FixedOffset;

    fn now() -> DateTime<Utc> {
        "2026-03-20T09:00:00Z".parse().unwrap_or_default()
    }

    #[test]
    fn a_follow_up_names_the_first_wrong_field() {
        let zone = FixedOffset::east_opt(8 * 3600)
            .unwrap_or(FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
        let typed = FollowUpText {
            channel: "visit",
            summary: "  ",
            ..FollowUpText::default()
        };
        assert_eq!(
            typed.draft(now(), &zone).map_err(|e| e.field),
            Err("summary")
        );
        let typed = FollowUpText {
            channel: "pigeon",
            summary: "met",
            ..FollowUpText::default()
        };
        assert_eq!(
            typed.draft(now(), &zone).map_err(|e| e.field),
            Err("channel")
        );
        let typed = FollowUpText {
            channel: "visit",
            summary: "met",
            next: Some("quote"),
            due: Some("tomorrow"),
            ..FollowUpText::default()
        };
        let draft = typed.draft(now(), &zone).map_err(|e| e.to_string());
        assert!(matches!(draft, Ok(FollowUpDraft { at, due: Some(_), .. }) if at == now()));
    }

    #[test]
    fn a_new_lead_needs_company_and_contact_and_a_good_phone() {
        let pipeline = templates::b2b();
        let zone = Utc;
        let cx = ParseContext {
            pipeline: &pipeline,
            now: now(),
            zone: &zone,
        };
        let stamp = Stamp {
            by: "lina".into(),
            now: now(),
        };
        let typed = NewLeadText {
            fields: vec![(Field::Company, "腾飞科技")],
            ..NewLeadText::default()
        };
        assert_eq!(
            typed.history(&cx, &stamp).map_err(|e| e.field),
            Err("contact")
        );
        let typed = NewLeadText {
            fields: vec![
                (Field::Company, "腾飞科技"),
                (Field::Contact, "张伟"),
                (Field::Phone, "12"),
            ],
            ..NewLeadText::default()
        };
        assert_eq!(
            typed.history(&cx, &stamp).map_err(|e| e.field),
            Err("phone")
        );
        let typed = NewLeadText {
            fields: vec![(Field::Company, "腾飞科技"), (Field::Contact, "张伟")],
            ..NewLeadText::default()
        };
        let history = typed.history(&cx, &stamp).map_err(|e| e.to_string());
        assert!(
            matches!(history, Ok(h) if h.new.owner.as_deref() == Some("lina") && h.new.fields.len() == 3)
        );
    }
}
