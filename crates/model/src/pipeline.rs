//! The team's sales process: ordered stages, loss reasons and source channels.
//!
//! A pipeline is per team, not one-size-fits-all; [`crate::templates`] holds the three built-in
//! ones. Everything a person may type for a stage, reason or channel is resolved here, by key or
//! by either label, so every command accepts the same words.

use serde::{Deserialize, Serialize};

use crate::validate::ValidationError;

/// A display name in English and in the playbooks' original Chinese.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// English label.
    pub en: String,
    /// Chinese label.
    pub zh: String,
}

impl Label {
    /// `"needs discovery 需求挖掘"`: both names, for tables and reports.
    pub fn both(&self) -> String {
        if self.zh.is_empty() {
            self.en.clone()
        } else {
            format!("{} {}", self.en, self.zh)
        }
    }
}

/// One stage of the funnel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// What the command line accepts (`discovery`).
    pub key: String,
    /// How it is shown.
    pub label: Label,
    /// Chance that a lead in this stage is won, in percent (0-100).
    pub probability: u8,
    /// Days a lead may stay in this stage before it is stale.
    pub stale_days: u32,
    /// The share of leads expected to move on to the next stage (0.0-1.0), if the team set one.
    pub ideal_rate: Option<f64>,
}

/// A reason a deal was lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossReason {
    /// What the command line accepts (`price`).
    pub key: String,
    /// How it is shown.
    pub label: Label,
    /// Whether a lead lost for this reason must carry a note saying what it was (`other`).
    pub needs_note: bool,
}

/// Where a lead came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceChannel {
    /// What the command line accepts (`trade-show`).
    pub key: String,
    /// How it is shown.
    pub label: Label,
}

/// A team's pipeline: stages in order, the loss-reason list and the source channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The template it was made from (`b2b`, `leads`, `layers`).
    pub template: String,
    /// Stages in funnel order; never empty.
    pub stages: Vec<Stage>,
    /// Reasons a lead may be lost for.
    pub loss_reasons: Vec<LossReason>,
    /// Channels a lead may come from.
    pub sources: Vec<SourceChannel>,
}

/// Finds the entry whose key or either label matches `text` (English case-insensitively).
fn find<'a, T>(items: &'a [T], text: &str, key: impl Fn(&T) -> (&str, &Label)) -> Option<&'a T> {
    let wanted = text.trim();
    items.iter().find(|item| {
        let (k, label) = key(item);
        k.eq_ignore_ascii_case(wanted)
            || label.en.eq_ignore_ascii_case(wanted)
            || (!label.zh.is_empty() && label.zh == wanted)
    })
}

fn keys<T>(items: &[T], key: impl Fn(&T) -> &str) -> String {
    items.iter().map(key).collect::<Vec<_>>().join(", ")
}

impl Pipeline {
    /// The stage every new lead starts in.
    pub fn first_stage(&self) -> &Stage {
        // A pipeline is validated non-empty when built; templates are never empty.
        &self.stages[0]
    }

    /// The stage with this key, exactly (as stored in documents).
    pub fn stage(&self, key: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.key == key)
    }

    /// Position of a stage in funnel order.
    pub fn stage_index(&self, key: &str) -> Option<usize> {
        self.stages.iter().position(|stage| stage.key == key)
    }

    /// Resolves what a person typed for a stage, or says which stages exist.
    pub fn resolve_stage(&self, text: &str) -> Result<&Stage, ValidationError> {
        find(&self.stages, text, |s| (&s.key, &s.label)).ok_or_else(|| self.unknown_stage(text))
    }

    /// The error for a stage this pipeline does not have, listing the ones it has.
    pub fn unknown_stage(&self, text: &str) -> ValidationError {
        ValidationError::new(
            "stage",
            format!(
                "unknown stage '{text}': this team's stages are {}",
                keys(&self.stages, |s| &s.key)
            ),
        )
    }

    /// Resolves a loss reason by key or label.
    pub fn resolve_loss_reason(&self, text: &str) -> Result<&LossReason, ValidationError> {
        find(&self.loss_reasons, text, |r| (&r.key, &r.label)).ok_or_else(|| {
            ValidationError::new(
                "reason",
                format!(
                    "unknown loss reason '{text}': use one of {}",
                    keys(&self.loss_reasons, |r| &r.key)
                ),
            )
        })
    }

    /// Resolves a source channel by key or label; "other" is refused because it says nothing.
    pub fn resolve_source(&self, text: &str) -> Result<&SourceChannel, ValidationError> {
        let choices = keys(&self.sources, |c| &c.key);
        if text.trim().eq_ignore_ascii_case("other") {
            return Err(ValidationError::new(
                "source",
                format!("source 'other' is not specific: use one of {choices}"),
            ));
        }
        find(&self.sources, text, |c| (&c.key, &c.label)).ok_or_else(|| {
            ValidationError::new(
                "source",
                format!("unknown source '{text}': use one of {choices}"),
            )
        })
    }

    /// The display label of a stage key, falling back to the key for stages since removed.
    pub fn stage_label(&self, key: &str) -> String {
        self.stage(key)
            .map_or_else(|| key.to_owned(), |stage| stage.label.both())
    }

    /// The display label of a source key, falling back to the key.
    pub fn source_label(&self, key: &str) -> String {
        self.sources
            .iter()
            .find(|c| c.key == key)
            .map_or_else(|| key.to_owned(), |c| c.label.both())
    }

    /// The display label of a loss-reason key, falling back to the key.
    pub fn loss_reason_label(&self, key: &str) -> String {
        self.loss_reasons
            .iter()
            .find(|r| r.key == key)
            .map_or_else(|| key.to_owned(), |r| r.label.both())
    }
}

#[cfg(test)]
mod tests {
    use crate::templates;

    #[test]
    fn stages_resolve_by_key_or_either_label() {
        let b2b = templates::b2b();
        assert_eq!(b2b.resolve_stage("discovery").unwrap().key, "discovery");
        assert_eq!(
            b2b.resolve_stage("Needs Discovery").unwrap().key,
            "discovery"
        );
        assert_eq!(b2b.resolve_stage("需求挖掘").unwrap().key, "discovery");
        let err = b2b.resolve_stage("proposal").unwrap_err().to_string();
        assert!(err.contains("acquisition, discovery, solution"), "{err}");
    }

    #[test]
    fn other_is_not_a_source() {
        let b2b = templates::b2b();
        assert!(
            b2b.resolve_source("other")
                .unwrap_err()
                .to_string()
                .contains("not specific")
        );
        assert_eq!(b2b.resolve_source("行业展会").unwrap().key, "trade-show");
    }
}
