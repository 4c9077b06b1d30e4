//! Everything a person does to a lead from the app, one endpoint: `POST /lead/{id}/{verb}`
//! with a form. Each verb turns the form into the model's [`Action`] through the same
//! functions as the command line ([`fieldsync_model::form`], the pipeline's resolvers,
//! [`fieldsync_model::resolve`]) and applies it as one change. A refused form writes nothing
//! and comes back with the message beside the field (or, to the board's script, as one line).
//!
//! The forms of the board's card menu and of the lead page are drawn here once.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Local, Utc};
use fieldsync_model::form::{FollowUpText, optional_text, parse_with};
use fieldsync_model::{Action, Field, LeadId, Money, ParseContext, Stamp, resolve, when};
use fieldsync_store::Store;
use maud::{Markup, html};

use crate::app::App;
use crate::error::AppError;
use crate::form::Typed;
use crate::format;
use crate::lang::Lang;
use crate::screens::{label, lead};

/// The header the board's script sends: refusals come back as one line of text.
pub const FETCH_HEADER: &str = "x-fieldsync-fetch";

/// Which lead a form acts on.
pub enum Target<'a> {
    /// This lead, in this stage (the move form offers the next one).
    Lead(&'a LeadId, &'a str),
    /// The card the board's menu was opened for (the script sets each form's address).
    Chosen,
}

/// The verbs, as the forms and the endpoint name them.
const VERBS: [&str; 9] = [
    "log", "edit", "move", "won", "lost", "abandon", "hold", "reopen", "resolve",
];

/// The action a verb's form asks for.
fn action(verb: &str, typed: &Typed, store: &Store, id: &LeadId) -> Result<Action, AppError> {
    let now = Utc::now();
    let pipeline = store.pipeline();
    let cx = ParseContext {
        pipeline,
        now,
        zone: &Local,
    };
    let at = |typed: &Typed| {
        fieldsync_model::form::event_time(
            typed.given("at").map(format::typed_moment).as_deref(),
            now,
            &Local,
        )
    };
    Ok(match verb {
        "log" => {
            // The form shows now to the minute; left untouched, the follow-up is dated now.
            let happened = typed
                .given("at")
                .filter(|at| Some(*at) != typed.given("at_shown"))
                .map(format::typed_moment);
            Action::Log(
                FollowUpText {
                    at: happened.as_deref(),
                    channel: typed.get("channel"),
                    summary: typed.get("summary"),
                    feedback: typed.given("feedback"),
                    next: typed.given("next"),
                    due: typed.given("due"),
                }
                .draft(now, &Local)?,
            )
        }
        "edit" => {
            let mut fields = Vec::new();
            for field in Field::ALL {
                if let Some(text) = typed.values.get(field.key()) {
                    fields.push((*field, field.parse(text, &cx)?));
                }
            }
            Action::Edit(fields)
        }
        "move" => Action::Move {
            to: pipeline.resolve_stage(typed.get("stage"))?.key.clone(),
            at: at(typed)?,
        },
        "won" => Action::Won {
            amount: parse_with("amount", typed.get("amount").parse::<Money>())?,
            at: at(typed)?,
            note: optional_text("note", typed.given("note"))?,
        },
        "lost" => Action::Lost {
            reason: pipeline
                .resolve_loss_reason(typed.get("reason"))?
                .key
                .clone(),
            note: optional_text("note", typed.given("note"))?,
            at: at(typed)?,
        },
        "abandon" => Action::Abandon {
            reason: typed
                .given("reason")
                .map(|reason| pipeline.resolve_loss_reason(reason).map(|r| r.key.clone()))
                .transpose()?,
            note: optional_text("note", typed.given("note"))?,
            at: at(typed)?,
        },
        "hold" => Action::Hold {
            until: match typed.given("release") {
                Some(_) => None,
                None => Some(parse_with(
                    "until",
                    when::parse_date(typed.get("until"), now, &Local),
                )?),
            },
            reason: optional_text("reason", typed.given("reason"))?,
            at: at(typed)?,
        },
        "reopen" => Action::Reopen { at: at(typed)? },
        "resolve" => {
            let lead = store.load(id)?.view();
            resolve::resolution(&lead, typed.get("field"), typed.get("value"), &cx)?
        }
        _ => return Err(AppError::Missing(format!("no such action '{verb}'"))),
    })
}

/// Applies the verb's action to the lead, as the reader.
fn apply(verb: &str, typed: &Typed, store: &mut Store, id: &LeadId) -> Result<(), AppError> {
    let action = action(verb, typed, store, id)?;
    let stamp = Stamp {
        by: store.me().to_owned(),
        now: Utc::now(),
    };
    store.update_lead(id, &[action], &stamp)?;
    Ok(())
}

/// `POST /lead/{id}/{verb}`.
pub async fn act(
    State(app): State<Arc<App>>,
    Path((id, verb)): Path<(String, String)>,
    lang: Lang,
    headers: HeaderMap,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let id =
        LeadId::parse(&id).ok_or_else(|| AppError::Missing(format!("'{id}' is not a lead id")))?;
    let Some(verb) = VERBS.iter().copied().find(|known| *known == verb) else {
        return Err(AppError::Missing(format!("no such action '{verb}'")));
    };
    let typed = Typed::new(values);
    let back = typed
        .given("back")
        .filter(|back| back.starts_with('/') && !back.starts_with("//"))
        .map_or_else(|| format!("/lead/{id}"), str::to_owned);
    let sent = typed.clone();
    let written = {
        let id = id.clone();
        app.write(move |store| apply(verb, &sent, store, &id)).await
    };
    match written {
        Ok(()) => Ok(Redirect::to(&back).into_response()),
        Err(err) => match err.as_refusal(verb) {
            Some(problem) if headers.contains_key(FETCH_HEADER) => Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{} {}: {}", lang.refused(), problem.field, problem.problem),
            )
                .into_response()),
            Some(problem) => {
                let refused = lead::Refused {
                    form: verb,
                    typed: typed.refused(problem),
                };
                let path = format!("/lead/{id}");
                let page =
                    lead::page(&app, lang, id, path, lead::Asked::default(), Some(refused)).await?;
                Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
            }
            None => Err(err),
        },
    }
}

/// The form's address.
fn address(target: &Target<'_>, verb: &str) -> String {
    match target {
        Target::Lead(id, _) => format!("/lead/{id}/{verb}"),
        Target::Chosen => String::new(),
    }
}

/// A labelled input with its message.
fn input(
    typed: &Typed,
    lang: Lang,
    name: &'static str,
    key: &str,
    kind: &str,
    form: &str,
) -> Markup {
    let id = format!("{form}-{name}");
    html! {
        div class="field" {
            label for=(id) { (lang.t(key)) }
            input id=(id) name=(name) type=(kind) value=(typed.get(name))
                aria-invalid=[typed.is_wrong(name).then_some("true")]
                aria-describedby=[typed.is_wrong(name).then(|| format!("error-{name}"))];
            (typed.message(name, lang))
        }
    }
}

/// The move, won, lost, abandon and hold forms (and reopen, for a closed lead on its page);
/// `refused` is the form sent last, if it was refused.
pub fn forms(
    lang: Lang,
    pipeline: &fieldsync_model::Pipeline,
    target: &Target<'_>,
    refused: Option<&lead::Refused>,
) -> Markup {
    let empty = Typed::default();
    let typed_for = |verb: &str| match refused {
        Some(refused) if refused.form == verb => &refused.typed,
        _ => &empty,
    };
    let sales: Vec<_> = pipeline
        .stages
        .iter()
        .enumerate()
        .filter(|(index, _)| pipeline.is_sales(*index))
        .map(|(_, stage)| stage)
        .collect();
    // The stage after the lead's own, which a move most often goes to.
    let next = match target {
        Target::Lead(_, current) => sales
            .iter()
            .position(|stage| stage.key == *current)
            .and_then(|index| sales.get(index + 1))
            .map(|stage| stage.key.as_str()),
        Target::Chosen => None,
    };
    html! {
        div class="actions" {
            form method="post" action=(address(target, "move")) data-verb="move" class="action" {
                @let typed = typed_for("move");
                div class="field" {
                    label for="move-stage" { (lang.t("action.move_to")) }
                    select id="move-stage" name="stage" {
                        @for stage in &sales {
                            option value=(stage.key) selected[Some(stage.key.as_str()) == next] { (label(lang, &stage.label)) }
                        }
                    }
                    (typed.message("stage", lang))
                }
                (typed.general(&["stage"], lang))
                button type="submit" { (lang.t("action.move")) }
            }
            form method="post" action=(address(target, "won")) data-verb="won" class="action" {
                @let typed = typed_for("won");
                (input(typed, lang, "amount", "action.amount", "text", "won"))
                (typed.general(&["amount"], lang))
                button type="submit" { (lang.t("action.won")) }
            }
            form method="post" action=(address(target, "lost")) data-verb="lost" class="action" {
                @let typed = typed_for("lost");
                div class="field" {
                    label for="lost-reason" { (lang.t("action.reason")) }
                    select id="lost-reason" name="reason" {
                        @for reason in &pipeline.loss_reasons {
                            option value=(reason.key) selected[typed.get("reason") == reason.key] { (label(lang, &reason.label)) }
                        }
                    }
                }
                (input(typed, lang, "note", "action.note", "text", "lost"))
                (typed.general(&["reason", "note"], lang))
                button type="submit" { (lang.t("action.lost")) }
            }
            form method="post" action=(address(target, "abandon")) data-verb="abandon" class="action" {
                @let typed = typed_for("abandon");
                (typed.general(&[], lang))
                button type="submit" { (lang.t("action.abandon")) }
            }
            form method="post" action=(address(target, "hold")) data-verb="hold" class="action" {
                @let typed = typed_for("hold");
                (input(typed, lang, "until", "action.until", "date", "hold"))
                (input(typed, lang, "reason", "action.hold_reason", "text", "hold"))
                (typed.general(&["until", "reason"], lang))
                button type="submit" { (lang.t("action.hold")) }
            }
        }
    }
}
