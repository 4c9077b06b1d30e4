//! A form that was refused: which field, what is wrong, and what was typed, so the page shows
//! the message beside the field and keeps the text. Nothing is written when a form is refused.

use std::collections::BTreeMap;

use fieldsync_model::validate::ValidationError;
use maud::{Markup, html};

use crate::lang::Lang;

/// What a form was sent with, and the problem found, if any.
#[derive(Clone, Debug, Default)]
pub struct Typed {
    /// Field name -> text, as sent.
    pub values: BTreeMap<String, String>,
    /// The refused field and why.
    pub problem: Option<ValidationError>,
}

impl Typed {
    /// The form as sent.
    pub fn new(values: BTreeMap<String, String>) -> Typed {
        Typed {
            values,
            problem: None,
        }
    }

    /// The text sent for `name` ("" if none).
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// The text sent for `name`, `None` when blank.
    pub fn given(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|text| !text.trim().is_empty())
    }

    /// The same form, refused for `problem`.
    pub fn refused(mut self, problem: ValidationError) -> Typed {
        self.problem = Some(problem);
        self
    }

    /// Whether the problem is about `name`.
    pub fn is_wrong(&self, name: &str) -> bool {
        self.problem
            .as_ref()
            .is_some_and(|problem| problem.field == name)
    }

    /// The message shown beside `name`, if it is the refused field.
    pub fn message(&self, name: &str, lang: Lang) -> Markup {
        match &self.problem {
            Some(problem) if problem.field == name => html! {
                p class="field-error" id={ "error-" (name) } role="alert" {
                    (lang.refused()) " " (problem.problem)
                }
            },
            _ => html! {},
        }
    }

    /// A refusal naming a field the form has no input for, shown at the top of the form.
    pub fn general(&self, names: &[&str], lang: Lang) -> Markup {
        match &self.problem {
            Some(problem) if !names.contains(&problem.field) => html! {
                p class="field-error" role="alert" {
                    (lang.refused()) " " (problem.field) ": " (problem.problem)
                }
            },
            _ => html! {},
        }
    }
}
