//! The lead document: creating it, applying actions to it, merging and saving it.
//!
//! Creation builds the whole initial document in one batch (`init_root_from_hydrate`), which
//! costs ~70 µs where one `put` per field would cost ~10 µs each. Edits write only the
//! registers the action changes: hydrating the whole lead and reconciling it back would
//! overwrite the losing side of a conflict the user never touched.

use std::collections::HashMap;

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{
    ActorId, Automerge, AutomergeError, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, hydrate,
};
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::action::{Action, FollowUpDraft, LeadHistory, NewLead, Stamp};
use crate::field::Field;
use crate::id::LeadId;
use crate::pipeline::Pipeline;
use crate::schema::{self, SCHEMA_VERSION, key};
use crate::validate::ValidationError;
use crate::view::{Lead, Outcome};
use crate::when;

/// Why an action cannot be applied to a lead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LeadError {
    /// A value is malformed or missing.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The lead carries a tombstone.
    #[error("this lead was deleted on {} by {by}; deleted leads cannot be changed", fmt_time(*at))]
    Deleted {
        /// When it was deleted.
        at: DateTime<Utc>,
        /// Who deleted it.
        by: String,
    },
    /// The lead is won, lost or abandoned.
    #[error("this lead is {0}; reopen it first with `fieldsync reopen ID`")]
    Closed(Outcome),
    /// Reopen on an open lead.
    #[error("this lead is open; only won, lost or abandoned leads can be reopened")]
    NotClosed,
    /// Move to the stage the lead is in.
    #[error("this lead is already in stage '{0}'")]
    SameStage(String),
    /// An event dated before something it must follow.
    #[error("{0}")]
    TooEarly(String),
    /// A move of an open lead into the win stage, or past it: only a win enters it.
    #[error(
        "'{stage}' {}: record the win with `fieldsync won ID --amount N`, which enters '{win_stage}'",
        if stage == win_stage { "is where a won deal goes" } else { "comes after the win stage" }
    )]
    NeedsWin {
        /// The stage asked for.
        stage: String,
        /// The pipeline's win stage.
        win_stage: String,
    },
    /// The document bytes are not a valid Automerge document.
    #[error("the lead document is unreadable: {0}")]
    Document(#[from] AutomergeError),
}

fn fmt_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One lead's Automerge document.
#[derive(Debug, Clone)]
pub struct LeadDoc {
    doc: Automerge,
}

/// The change message recorded with every commit: who, and which action.
fn commit_options(stamp: &Stamp, verb: &str) -> CommitOptions {
    let message = serde_json::json!({ "by": stamp.by, "op": verb }).to_string();
    CommitOptions::default()
        .with_message(message)
        .with_time(stamp.now.timestamp())
}

fn scalar(value: impl Into<ScalarValue>) -> hydrate::Value {
    hydrate::Value::scalar(value.into())
}

fn timestamp(at: DateTime<Utc>) -> ScalarValue {
    ScalarValue::Timestamp(when::to_millis(at))
}

fn opt_str(value: Option<&str>) -> ScalarValue {
    value.map_or(ScalarValue::Null, |text| ScalarValue::Str(text.into()))
}

/// An event entry: the common times and author, plus its own entries.
fn event(
    at: DateTime<Utc>,
    stamp: &Stamp,
    entries: Vec<(&'static str, ScalarValue)>,
) -> hydrate::Value {
    let mut map: HashMap<&str, hydrate::Value> = HashMap::new();
    map.insert(key::AT, scalar(timestamp(at)));
    map.insert(key::RECORDED_AT, scalar(timestamp(stamp.now)));
    map.insert(key::BY, scalar(stamp.by.as_str()));
    for (k, value) in entries {
        if value != ScalarValue::Null {
            map.insert(k, scalar(value));
        }
    }
    map.into()
}

impl LeadDoc {
    /// Builds a lead with its whole history: created, then each event applied in turn with
    /// the rules of [`LeadDoc::apply`].
    pub fn from_history(
        history: &LeadHistory,
        pipeline: &Pipeline,
        actor: ActorId,
    ) -> Result<LeadDoc, LeadError> {
        Ok(LeadDoc::build(history, pipeline, actor)?.0)
    }

    /// [`LeadDoc::from_history`] with the lead as [`LeadDoc::view`] reads it. A lead with no
    /// events is read from the value it was made from instead of its document: reading a
    /// document back costs half as much as making it, and this is the import's hot path.
    pub fn from_history_with_view(
        history: &LeadHistory,
        pipeline: &Pipeline,
        actor: ActorId,
    ) -> Result<(LeadDoc, Lead), LeadError> {
        let (doc, root) = LeadDoc::build(history, pipeline, actor)?;
        let lead = match root {
            Some(root) => Lead::from_root(&root, &doc.doc),
            None => doc.view(),
        };
        Ok((doc, lead))
    }

    /// The document of `history`, and the root it was made from if no event changed it since.
    fn build(
        history: &LeadHistory,
        pipeline: &Pipeline,
        actor: ActorId,
    ) -> Result<(LeadDoc, Option<hydrate::Map>), LeadError> {
        let (mut doc, root) = LeadDoc::create_from_root(
            &history.id,
            &history.new,
            pipeline,
            &history.creator,
            actor,
        )?;
        for (action, stamp) in &history.events {
            doc.apply(std::slice::from_ref(action), pipeline, stamp)?;
        }
        Ok((doc, history.events.is_empty().then_some(root)))
    }

    /// Builds a new lead in `pipeline`'s first stage, created at `new.created_at`.
    pub fn create(
        id: &LeadId,
        new: &NewLead,
        pipeline: &Pipeline,
        stamp: &Stamp,
        actor: ActorId,
    ) -> Result<LeadDoc, LeadError> {
        Ok(LeadDoc::create_from_root(id, new, pipeline, stamp, actor)?.0)
    }

    /// [`LeadDoc::create`], also returning the root the document was made from.
    fn create_from_root(
        id: &LeadId,
        new: &NewLead,
        pipeline: &Pipeline,
        stamp: &Stamp,
        actor: ActorId,
    ) -> Result<(LeadDoc, hydrate::Map), LeadError> {
        for required in Field::ALL.iter().filter(|f| f.is_required()) {
            if !new.fields.iter().any(|(f, _)| f == required) {
                return Err(ValidationError::new(
                    required.flag(),
                    "is required: give it with --".to_owned() + required.flag(),
                )
                .into());
            }
        }
        if new.created_at > stamp.now + chrono::Duration::minutes(when::FUTURE_TOLERANCE_MINUTES) {
            return Err(ValidationError::new(
                "at",
                "is in the future: --at says when the lead came in",
            )
            .into());
        }
        let first = pipeline.first_stage().key.as_str();
        let mut root: HashMap<&str, hydrate::Value> = HashMap::new();
        root.insert(key::SCHEMA, scalar(SCHEMA_VERSION));
        root.insert(key::ID, scalar(id.as_str()));
        root.insert(key::CREATED_AT, scalar(timestamp(new.created_at)));
        root.insert(key::CREATED_BY, scalar(stamp.by.as_str()));
        if let Some(number) = &new.number {
            root.insert(key::NUMBER, scalar(number.as_str()));
        }
        for (field, value) in &new.fields {
            root.insert(field.key(), scalar(value.clone()));
        }
        root.insert(key::OWNER, scalar(opt_str(new.owner.as_deref())));
        root.insert(key::STAGE, scalar(first));
        root.insert(key::OUTCOME, scalar(Outcome::Open.key()));
        let created = |entries| hydrate::Value::from(vec![event(new.created_at, stamp, entries)]);
        root.insert(key::STAGE_CHANGES, created(vec![(key::TO, first.into())]));
        root.insert(
            key::OWNER_CHANGES,
            created(vec![(key::TO, opt_str(new.owner.as_deref()))]),
        );
        root.insert(key::FOLLOWUPS, hydrate::Value::list());
        root.insert(key::OUTCOMES, hydrate::Value::list());

        let root = hydrate::Map::from(root);
        let mut doc = Automerge::new().with_actor(actor);
        let mut tx = doc.transaction();
        tx.init_root_from_hydrate(&root)?;
        tx.commit_with(commit_options(stamp, "create"));
        Ok((LeadDoc { doc }, root))
    }

    /// Loads a saved document (or a concatenation of saved chunks) and writes as `actor`.
    pub fn load(bytes: &[u8], actor: ActorId) -> Result<LeadDoc, LeadError> {
        Ok(LeadDoc {
            doc: Automerge::load(bytes)?.with_actor(actor),
        })
    }

    /// Applies incremental changes saved by [`LeadDoc::save_after`] on this or another device.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<(), LeadError> {
        self.doc.load_incremental(bytes)?;
        Ok(())
    }

    /// The whole document, compacted.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The whole document with its columns left uncompressed: for a lead just made, whose
    /// columns are too short for deflate to pay (an imported lead takes 754 bytes so against
    /// 715 compressed) while setting deflate up costs a sixth of an import. Compaction saves
    /// the document compressed once it has grown.
    pub fn save_uncompressed(&self) -> Vec<u8> {
        self.doc.save_nocompress()
    }

    /// The changes made since `heads`.
    pub fn save_after(&self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Hashes of changes this document was given but cannot apply yet because changes they
    /// depend on are missing; empty when the document is complete.
    pub fn missing_deps(&self) -> Vec<ChangeHash> {
        automerge::ReadDoc::get_missing_deps(&self.doc, &[])
    }

    /// The current heads, to save incrementally after an edit.
    pub fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges another copy of this lead into this one.
    pub fn merge(&mut self, other: &mut LeadDoc) -> Result<(), LeadError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// A copy that writes as another actor (another device).
    pub fn fork(&self, actor: ActorId) -> LeadDoc {
        LeadDoc {
            doc: self.doc.fork().with_actor(actor),
        }
    }

    /// The underlying Automerge document, for sync and history.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// Who set each value of the conflicted register `register`, in the order
    /// [`Lead::conflicts`] lists its values (the standing one first): the member each value's
    /// change names as its author.
    pub fn conflict_authors(&self, register: &str) -> Vec<String> {
        let doc = &self.doc;
        let changes = doc.get_changes(&[]);
        let author = |id: &automerge::ObjId| -> String {
            let automerge::ObjId::Id(counter, actor, _) = id else {
                return "?".to_owned();
            };
            changes
                .iter()
                .find(|change| {
                    let start = change.start_op().get();
                    change.actor_id() == actor
                        && start <= *counter
                        && *counter < start + change.len() as u64
                })
                .map_or_else(
                    || "?".to_owned(),
                    |change| crate::history::author_and_action(change.message()).0,
                )
        };
        let winner = schema::scalar(doc, &ROOT, register);
        let mut values: Vec<(ScalarValue, String)> = doc
            .get_all(ROOT, register)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(value, id)| match value {
                automerge::Value::Scalar(value) => Some((value.into_owned(), author(&id))),
                automerge::Value::Object(_) => None,
            })
            .collect();
        if let Some(winner) = winner
            && let Some(pos) = values.iter().position(|(v, _)| *v == winner)
        {
            values.swap(0, pos);
        }
        values.into_iter().map(|(_, by)| by).collect()
    }

    /// The lead as it reads now.
    pub fn view(&self) -> Lead {
        Lead::read(&self.doc)
    }

    /// Applies `actions` as one change after checking each against the lead's state.
    /// Returns whether anything was written (an edit to the same values writes nothing).
    pub fn apply(
        &mut self,
        actions: &[Action],
        pipeline: &Pipeline,
        stamp: &Stamp,
    ) -> Result<bool, LeadError> {
        let lead = self.view();
        for action in actions {
            check(action, &lead, pipeline)?;
        }
        let verb = actions.first().map_or("edit", Action::verb);
        let mut tx = self.doc.transaction();
        let mut wrote = false;
        for action in actions {
            wrote |= write(&mut tx, action, &lead, pipeline, stamp)?;
        }
        if wrote {
            tx.commit_with(commit_options(stamp, verb));
        } else {
            tx.rollback();
        }
        Ok(wrote)
    }
}

fn not_before(
    what: &str,
    at: DateTime<Utc>,
    limit: DateTime<Utc>,
    reason: &str,
) -> Result<(), LeadError> {
    if at < limit {
        Err(LeadError::TooEarly(format!(
            "{what} cannot be dated {}: {reason} at {}",
            fmt_time(at),
            fmt_time(limit)
        )))
    } else {
        Ok(())
    }
}

/// The win stage a win would move `lead` into: the pipeline's, when the lead stands before
/// it (or in a stage the pipeline no longer has).
fn win_move<'p>(lead: &Lead, pipeline: &'p Pipeline) -> Option<&'p str> {
    let win = pipeline.win_stage_index()?;
    let before = pipeline
        .stage_index(&lead.stage)
        .is_none_or(|current| current < win);
    before.then(|| pipeline.stages[win].key.as_str())
}

/// The stage a reopened won lead goes back to: the one it was won from, when the win moved it
/// into the win stage and it has not moved since.
fn reopen_move(lead: &Lead) -> Option<&str> {
    let last = lead.stage_changes.last()?;
    (lead.outcome == Outcome::Won && last.by_win() && last.to.as_deref() == Some(&lead.stage))
        .then_some(last.from.as_deref())
        .flatten()
}

/// A next step's due date needs the next step, and may not fall before the follow-up's own day
/// in the rep's zone.
fn check_due(draft: &FollowUpDraft) -> Result<(), ValidationError> {
    let Some(due) = draft.due else {
        return Ok(());
    };
    if draft.next.is_none() {
        return Err(ValidationError::new(
            "due",
            "needs a next step: add --next TEXT",
        ));
    }
    if due.date_in(&draft.zone) < draft.at.with_timezone(&draft.zone).date_naive() {
        return Err(ValidationError::new(
            "due",
            "is before the follow-up itself: a next step is due after it",
        ));
    }
    Ok(())
}

fn require_open(lead: &Lead) -> Result<(), LeadError> {
    if lead.outcome.is_closed() {
        Err(LeadError::Closed(lead.outcome))
    } else {
        Ok(())
    }
}

/// Checks an action against the lead's state and the pipeline; writes nothing.
fn check(action: &Action, lead: &Lead, pipeline: &Pipeline) -> Result<(), LeadError> {
    if let Some(deleted) = &lead.deleted {
        return Err(LeadError::Deleted {
            at: deleted.at,
            by: deleted.by.clone(),
        });
    }
    let created = "the lead was created";
    match action {
        Action::Edit(changes) => match changes
            .iter()
            .find(|(field, value)| value.is_none() && field.is_required())
        {
            Some((field, _)) => Err(ValidationError::new(
                "clear",
                format!("{} is required and cannot be cleared", field.flag()),
            )
            .into()),
            None => Ok(()),
        },
        Action::Delete => Ok(()),
        Action::Correct { of, followup } => {
            if !lead.followups.iter().any(|f| f.key == *of) {
                return Err(ValidationError::new(
                    "follow-up",
                    format!(
                        "this lead has no follow-up '{of}' (or it was voided): `fieldsync lead show ID` numbers them"
                    ),
                )
                .into());
            }
            match followup {
                Some(draft) => {
                    check_due(draft)?;
                    not_before("a follow-up", draft.at, lead.created_at, created)
                }
                None => Ok(()),
            }
        }
        Action::Hold { until, at, .. } => {
            require_open(lead)?;
            match until {
                Some(until) if *until < at.date_naive() => Err(ValidationError::new(
                    "until",
                    format!("{until} is before the hold itself: give the last day the lead waits"),
                )
                .into()),
                Some(_) => not_before("a hold", *at, lead.created_at, created),
                None if lead.hold_until.is_none() => {
                    Err(ValidationError::new("release", "this lead is not on hold").into())
                }
                None => Ok(()),
            }
        }
        Action::Assign { at, .. } => not_before("a reassignment", *at, lead.created_at, created),
        Action::Log(draft) => {
            check_due(draft)?;
            not_before("a follow-up", draft.at, lead.created_at, created)
        }
        Action::Move { to, at } => {
            // Actions carry stage keys; labels are resolved before an action is made.
            let target = pipeline
                .stage_index(to)
                .ok_or_else(|| pipeline.unknown_stage(to))?;
            // A won deal still moves on to the stages after the sale (account care); any
            // other move needs an open lead.
            let after_the_sale = lead.outcome == Outcome::Won
                && pipeline
                    .stage_index(&lead.stage)
                    .is_some_and(|current| target > current);
            // Moving to the standing stage is refused, unless two devices moved the lead
            // concurrently: then it settles the conflict.
            let conflicted = lead.conflicts.iter().any(|c| c.field == key::STAGE);
            let settling = *to == lead.stage && conflicted;
            if !after_the_sale {
                require_open(lead)?;
                // Only a win enters the win stage, so that "won" is one thing everywhere.
                if let Some(win) = pipeline.win_stage_index()
                    && target >= win
                    && !settling
                {
                    return Err(LeadError::NeedsWin {
                        stage: to.clone(),
                        win_stage: pipeline.stages[win].key.clone(),
                    });
                }
            }
            if *to == lead.stage && !settling {
                return Err(LeadError::SameStage(to.clone()));
            }
            not_before(
                "a move",
                *at,
                lead.stage_entered_at,
                &format!("the lead entered '{}'", lead.stage),
            )
        }
        Action::Won { at, .. } => {
            require_open(lead)?;
            not_before("a win", *at, lead.created_at, created)?;
            match win_move(lead, pipeline) {
                Some(win) => not_before(
                    &format!("a win (which enters '{win}')"),
                    *at,
                    lead.stage_entered_at,
                    &format!("the lead entered '{}'", lead.stage),
                ),
                None => Ok(()),
            }
        }
        Action::Lost { reason, note, at }
        | Action::Abandon {
            reason: Some(reason),
            note,
            at,
        } => {
            require_open(lead)?;
            let known = pipeline.resolve_loss_reason(reason)?;
            if known.needs_note && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return Err(ValidationError::new(
                    "note",
                    format!(
                        "reason '{}' needs a note saying what it was: add --note TEXT",
                        known.key
                    ),
                )
                .into());
            }
            not_before("closing the lead", *at, lead.created_at, created)
        }
        Action::Abandon {
            reason: None, at, ..
        } => {
            require_open(lead)?;
            not_before("abandoning the lead", *at, lead.created_at, created)
        }
        Action::Reopen { at } => {
            if !lead.outcome.is_closed() {
                return Err(LeadError::NotClosed);
            }
            let closed_at = lead.outcome_at.unwrap_or(lead.created_at);
            not_before(
                "reopening",
                *at,
                closed_at,
                &format!("the lead was {}", lead.outcome),
            )
        }
    }
}

fn append(
    tx: &mut Transaction<'_>,
    log: &str,
    entry: &hydrate::Value,
) -> Result<(), AutomergeError> {
    let list = schema::object_at(tx, &ROOT, log, ObjType::List)?;
    let end = tx.length(&list);
    tx.batch_create_object(&list, end, entry, true)?;
    Ok(())
}

/// Sets a register unless it already holds exactly `value` with no conflict.
fn set(
    tx: &mut Transaction<'_>,
    register: &str,
    value: Option<ScalarValue>,
) -> Result<bool, AutomergeError> {
    let current = schema::all_scalars(tx, &ROOT, register);
    let unchanged = match &value {
        Some(value) => current.len() == 1 && current[0] == *value,
        None => current.is_empty() || current.iter().all(|v| *v == ScalarValue::Null),
    };
    if unchanged {
        return Ok(false);
    }
    match value {
        Some(value) => tx.put(ROOT, register, value)?,
        None => tx.delete(ROOT, register)?,
    }
    Ok(true)
}

fn assign(
    tx: &mut Transaction<'_>,
    lead: &Lead,
    owner: Option<&str>,
    at: DateTime<Utc>,
    stamp: &Stamp,
) -> Result<bool, AutomergeError> {
    if !set(tx, key::OWNER, Some(opt_str(owner)))? {
        return Ok(false);
    }
    let entry = event(
        at,
        stamp,
        vec![
            (key::FROM, opt_str(lead.owner.as_deref())),
            (key::TO, opt_str(owner)),
        ],
    );
    append(tx, key::OWNER_CHANGES, &entry)?;
    Ok(true)
}

fn close(
    tx: &mut Transaction<'_>,
    outcome: Outcome,
    at: DateTime<Utc>,
    stamp: &Stamp,
    details: Vec<(&'static str, ScalarValue)>,
) -> Result<(), AutomergeError> {
    tx.put(ROOT, key::OUTCOME, outcome.key())?;
    let mut entries = vec![(key::OUTCOME, ScalarValue::from(outcome.key()))];
    entries.extend(details);
    append(tx, key::OUTCOMES, &event(at, stamp, entries))
}

/// What a follow-up says, as entries of its log entry (or of a correction).
fn followup_entries(draft: &FollowUpDraft) -> Vec<(&'static str, ScalarValue)> {
    vec![
        (key::CHANNEL, draft.channel.key().into()),
        (key::SUMMARY, draft.summary.as_str().into()),
        (key::FEEDBACK, opt_str(draft.feedback.as_deref())),
        (key::NEXT, opt_str(draft.next.as_deref())),
        (
            key::DUE,
            draft
                .due
                .map_or(ScalarValue::Null, |due| due.to_stored().into()),
        ),
    ]
}

/// Sets the stage register and appends the stage change; `cause` marks a change an outcome made.
fn enter_stage(
    tx: &mut Transaction<'_>,
    lead: &Lead,
    to: &str,
    at: DateTime<Utc>,
    cause: Option<&str>,
    stamp: &Stamp,
) -> Result<(), AutomergeError> {
    tx.put(ROOT, key::STAGE, to)?;
    let entry = event(
        at,
        stamp,
        vec![
            (key::FROM, lead.stage.as_str().into()),
            (key::TO, to.into()),
            (key::CAUSE, opt_str(cause)),
        ],
    );
    append(tx, key::STAGE_CHANGES, &entry)
}

/// Writes one checked action; returns whether it changed anything.
fn write(
    tx: &mut Transaction<'_>,
    action: &Action,
    lead: &Lead,
    pipeline: &Pipeline,
    stamp: &Stamp,
) -> Result<bool, AutomergeError> {
    let note = |note: &Option<String>| opt_str(note.as_deref());
    match action {
        Action::Edit(changes) => {
            let mut wrote = false;
            for (field, value) in changes {
                wrote |= set(tx, field.key(), value.clone())?;
            }
            Ok(wrote)
        }
        Action::Assign { owner, at } => assign(tx, lead, owner.as_deref(), *at, stamp),
        Action::Log(draft) => {
            let entry = event(draft.at, stamp, followup_entries(draft));
            append(tx, key::FOLLOWUPS, &entry)?;
            Ok(true)
        }
        Action::Move { to, at } => {
            if *to == lead.stage {
                // Settling a conflict (see `check`): the lead does not enter the stage again,
                // so the stage-change log, which analytics count entries from, is left alone.
                tx.put(ROOT, key::STAGE, to.as_str())?;
                return Ok(true);
            }
            enter_stage(tx, lead, to, *at, None, stamp)?;
            Ok(true)
        }
        Action::Won {
            amount,
            at,
            note: text,
        } => {
            tx.put(ROOT, key::DEAL_AMOUNT, amount.cents())?;
            close(
                tx,
                Outcome::Won,
                *at,
                stamp,
                vec![
                    (key::AMOUNT, amount.cents().into()),
                    (key::NOTE, note(text)),
                ],
            )?;
            if let Some(win) = win_move(lead, pipeline) {
                enter_stage(tx, lead, win, *at, Some(schema::cause::WON), stamp)?;
            }
            Ok(true)
        }
        Action::Lost {
            reason,
            note: text,
            at,
        } => {
            tx.put(ROOT, key::LOSS_REASON, reason.as_str())?;
            close(
                tx,
                Outcome::Lost,
                *at,
                stamp,
                vec![
                    (key::REASON, reason.as_str().into()),
                    (key::NOTE, note(text)),
                ],
            )?;
            Ok(true)
        }
        Action::Abandon {
            reason,
            note: text,
            at,
        } => {
            set(
                tx,
                key::LOSS_REASON,
                reason.as_deref().map(ScalarValue::from),
            )?;
            close(
                tx,
                Outcome::Abandoned,
                *at,
                stamp,
                vec![
                    (key::REASON, opt_str(reason.as_deref())),
                    (key::NOTE, note(text)),
                ],
            )?;
            assign(tx, lead, None, *at, stamp)?;
            Ok(true)
        }
        Action::Reopen { at } => {
            set(tx, key::DEAL_AMOUNT, None)?;
            set(tx, key::LOSS_REASON, None)?;
            close(tx, Outcome::Open, *at, stamp, Vec::new())?;
            if let Some(back) = reopen_move(lead) {
                enter_stage(tx, lead, back, *at, Some(schema::cause::REOPEN), stamp)?;
            }
            Ok(true)
        }
        Action::Correct { of, followup } => {
            let entries = match followup {
                None => vec![
                    (key::OF, ScalarValue::from(of.as_str())),
                    (key::VOID, ScalarValue::Boolean(true)),
                ],
                Some(draft) => {
                    let mut entries = vec![
                        (key::OF, ScalarValue::from(of.as_str())),
                        (key::FOLLOWUP_AT, timestamp(draft.at)),
                    ];
                    entries.extend(followup_entries(draft));
                    entries
                }
            };
            append(tx, key::CORRECTIONS, &event(stamp.now, stamp, entries))?;
            Ok(true)
        }
        Action::Hold { until, reason, at } => {
            let day = until.map(|day| day.format("%Y-%m-%d").to_string());
            set(tx, key::HOLD_UNTIL, day.as_deref().map(ScalarValue::from))?;
            let entry = event(
                *at,
                stamp,
                vec![
                    (key::UNTIL, opt_str(day.as_deref())),
                    (key::REASON, opt_str(reason.as_deref())),
                ],
            );
            append(tx, key::HOLDS, &entry)?;
            Ok(true)
        }
        Action::Delete => {
            tx.put(ROOT, key::DELETED, timestamp(stamp.now))?;
            tx.put(ROOT, key::DELETED_BY, stamp.by.as_str())?;
            Ok(true)
        }
    }
}
