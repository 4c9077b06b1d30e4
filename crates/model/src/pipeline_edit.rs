//! One change to a team's pipeline, as a manager asks for it: add, rename, move, set or remove
//! a stage; add or remove a loss reason or a source; name the win stage. [`Pipeline::edited`]
//! makes the changed copy and says what it did; the store records only what differs. Stage
//! keys never change (a rename changes labels), so no lead is ever rewritten.

use crate::money::Currency;
use crate::pipeline::{Label, LossReason, Pipeline, SourceChannel, Stage};
use crate::templates;
use crate::validate::ValidationError;

/// Where a stage goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Right after this stage (key or label).
    After(String),
    /// Right before this stage (key or label).
    Before(String),
    /// Last.
    End,
}

/// The settings of a stage an edit changes; `None` leaves one as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageSettings {
    /// Chance of a win from the stage, in percent.
    pub probability: Option<u8>,
    /// Days before a lead in the stage is stale.
    pub stale_days: Option<u32>,
    /// The ideal share moving on (`Some(None)` clears it).
    pub ideal_rate: Option<Option<f64>>,
    /// Whether it is a sales stage (`Some(None)`: by its position).
    pub sales: Option<Option<bool>>,
    /// Its entry criteria (`Some(None)` clears them).
    pub entry: Option<Option<String>>,
    /// Its exit criteria (`Some(None)` clears them).
    pub exit: Option<Option<String>>,
    /// The ideal open leads per rep in it (`Some(None)` clears it).
    pub ideal_open: Option<Option<u32>>,
}

impl StageSettings {
    fn is_empty(&self) -> bool {
        *self == StageSettings::default()
    }

    fn apply(&self, stage: &mut Stage) {
        if let Some(probability) = self.probability {
            stage.probability = probability;
        }
        if let Some(days) = self.stale_days {
            stage.stale_days = days;
        }
        if let Some(rate) = self.ideal_rate {
            stage.ideal_rate = rate;
        }
        if let Some(sales) = self.sales {
            stage.sales = sales;
        }
        if let Some(entry) = &self.entry {
            stage.entry = entry.clone();
        }
        if let Some(exit) = &self.exit {
            stage.exit = exit.clone();
        }
        if let Some(ideal) = self.ideal_open {
            stage.ideal_open = ideal;
        }
    }
}

/// One change to the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum PipelineEdit {
    /// A new stage.
    AddStage {
        /// Its key.
        key: String,
        /// Its labels.
        label: Label,
        /// Where it goes.
        place: Place,
        /// Its settings (default: probability 0, stale after 30 days, no ideal rate).
        settings: StageSettings,
    },
    /// New labels for a stage; its key stays.
    Rename {
        /// The stage (key or label).
        stage: String,
        /// New English label.
        en: Option<String>,
        /// New Chinese label.
        zh: Option<String>,
    },
    /// A stage moved before or after another.
    MoveStage {
        /// The stage (key or label).
        stage: String,
        /// Where it goes (not [`Place::End`]).
        place: Place,
    },
    /// New settings for a stage.
    Set {
        /// The stage (key or label).
        stage: String,
        /// What to set.
        settings: StageSettings,
    },
    /// A stage removed; leads in it stay there.
    RemoveStage {
        /// The stage (key or label).
        stage: String,
    },
    /// A new loss reason.
    AddReason {
        /// Its key.
        key: String,
        /// Its labels.
        label: Label,
        /// Whether a lead lost for it must carry a note.
        needs_note: bool,
    },
    /// A loss reason removed (leads lost for it keep it).
    RemoveReason {
        /// The reason (key or label).
        reason: String,
    },
    /// A new source channel.
    AddSource {
        /// Its key.
        key: String,
        /// Its labels.
        label: Label,
    },
    /// Another word for a source, or one taken back.
    SourceAlias {
        /// The source (key, label or alias).
        source: String,
        /// The word.
        alias: String,
        /// Take it back instead.
        remove: bool,
    },
    /// A source channel removed (leads from it keep it).
    RemoveSource {
        /// The source (key or label).
        source: String,
    },
    /// The team's currency and unit, or none.
    Currency {
        /// The currency; `None` for none stated.
        currency: Option<Currency>,
    },
    /// The stage a win leads into (key or label), or none.
    WinStage {
        /// The stage; `None` for no win stage.
        stage: Option<String>,
    },
}

/// `60%`, `0.6` or `none`, as typed for an ideal rate.
pub fn parse_ideal_rate(text: &str) -> Result<Option<f64>, ValidationError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let problem = || {
        ValidationError::new(
            "ideal-rate",
            format!("'{text}' is not a rate: write 60% or 0.6 (or none)"),
        )
    };
    let rate = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map_err(|_| problem())? / 100.0,
        None => text.parse::<f64>().map_err(|_| problem())?,
    };
    if !(0.0..=1.0).contains(&rate) {
        return Err(problem());
    }
    Ok(Some(rate))
}

/// An ideal number of open leads per rep as typed: a whole number, or `none`.
pub fn parse_ideal_open(text: &str) -> Result<Option<u32>, ValidationError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    text.parse::<u32>().map(Some).map_err(|_| {
        ValidationError::new(
            "ideal-open",
            format!("'{text}' is not a number of leads: write a whole number like 7 (or none)"),
        )
    })
}

/// Entry or exit criteria as typed: trimmed; empty clears them.
pub fn criteria(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// A label as typed, trimmed.
fn trimmed(label: &Label) -> Label {
    Label {
        en: label.en.trim().to_owned(),
        zh: label.zh.trim().to_owned(),
    }
}

/// Refuses a new `kind` whose key already names one, by its key or one of its labels.
fn ensure_new<E>(kind: &str, key: &str, found: Result<&Label, E>) -> Result<(), ValidationError> {
    match found {
        Ok(existing) => Err(ValidationError::new(
            "key",
            format!(
                "{kind} '{key}' already exists ({}): pick another key",
                existing.both()
            ),
        )),
        Err(_) => Ok(()),
    }
}

/// An ideal rate as shown: `60%`, or `-` when unset.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.0}%", rate * 100.0))
}

impl Pipeline {
    fn index_of(&self, text: &str) -> Result<usize, ValidationError> {
        let key = &self.resolve_stage(text)?.key;
        Ok(self.stage_index(key).unwrap_or_default())
    }

    /// The index a stage goes to in this pipeline (from which it has been taken out).
    fn place(&self, place: &Place) -> Result<usize, ValidationError> {
        Ok(match place {
            Place::After(after) => self.index_of(after)? + 1,
            Place::Before(before) => self.index_of(before)?,
            Place::End => self.stages.len(),
        })
    }

    /// The pipeline after `edit`, checked, and a line saying what it did.
    pub fn edited(&self, edit: &PipelineEdit) -> Result<(Pipeline, String), ValidationError> {
        let mut pipeline = self.clone();
        let said = match edit {
            PipelineEdit::AddStage {
                key,
                label,
                place,
                settings,
            } => {
                ensure_new("stage", key, self.resolve_stage(key).map(|s| &s.label))?;
                let mut stage = Stage {
                    key: key.trim().to_owned(),
                    label: trimmed(label),
                    probability: 0,
                    stale_days: templates::DEFAULT_STALE_DAYS,
                    ideal_rate: None,
                    sales: None,
                    entry: None,
                    exit: None,
                    ideal_open: None,
                };
                settings.apply(&mut stage);
                let index = pipeline.place(place)?;
                let said = format!("added stage {}", stage.label.both());
                pipeline.stages.insert(index, stage);
                said
            }
            PipelineEdit::Rename { stage, en, zh } => {
                if en.is_none() && zh.is_none() {
                    return Err(ValidationError::new(
                        "label",
                        "give the new label with --en LABEL and/or --zh LABEL",
                    ));
                }
                let index = pipeline.index_of(stage)?;
                let stage = &mut pipeline.stages[index];
                let before = stage.label.both();
                if let Some(en) = en {
                    stage.label.en = en.trim().to_owned();
                }
                if let Some(zh) = zh {
                    stage.label.zh = zh.trim().to_owned();
                }
                format!(
                    "renamed {before} to {} (key {})",
                    stage.label.both(),
                    stage.key
                )
            }
            PipelineEdit::MoveStage { stage, place } => {
                if *place == Place::End {
                    return Err(ValidationError::new(
                        "place",
                        "say where it goes with --after STAGE or --before STAGE",
                    ));
                }
                let index = pipeline.index_of(stage)?;
                let moving = pipeline.stages.remove(index);
                let to = pipeline.place(place).map_err(|err| {
                    ValidationError::new(
                        "place",
                        format!("{err} (the stage being moved cannot be its own reference point)"),
                    )
                })?;
                let said = format!("moved {} to position {}", moving.label.both(), to + 1);
                pipeline.stages.insert(to, moving);
                said
            }
            PipelineEdit::Set { stage, settings } => {
                if settings.is_empty() {
                    return Err(ValidationError::new(
                        "set",
                        "say what to set: --probability PERCENT, --stale-days DAYS, --ideal-rate RATE, --sales yes|no|auto, --entry TEXT, --exit TEXT or --ideal-open N",
                    ));
                }
                let index = pipeline.index_of(stage)?;
                settings.apply(&mut pipeline.stages[index]);
                let sales = pipeline.is_sales(index);
                let stage = &pipeline.stages[index];
                format!(
                    "{}: probability {}%, stale after {} days, ideal rate {}, {}",
                    stage.label.both(),
                    stage.probability,
                    stage.stale_days,
                    percent(stage.ideal_rate),
                    if sales {
                        "a sales stage"
                    } else {
                        "not a sales stage"
                    }
                )
            }
            PipelineEdit::RemoveStage { stage } => {
                let index = pipeline.index_of(stage)?;
                if pipeline.stages.len() == 1 {
                    return Err(ValidationError::new(
                        "stage",
                        format!(
                            "stage '{stage}' is the last one: a pipeline needs at least one stage"
                        ),
                    ));
                }
                if pipeline.win_stage_index() == Some(index) {
                    return Err(ValidationError::new(
                        "stage",
                        format!(
                            "stage '{stage}' is where a win leads: name another first with `fieldsync pipeline edit win-stage STAGE` (or none)"
                        ),
                    ));
                }
                let removed = pipeline.stages.remove(index);
                format!("removed stage {}", removed.label.both())
            }
            PipelineEdit::AddReason {
                key,
                label,
                needs_note,
            } => {
                ensure_new(
                    "loss reason",
                    key,
                    self.resolve_loss_reason(key).map(|r| &r.label),
                )?;
                let reason = LossReason {
                    key: key.trim().to_owned(),
                    label: trimmed(label),
                    needs_note: *needs_note,
                };
                let said = format!("added loss reason {}", reason.label.both());
                pipeline.loss_reasons.push(reason);
                said
            }
            PipelineEdit::RemoveReason { reason } => {
                let key = self.resolve_loss_reason(reason)?.key.clone();
                pipeline.loss_reasons.retain(|r| r.key != key);
                format!("removed loss reason {}", self.loss_reason_label(&key))
            }
            PipelineEdit::AddSource { key, label } => {
                ensure_new("source", key, self.resolve_source(key).map(|c| &c.label))?;
                let source = SourceChannel {
                    key: key.trim().to_owned(),
                    label: trimmed(label),
                    aliases: Vec::new(),
                };
                let said = format!("added source {}", source.label.both());
                pipeline.sources.push(source);
                said
            }
            PipelineEdit::SourceAlias {
                source,
                alias,
                remove,
            } => {
                let key = self.resolve_source(source)?.key.clone();
                let alias = alias.trim().to_owned();
                let entry = pipeline
                    .sources
                    .iter_mut()
                    .find(|c| c.key == key)
                    .ok_or_else(|| ValidationError::new("source", format!("no source '{key}'")))?;
                if *remove {
                    entry.aliases.retain(|a| *a != alias);
                    format!("'{alias}' no longer names {}", entry.label.both())
                } else {
                    if alias.is_empty() || alias.contains('\n') {
                        return Err(ValidationError::new(
                            "alias",
                            "an alias is one line of text",
                        ));
                    }
                    if !entry.aliases.contains(&alias) {
                        entry.aliases.push(alias.clone());
                    }
                    format!("'{alias}' now names {}", entry.label.both())
                }
            }
            PipelineEdit::RemoveSource { source } => {
                let key = self.resolve_source(source)?.key.clone();
                pipeline.sources.retain(|c| c.key != key);
                format!("removed source {}", self.source_label(&key))
            }
            PipelineEdit::Currency { currency } => {
                pipeline.currency = currency.clone();
                match currency {
                    Some(currency) => format!("amounts are now in {}", currency.beside()),
                    None => "amounts have no stated currency".to_owned(),
                }
            }
            PipelineEdit::WinStage { stage: None } => {
                pipeline.win_stage = None;
                "no win stage: a win leaves a lead in its stage".to_owned()
            }
            PipelineEdit::WinStage { stage: Some(stage) } => {
                let win = self.resolve_stage(stage)?;
                pipeline.win_stage = Some(win.key.clone());
                format!("a win now enters {}", win.label.both())
            }
        };
        pipeline.check()?;
        Ok((pipeline, said))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_check_what_they_name() {
        let b2b = templates::b2b();
        let add = PipelineEdit::AddStage {
            key: "trial".into(),
            label: Label {
                en: " free trial ".into(),
                zh: "试用".into(),
            },
            place: Place::After("solution".into()),
            settings: StageSettings {
                probability: Some(50),
                ..StageSettings::default()
            },
        };
        let (added, said) = b2b.edited(&add).unwrap();
        assert_eq!(added.stages[3].key, "trial");
        assert_eq!(said, "added stage free trial 试用");
        let again = added.edited(&add).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
        let win = b2b
            .edited(&PipelineEdit::RemoveStage {
                stage: "care".into(),
            })
            .unwrap_err();
        assert!(win.to_string().contains("is where a win leads"), "{win}");
        let sales_after_win = b2b
            .edited(&PipelineEdit::Set {
                stage: "care".into(),
                settings: StageSettings {
                    sales: Some(Some(true)),
                    ..StageSettings::default()
                },
            })
            .unwrap_err();
        assert!(
            sales_after_win
                .to_string()
                .contains("cannot be a sales stage"),
            "{sales_after_win}"
        );
        assert_eq!(parse_ideal_rate("60%").unwrap(), Some(0.6));
        assert!(parse_ideal_rate("160%").is_err());
    }
}
