//! One row of a sheet checked and turned into a new lead; what is wrong with it is reported
//! by line, column and reason, every problem of the row at once.

use std::fmt;

use automerge::{ActorId, ScalarValue};
use chrono::{DateTime, TimeZone, Utc};
use fieldsync_model::{
    Action, Field, LeadDoc, LeadHistory, LeadId, Money, NewLead, Outcome, ParseContext, Pipeline,
    Priority, Roster, Stamp, validate, when,
};

use crate::columns::{Mapping, Target};
use crate::sheet::SheetRow;

/// Something wrong with one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The row's line in the file.
    pub line: u64,
    /// The column, as "C (联系方式)", when one cell is at fault.
    pub column: Option<String>,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// A row that passed every check: the lead it makes.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// Its line in the file.
    pub line: u64,
    /// Field values given (empty cells are left out).
    pub fields: Vec<(Field, ScalarValue)>,
    /// Responsible rep.
    pub owner: String,
    /// The lead number the sheet gives, if any.
    pub number: Option<String>,
    /// Stage key, when not the first stage.
    pub stage: Option<String>,
    /// When it entered that stage.
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// When it came in.
    pub created_at: DateTime<Utc>,
    /// Open, won, lost or abandoned.
    pub outcome: Outcome,
    /// When it was closed (default: when it entered its stage).
    pub outcome_at: Option<DateTime<Utc>>,
    /// What it was won for.
    pub deal_amount: Option<Money>,
    /// Loss-reason key.
    pub loss_reason: Option<String>,
    /// The note closing it.
    pub outcome_note: Option<String>,
}

impl Draft {
    /// A field's text as given, or "".
    pub fn text(&self, field: Field) -> &str {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, value)| match value {
                ScalarValue::Str(text) => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The new lead, recorded by `stamp`: created, then moved to its stage if not the first and
    /// closed if it is, in the order those happened. A won lead in the pipeline's win stage got
    /// there by its win, which enters that stage; one in a stage after it moved on after the win.
    pub fn history(&self, id: LeadId, stamp: &Stamp, pipeline: &Pipeline) -> LeadHistory {
        let mut fields = self.fields.clone();
        if !fields.iter().any(|(f, _)| *f == Field::Priority) {
            fields.push((Field::Priority, Priority::Medium.key().into()));
        }
        let stage_at = self.stage_entered_at.unwrap_or(self.created_at);
        let entered_by_win = |stage: &String| {
            self.outcome == Outcome::Won
                && pipeline.win_stage_index() == pipeline.stage_index(stage)
        };
        let mut events: Vec<(DateTime<Utc>, Action)> = self
            .stage
            .iter()
            .filter(|stage| !entered_by_win(stage))
            .map(|stage| {
                let to = stage.clone();
                (stage_at, Action::Move { to, at: stage_at })
            })
            .collect();
        let at = self.outcome_at.unwrap_or(stage_at);
        let (reason, note) = (self.loss_reason.clone(), self.outcome_note.clone());
        let closing = match self.outcome {
            Outcome::Open => None,
            Outcome::Won => self
                .deal_amount
                .map(|amount| Action::Won { amount, at, note }),
            Outcome::Lost => reason.map(|reason| Action::Lost { reason, note, at }),
            Outcome::Abandoned => Some(Action::Abandon { reason, note, at }),
        };
        // A lead won and then moved on (to implementation) closed before it entered its stage.
        events.extend(closing.map(|action| (at, action)));
        // At the same time, a move into a stage after the win stage follows the win.
        let after_win = |action: &Action| match action {
            Action::Move { to, .. } => matches!(
                (pipeline.stage_index(to), pipeline.win_stage_index()),
                (Some(stage), Some(win)) if stage > win
            ),
            _ => false,
        };
        events.sort_by_key(|(at, action)| (*at, after_win(action)));
        let events = events
            .into_iter()
            .map(|(_, action)| (action, stamp.clone()))
            .collect();
        LeadHistory {
            id,
            new: NewLead {
                fields,
                owner: Some(self.owner.clone()),
                created_at: self.created_at,
                number: self.number.clone(),
            },
            creator: stamp.clone(),
            events,
        }
    }

    /// The change that merges this row into an existing lead: every field it gives.
    pub fn merge_action(&self) -> Action {
        Action::Edit(
            self.fields
                .iter()
                .map(|(field, value)| (*field, Some(value.clone())))
                .collect(),
        )
    }
}

/// Checks rows of one sheet against its mapping.
pub struct Drafter<'a, Tz: TimeZone> {
    /// The sheet's columns.
    pub mapping: &'a Mapping,
    /// Pipeline, clock and zone.
    pub parse: ParseContext<'a, Tz>,
    /// Owner of rows that name none (the member importing, or `--owner`).
    pub owner: &'a str,
    /// The team's roster as the importing device knows it: every row's owner must be an active
    /// member, and one a rep may give leads to.
    pub roster: Roster<'a>,
}

impl<Tz: TimeZone> Drafter<'_, Tz> {
    /// The lead `row` makes, or everything wrong with it.
    pub fn draft(&self, row: &SheetRow) -> Result<Draft, Vec<Problem>> {
        let mut problems: Vec<Problem> = row
            .unreadable
            .iter()
            .map(|(column, reason)| self.problem(row, *column, reason.clone()))
            .collect();
        let mut draft = Draft {
            line: row.line,
            fields: Vec::new(),
            owner: self.owner.to_owned(),
            number: None,
            stage: None,
            stage_entered_at: None,
            created_at: self.parse.now,
            outcome: Outcome::Open,
            outcome_at: None,
            deal_amount: None,
            loss_reason: None,
            outcome_note: None,
        };
        for (column, target) in self.mapping.columns() {
            if row.unreadable.iter().any(|(c, _)| *c == column) {
                continue;
            }
            let text = row.cells.get(column).map_or("", String::as_str);
            if let Err(reason) = self.take(&mut draft, target, text) {
                problems.push(self.problem(row, column, reason));
            }
        }
        if let Some(at) = draft.stage_entered_at
            && at < draft.created_at
        {
            problems.push(Problem {
                line: row.line,
                column: None,
                reason: "the stage was entered before the lead was created: check both dates"
                    .to_owned(),
            });
        }
        if let Err(refused) = self.roster.check_owner("owner", Some(&draft.owner)) {
            problems.push(Problem {
                line: row.line,
                column: None,
                reason: refused.to_string(),
            });
        }
        if problems.is_empty() {
            problems.extend(self.check_history(&draft).err());
        }
        if problems.is_empty() {
            Ok(draft)
        } else {
            Err(problems)
        }
    }

    /// Checks the row's stage and outcome together against the lead's rules, by building the
    /// lead in memory as the import will (only for rows that move or close a lead).
    fn check_history(&self, draft: &Draft) -> Result<(), Problem> {
        let problem = |reason: String| Problem {
            line: draft.line,
            column: None,
            reason,
        };
        match draft.outcome {
            Outcome::Won if draft.deal_amount.is_none() => {
                return Err(problem(
                    "outcome: a won lead needs its deal_amount".to_owned(),
                ));
            }
            Outcome::Lost if draft.loss_reason.is_none() => {
                return Err(problem(
                    "outcome: a lost lead needs its loss_reason".to_owned(),
                ));
            }
            Outcome::Open if draft.stage.is_none() => return Ok(()),
            _ => {}
        }
        let stamp = Stamp {
            by: self.roster.me.to_owned(),
            now: self.parse.now,
        };
        let history = draft.history(LeadId::random(), &stamp, self.parse.pipeline);
        LeadDoc::from_history(&history, self.parse.pipeline, ActorId::random())
            .map(drop)
            .map_err(|err| problem(err.to_string()))
    }

    fn problem(&self, row: &SheetRow, column: usize, reason: String) -> Problem {
        Problem {
            line: row.line,
            column: Some(self.mapping.describe(column)),
            reason,
        }
    }

    /// Checks one cell and puts its value in the draft.
    fn take(&self, draft: &mut Draft, target: Target, text: &str) -> Result<(), String> {
        let pipeline = self.parse.pipeline;
        let time = |name: &'static str| {
            when::parse_event_time(text, self.parse.now, self.parse.zone)
                .map_err(|problem| format!("{name}: {problem}"))
        };
        match target {
            Target::Field(field) => {
                if let Some(value) = field.parse(text, &self.parse).map_err(|e| e.to_string())? {
                    draft.fields.push((field, value));
                }
            }
            Target::Owner if !text.is_empty() => {
                draft.owner = validate::line("owner", text).map_err(|e| e.to_string())?;
            }
            Target::Stage if !text.is_empty() => {
                let stage = pipeline.resolve_stage(text).map_err(|e| e.to_string())?;
                if stage.key != pipeline.first_stage().key {
                    draft.stage = Some(stage.key.clone());
                }
            }
            Target::StageEnteredAt if !text.is_empty() => {
                draft.stage_entered_at = Some(time("stage_entered_at")?);
            }
            Target::CreatedAt if !text.is_empty() => draft.created_at = time("created_at")?,
            Target::Number if !text.is_empty() => {
                if !fieldsync_model::number::looks_like_number(text) {
                    return Err(format!(
                        "number: '{text}' is not a lead number (LX, year and month, three letters, a sequence: LX2611KQM007)"
                    ));
                }
                draft.number = Some(text.trim().to_ascii_uppercase());
            }
            Target::Outcome if !text.is_empty() => {
                draft.outcome =
                    Outcome::parse(text).map_err(|problem| format!("outcome: {problem}"))?;
            }
            Target::OutcomeAt if !text.is_empty() => draft.outcome_at = Some(time("outcome_at")?),
            Target::DealAmount if !text.is_empty() => {
                let unit = pipeline.currency.as_ref().map_or(1, |c| c.unit);
                let amount = Money::parse_written(text, unit)
                    .map_err(|problem| format!("deal_amount: {problem}"))?;
                draft.deal_amount = Some(amount);
            }
            Target::LossReason if !text.is_empty() => {
                let reason = pipeline
                    .resolve_loss_reason(text)
                    .map_err(|e| e.to_string())?;
                draft.loss_reason = Some(reason.key.clone());
            }
            Target::OutcomeNote if !text.is_empty() => {
                draft.outcome_note =
                    Some(validate::free_text("outcome_note", text).map_err(|e| e.to_string())?);
            }
            Target::Owner
            | Target::Number
            | Target::Stage
            | Target::StageEnteredAt
            | Target::CreatedAt
            | Target::Outcome
            | Target::OutcomeAt
            | Target::DealAmount
            | Target::LossReason
            | Target::OutcomeNote
            | Target::Ignore => {}
        }
        Ok(())
    }
}
