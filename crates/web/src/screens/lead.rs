//! One lead: its fields, editable in place (a refused value is shown at its field and nothing
//! is saved); the follow-up timeline with the log form (channel, summary, feedback, next step,
//! due, and when it happened, default now); the stage history with the time spent in each
//! stage; every conflict with each value, who set it, and a button that keeps it; the change
//! history; and the lead as it was on a chosen date.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use chrono::{Local, Utc};
use fieldsync_model::field::FieldKind;
use fieldsync_model::history::Revision;
use fieldsync_model::view::{Conflict, Lead, Outcome};
use fieldsync_model::{Field, LeadId, Pipeline, when};
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::App;
use crate::error::AppError;
use crate::form::Typed;
use crate::format;
use crate::lang::Lang;
use crate::layout::{Header, Screen, page as whole_page};
use crate::screens::lead_actions::{self, Target};
use crate::screens::{label, owner_name, source_name, stage_name};

/// A form of this page that was sent and refused.
pub struct Refused {
    /// Which form (`log`, `edit`, or one of the actions).
    pub form: &'static str,
    /// What was typed, and the problem.
    pub typed: Typed,
}

/// The moment asked for, and the lead then (`None`: it did not exist yet).
type AsItWas = (chrono::DateTime<Utc>, Option<Lead>);

/// `?as_of=DATE`: the lead as it was then; `?history=1`: its change history.
#[derive(Debug, Default, Deserialize)]
pub struct Asked {
    /// The date (or date and time) typed.
    #[serde(default)]
    pub as_of: String,
    /// Whether the change history is shown (reading it costs more than the rest of the page).
    #[serde(default)]
    pub history: String,
}

/// `GET /lead/{id}`.
pub async fn show(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    lang: Lang,
    uri: Uri,
    Query(asked): Query<Asked>,
) -> Result<Markup, AppError> {
    let id =
        LeadId::parse(&id).ok_or_else(|| AppError::Missing(format!("'{id}' is not a lead id")))?;
    page(&app, lang, id, uri.to_string(), asked, None).await
}

/// The page, with a refused form's text and message if there is one.
pub async fn page(
    app: &Arc<App>,
    lang: Lang,
    id: LeadId,
    path: String,
    asked: Asked,
    refused: Option<Refused>,
) -> Result<Markup, AppError> {
    let shared = Arc::clone(app);
    app.read(move |store| {
        let doc = store.load(&id)?;
        let lead = doc.view();
        let as_of = Some(asked.as_of).filter(|text| !text.trim().is_empty());
        // Conflicts name who set each value, which the history tells.
        let history =
            (!asked.history.is_empty() || !lead.conflicts.is_empty()).then(|| doc.history());
        let rows = store.rows()?;
        let header = Header::read(store, &rows, &shared, path)?;
        let pipeline = store.pipeline();
        let then = as_of.as_deref().map(|text| {
            when::parse_as_of(text, Utc::now(), &Local)
                .map(|at| (at, doc.as_of(at)))
                .map_err(|problem| problem.to_string())
        });
        let title = lead.text(Field::Company);
        let body = render(
            lang,
            pipeline,
            &lead,
            history.as_deref(),
            !asked.history.is_empty(),
            refused.as_ref(),
            as_of.as_deref(),
            then,
        );
        Ok(whole_page(lang, &header, Screen::Lead, &title, body))
    })
    .await
}

/// The typed text a form starts with: what was refused, or nothing.
fn typed_of<'a>(refused: Option<&'a Refused>, form: &str, empty: &'a Typed) -> &'a Typed {
    match refused {
        Some(refused) if refused.form == form => &refused.typed,
        _ => empty,
    }
}

/// The input for one field, filled with the lead's value or what was typed (also the new-lead form's).
pub fn field_input(
    lang: Lang,
    pipeline: &Pipeline,
    field: Field,
    value: &str,
    typed: &Typed,
) -> Markup {
    let name = field.key();
    let id = format!("field-{name}");
    let shown = typed.values.get(name).map_or(value, String::as_str);
    let wrong = typed.is_wrong(name) || typed.is_wrong(field.flag());
    let described = wrong.then(|| format!("error-{name}"));
    html! {
        div class={ "field" @if wrong { " wrong" } } {
            label for=(id) { (lang.t(&format!("field.{name}"))) }
            @match field.kind() {
                FieldKind::Text => {
                    textarea id=(id) name=(name) rows="2" aria-invalid=[wrong.then_some("true")] aria-describedby=[described] { (shown) }
                }
                FieldKind::Source => {
                    select id=(id) name=(name) {
                        option value="" { "—" }
                        @for source in &pipeline.sources {
                            option value=(source.key) selected[shown == source.key] { (label(lang, &source.label)) }
                        }
                    }
                }
                FieldKind::Priority => {
                    select id=(id) name=(name) {
                        @for priority in ["high", "medium", "low"] {
                            option value=(priority) selected[shown == priority] { (lang.t(&format!("priority.{priority}"))) }
                        }
                    }
                }
                kind => {
                    @let input_type = match kind {
                        FieldKind::Phone => "tel",
                        FieldKind::Email => "email",
                        FieldKind::Date => "date",
                        _ => "text",
                    };
                    input id=(id) name=(name) type=(input_type) value=(shown)
                        inputmode=[(kind == FieldKind::Money).then_some("decimal")]
                        aria-invalid=[wrong.then_some("true")] aria-describedby=[described];
                }
            }
            @if let Some(problem) = typed.problem.as_ref().filter(|_| wrong) {
                p class="field-error" id={ "error-" (name) } role="alert" { (lang.refused()) " " (problem.problem) }
            }
        }
    }
}

/// Who last set each value of a conflicted register, from the history.
fn setter<'a>(history: &'a [Revision], conflict: &Conflict, value: &str) -> Option<&'a Revision> {
    history.iter().rev().find(|revision| {
        revision
            .changes
            .iter()
            .any(|change| change.field == conflict.field && change.new.as_deref() == Some(value))
    })
}

#[allow(clippy::too_many_arguments)]
fn render(
    lang: Lang,
    pipeline: &Pipeline,
    lead: &Lead,
    history: Option<&[Revision]>,
    show_history: bool,
    refused: Option<&Refused>,
    as_of_text: Option<&str>,
    then: Option<Result<AsItWas, String>>,
) -> Markup {
    let empty = Typed::default();
    let edit = typed_of(refused, "edit", &empty);
    let log = typed_of(refused, "log", &empty);
    let now = Utc::now();
    let back = format!("/lead/{}", lead.id);
    html! {
        h1 {
            (lead.text(Field::Company))
            @if let Some(number) = &lead.number { " " span class="number" { (number) } }
        }
        section class="summary" data-live="summary" {
            p {
                span class="stage" { (stage_name(lang, pipeline, &lead.stage)) }
                " · " span class="outcome" { (lang.t(&format!("outcome.{}", lead.outcome.key()))) }
                " · " (lang.t("lead.owner")) " " span class="owner" { (owner_name(lang, lead.owner.as_deref())) }
                @if let Some(until) = lead.hold_until { " · " (lang.t("lead.on_hold_until")) " " (until) }
                " · " (lang.count("board.days", format::days_since(lead.stage_entered_at.timestamp_millis(), now)))
            }
            @if let Some(source) = lead.fields.get("source").and_then(|value| value.as_ref()) {
                p { (lang.t("field.source")) ": " (source_name(lang, pipeline, &source.to_string())) }
            }
        }
        @if !lead.conflicts.is_empty() {
            section class="conflicts" id="conflicts" data-live="conflicts" {
                h2 { (lang.t("lead.conflicts")) }
                p { (lang.t("lead.conflicts_help")) }
                @if let Some(refused) = refused.filter(|refused| refused.form == "resolve") {
                    (refused.typed.general(&[], lang))
                }
                @for conflict in &lead.conflicts {
                    div class="conflict" {
                        h3 { (lang.t(&format!("field.{}", conflict.field))) }
                        ul {
                            @for (index, value) in conflict.values.iter().enumerate() {
                                li {
                                    form method="post" action={ "/lead/" (lead.id) "/resolve" } {
                                        input type="hidden" name="field" value=(conflict.field);
                                        input type="hidden" name="value" value=(value);
                                        span class="value" { (value) }
                                        @if let Some(revision) = history.and_then(|history| setter(history, conflict, value)) {
                                            span class="by" { " — " (revision.by) ", " (format::moment(revision.recorded_at)) }
                                        }
                                        @if index == 0 { span class="standing" { " (" (lang.t("lead.standing")) ")" } }
                                        " "
                                        button type="submit" { (lang.t("lead.keep")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        div class="lead-grid" {
            section class="log" id="log" {
                h2 { (lang.t("lead.log_title")) }
                form method="post" action={ "/lead/" (lead.id) "/log" } class="log-form" {
                    div class="field" {
                        label for="log-channel" { (lang.t("log.channel")) }
                        select id="log-channel" name="channel" {
                            @for channel in ["visit", "phone", "message", "email"] {
                                option value=(channel) selected[log.get("channel") == channel] { (lang.t(&format!("channel.{channel}"))) }
                            }
                        }
                        (log.message("channel", lang))
                    }
                    div class={ "field" @if log.is_wrong("summary") { " wrong" } } {
                        label for="log-summary" { (lang.t("log.summary")) }
                        textarea id="log-summary" name="summary" rows="3" required
                            aria-invalid=[log.is_wrong("summary").then_some("true")] { (log.get("summary")) }
                        (log.message("summary", lang))
                    }
                    div class="field" {
                        label for="log-feedback" { (lang.t("log.feedback")) }
                        textarea id="log-feedback" name="feedback" rows="2" { (log.get("feedback")) }
                        (log.message("feedback", lang))
                    }
                    div class="field" {
                        label for="log-next" { (lang.t("log.next")) }
                        input id="log-next" name="next" type="text" value=(log.get("next"));
                        (log.message("next", lang))
                    }
                    div class="field" {
                        label for="log-due" { (lang.t("log.due")) }
                        input id="log-due" name="due" type="date" value=(log.get("due"))
                            aria-invalid=[log.is_wrong("due").then_some("true")];
                        (log.message("due", lang))
                    }
                    div class="field" {
                        label for="log-at" { (lang.t("log.at")) }
                        input id="log-at" name="at" type="datetime-local"
                            value=(log.given("at").map_or_else(|| format::input_moment(now), str::to_owned))
                            aria-invalid=[log.is_wrong("at").then_some("true")];
                        // The minute shown by default: left as it is, it means now, to the second.
                        input type="hidden" name="at_shown" value=(log.given("at_shown").map_or_else(|| format::input_moment(now), str::to_owned));
                        (log.message("at", lang))
                    }
                    (log.general(&["channel", "summary", "feedback", "next", "due", "at"], lang))
                    button type="submit" { (lang.t("log.save")) }
                }
                h2 { (lang.t("lead.timeline")) }
                ol class="timeline" data-live="timeline" {
                    @for followup in lead.followups.iter().rev() {
                        li class="followup" {
                            p class="when" {
                                (format::moment(followup.times.at)) " · " (lang.t(&format!("channel.{}", followup.channel)))
                                " · " (followup.times.by)
                                @if followup.times.recorded_at.signed_duration_since(followup.times.at).num_minutes().abs() > 10 {
                                    span class="recorded" { " (" (lang.t("lead.recorded")) " " (format::moment(followup.times.recorded_at)) ")" }
                                }
                            }
                            p class="said" { (followup.summary) }
                            @if let Some(feedback) = &followup.feedback { p class="feedback" { (lang.t("log.feedback")) ": " (feedback) } }
                            @if let Some(next) = &followup.next {
                                p class="next" {
                                    (lang.t("log.next")) ": " (next)
                                    @if let Some(due) = followup.due { " · " (lang.t("log.due")) " " (due.date_in(&Local)) }
                                }
                            }
                        }
                    } @if lead.followups.is_empty() {
                        li class="empty" { (lang.t("lead.no_followups")) }
                    }
                }
            }
            section class="fields" {
                h2 { (lang.t("lead.fields")) }
                form method="post" action={ "/lead/" (lead.id) "/edit" } class="edit-form" {
                    @for field in Field::ALL {
                        (field_input(lang, pipeline, *field, &lead.text(*field), edit))
                    }
                    (edit.general(&Field::ALL.iter().flat_map(|f| [f.key(), f.flag()]).collect::<Vec<_>>(), lang))
                    button type="submit" { (lang.t("lead.save_fields")) }
                }
                h2 { (lang.t("lead.actions")) }
                @if lead.outcome == Outcome::Open {
                    @if lead.hold_until.is_some() {
                        form method="post" action={ "/lead/" (lead.id) "/hold" } class="release" {
                            input type="hidden" name="release" value="1";
                            button type="submit" { (lang.t("action.release")) }
                        }
                    }
                    (lead_actions::forms(lang, pipeline, &Target::Lead(&lead.id, &lead.stage), refused))
                } @else {
                    form method="post" action={ "/lead/" (lead.id) "/reopen" } {
                        input type="hidden" name="back" value=(back);
                        @if let Some(refused) = refused.filter(|refused| refused.form == "reopen") {
                            (refused.typed.general(&[], lang))
                        }
                        button type="submit" { (lang.t("action.reopen")) }
                    }
                }
            }
        }
        section class="stages" data-live="stages" {
            h2 { (lang.t("lead.stage_history")) }
            table {
                thead { tr { th { (lang.t("lead.stage")) } th { (lang.t("lead.entered")) } th { (lang.t("lead.days_in")) } th { (lang.t("lead.by")) } } }
                tbody {
                    @for (index, change) in lead.stage_changes.iter().enumerate() {
                        @let left = lead.stage_changes.get(index + 1).map_or(now, |next| next.times.at);
                        tr {
                            td { (change.to.as_deref().map_or_else(String::new, |stage| stage_name(lang, pipeline, stage))) }
                            td { (format::moment(change.times.at)) }
                            td class="number" { ((left - change.times.at).num_days()) }
                            td { (change.times.by) }
                        }
                    }
                }
            }
        }
        section class="history" data-live="history" {
            h2 { (lang.t("lead.history")) }
            @if !show_history {
                p { a href={ "/lead/" (lead.id) "?history=1#history" } { (lang.t("lead.show_history")) } }
            }
            ol class="revisions" id="history" {
                @for revision in history.filter(|_| show_history).into_iter().flatten().rev() {
                    li {
                        span class="when" { (format::moment(revision.recorded_at)) }
                        " " span class="by" { (revision.by) } " " span class="op" { (revision.action) }
                        @for change in &revision.changes {
                            " · " (change.field) ": " (change.old.as_deref().unwrap_or("—")) " → " (change.new.as_deref().unwrap_or("—"))
                        }
                    }
                }
            }
            form method="get" action={ "/lead/" (lead.id) } class="as-of" {
                label for="as-of" { (lang.t("lead.as_of")) }
                input id="as-of" name="as_of" type="date" value=(as_of_text.unwrap_or(""));
                button type="submit" { (lang.t("lead.show_as_of")) }
            }
            @match then {
                None => {}
                Some(Err(problem)) => { p class="field-error" role="alert" { (lang.refused()) " " (problem) } }
                Some(Ok((at, None))) => { p { (lang.t("lead.not_yet")) " " (format::moment(at)) } }
                Some(Ok((at, Some(old)))) => {
                    div class="as-of-view" {
                        h3 { (lang.t("lead.as_it_was")) " " (format::moment(at)) }
                        dl {
                            dt { (lang.t("lead.stage")) } dd { (stage_name(lang, pipeline, &old.stage)) }
                            dt { (lang.t("lead.owner")) } dd { (owner_name(lang, old.owner.as_deref())) }
                            @for field in Field::ALL {
                                @let value = old.text(*field);
                                @if !value.is_empty() {
                                    dt { (lang.t(&format!("field.{}", field.key()))) } dd { (value) }
                                }
                            }
                            dt { (lang.t("lead.timeline")) } dd { (old.followups.len()) }
                        }
                    }
                }
            }
        }
    }
}
