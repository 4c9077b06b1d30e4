//! The team's sales process: ordered stages, loss reasons and source channels.
//!
//! A pipeline is per team, not one-size-fits-all; [`crate::templates`] holds the three built-in
//! ones. Everything a person may type for a stage, reason or channel is resolved here, by key or
//! by either label, so every command accepts the same words.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::validate::ValidationError;

/// A display name in English and in the playbooks' original Chinese.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
    /// Whether the stage is a sales stage, one a lead passes on its way to a win. `None`
    /// follows its position: the stages before the win stage are sales stages, the win stage
    /// and those after it (account care, implementation) are not. See [`Pipeline::is_sales`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales: Option<bool>,
    /// What must be true for a lead to enter the stage ("the customer agreed to a needs
    /// interview and named a decision maker").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// What must be true for a lead to leave it for the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// The open leads a rep should ideally hold in the stage (the `layers` deck: 10, 13, 7, 2);
    /// a rep far off it is an anomaly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ideal_open: Option<u32>,
}

/// A reason a deal was lost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct SourceChannel {
    /// What the command line accepts (`trade-show`).
    pub key: String,
    /// How it is shown.
    pub label: Label,
    /// Other words a team writes for it (展会, 朋友介绍), accepted wherever a source is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// A team's pipeline: stages in order, the loss-reason list and the source channels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The template it was made from (`b2b`, `leads`, `layers`).
    pub template: String,
    /// Stages in funnel order; never empty.
    pub stages: Vec<Stage>,
    /// Stages the team has removed, by key. Leads that were in one keep it in their history
    /// and show its label; no lead is moved out of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_stages: Vec<Stage>,
    /// Reasons a lead may be lost for.
    pub loss_reasons: Vec<LossReason>,
    /// Channels a lead may come from.
    pub sources: Vec<SourceChannel>,
    /// The stage a win leads into (`care` in `b2b`, `won` in `leads`, `signed` in `layers`):
    /// `fieldsync won` enters it, a plain move into it is refused, and the funnel counts every
    /// won lead as having reached it. `None`: a win leaves the lead in its stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub win_stage: Option<String>,
    /// The team's currency and the unit amounts are counted in (`None`: not said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
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

/// Longest key of a stage, loss reason or source, in characters.
pub const MAX_KEY_CHARS: usize = 40;

/// Checks that keys are unique, typeable words and that each entry has an English label.
fn check_keys<'a>(
    what: &str,
    entries: impl Iterator<Item = (&'a str, &'a Label)>,
) -> Result<(), ValidationError> {
    let mut seen = std::collections::HashSet::new();
    for (key, label) in entries {
        let length = key.chars().count();
        if length == 0
            || length > MAX_KEY_CHARS
            || key.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ValidationError::new(
                "key",
                format!(
                    "{what} key '{}' must be 1 to {MAX_KEY_CHARS} characters without spaces (like 'trial' or 'site-visit')",
                    key.escape_debug()
                ),
            ));
        }
        if !seen.insert(key) {
            return Err(ValidationError::new(
                "key",
                format!("{what} '{key}' appears twice: each key must be unique"),
            ));
        }
        if label.en.trim().is_empty() {
            return Err(ValidationError::new(
                "label",
                format!("{what} '{key}' needs an English label"),
            ));
        }
    }
    Ok(())
}

fn keys<T>(items: &[T], key: impl Fn(&T) -> &str) -> String {
    items.iter().map(key).collect::<Vec<_>>().join(", ")
}

impl Pipeline {
    /// What is written beside an amount (`万元`), if the team said.
    pub fn amount_unit(&self) -> Option<String> {
        self.currency.as_ref().map(Currency::beside)
    }

    /// An amount with the team's unit beside it: `25 万元`, or `25`.
    pub fn amount(&self, money: Money) -> String {
        match self.amount_unit() {
            Some(unit) => format!("{money} {unit}"),
            None => money.to_string(),
        }
    }

    /// An amount that may be missing, as figures show it: `25 万元`, or `n/a`.
    pub fn amount_or_na(&self, money: Option<Money>) -> String {
        money.map_or_else(|| "n/a".to_owned(), |money| self.amount(money))
    }

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

    /// Position of the stage a win leads into, if the pipeline has one.
    pub fn win_stage_index(&self) -> Option<usize> {
        self.stage_index(self.win_stage.as_deref()?)
    }

    /// Whether the stage at `index` is a sales stage: as the team set it, or else whether it
    /// comes before the win stage (every stage is one in a pipeline without a win stage).
    pub fn is_sales(&self, index: usize) -> bool {
        let by_position = self.win_stage_index().is_none_or(|win| index < win);
        self.stages
            .get(index)
            .is_some_and(|stage| stage.sales.unwrap_or(by_position))
    }

    /// The stage a won lead counts as having reached: the win stage, or in a pipeline without
    /// one the last sales stage.
    pub fn win_target(&self) -> Option<usize> {
        self.win_stage_index()
            .or_else(|| (0..self.stages.len()).rev().find(|&i| self.is_sales(i)))
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
        let alias = || {
            self.sources.iter().find(|c| {
                c.aliases
                    .iter()
                    .any(|alias| alias.trim().eq_ignore_ascii_case(text.trim()))
            })
        };
        find(&self.sources, text, |c| (&c.key, &c.label))
            .or_else(alias)
            .ok_or_else(|| {
                ValidationError::new(
                    "source",
                    format!("unknown source '{text}': use one of {choices}"),
                )
            })
    }

    /// The display label of a stage key, for current and removed stages alike, falling back
    /// to the key for a stage this device never knew.
    pub fn stage_label(&self, key: &str) -> String {
        self.stage(key)
            .or_else(|| self.removed_stages.iter().find(|stage| stage.key == key))
            .map_or_else(|| key.to_owned(), |stage| stage.label.both())
    }

    /// Checks that this is a pipeline a team can work to: at least one stage; keys that are
    /// unique within each list and can be typed; English labels; no source called "other"
    /// (it is refused where a source is given); a win stage that is one of the stages, with
    /// no sales stage at or after it; probabilities from 0 to 100;
    /// stale limits from 1 to 3,650 days; ideal rates from 0 to 1.
    pub fn check(&self) -> Result<(), ValidationError> {
        if self.stages.is_empty() {
            return Err(ValidationError::new(
                "stages",
                "a pipeline needs at least one stage",
            ));
        }
        check_keys(
            "stage",
            self.stages.iter().map(|s| (s.key.as_str(), &s.label)),
        )?;
        check_keys(
            "loss reason",
            self.loss_reasons.iter().map(|r| (r.key.as_str(), &r.label)),
        )?;
        check_keys(
            "source",
            self.sources.iter().map(|c| (c.key.as_str(), &c.label)),
        )?;
        if self
            .sources
            .iter()
            .any(|c| c.key.eq_ignore_ascii_case("other"))
        {
            return Err(ValidationError::new(
                "source",
                "a source cannot be called 'other': it says nothing about where a lead came from; name the channel",
            ));
        }
        let win = match &self.win_stage {
            Some(win) => Some(self.stage_index(win).ok_or_else(|| {
                ValidationError::new(
                    "win-stage",
                    format!(
                        "the win stage '{win}' is not a stage of this pipeline: use one of {}",
                        keys(&self.stages, |s| &s.key)
                    ),
                )
            })?),
            None => None,
        };
        for source in &self.sources {
            for alias in &source.aliases {
                let other = self
                    .sources
                    .iter()
                    .filter(|other| other.key != source.key)
                    .find(|other| {
                        find(std::slice::from_ref(*other), alias, |c| (&c.key, &c.label)).is_some()
                            || other.aliases.iter().any(|a| a == alias)
                    });
                if let Some(other) = other {
                    return Err(ValidationError::new(
                        "alias",
                        format!(
                            "'{alias}' is an alias of source '{}' and names '{}' too: an alias names one source",
                            source.key, other.key
                        ),
                    ));
                }
            }
        }
        if let Some(currency) = &self.currency {
            currency
                .check()
                .map_err(|problem| ValidationError::new("currency", problem))?;
        }
        for (index, stage) in self.stages.iter().enumerate() {
            let key = &stage.key;
            if stage.sales == Some(true) && win.is_some_and(|win| index >= win) {
                return Err(ValidationError::new(
                    "sales",
                    format!(
                        "stage '{key}' cannot be a sales stage: it is the win stage or comes after it; a sales stage leads to the win"
                    ),
                ));
            }
            if stage.probability > 100 {
                return Err(ValidationError::new(
                    "probability",
                    format!(
                        "stage '{key}': {} is not a percentage: use 0 to 100",
                        stage.probability
                    ),
                ));
            }
            if !(1..=3650).contains(&stage.stale_days) {
                return Err(ValidationError::new(
                    "stale-days",
                    format!(
                        "stage '{key}': {} days is not a stale limit: use 1 to 3650",
                        stage.stale_days
                    ),
                ));
            }
            if let Some(rate) = stage.ideal_rate
                && !(0.0..=1.0).contains(&rate)
            {
                return Err(ValidationError::new(
                    "ideal-rate",
                    format!("stage '{key}': {rate} is not a rate: use 0 to 1 (0.6 for 60%)"),
                ));
            }
        }
        Ok(())
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
