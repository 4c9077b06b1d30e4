//! A new lead, with the same checks as `fieldsync lead add` ([`NewLeadText`]) and a warning,
//! before anything is saved, when a stored lead has the same phone, email, or company and
//! contact ([`fieldsync_model::duplicate`]); the reader may then open that lead or save anyway.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Local, Utc};
use fieldsync_model::form::NewLeadText;
use fieldsync_model::{Field, LeadRow, ParseContext, Stamp, duplicate};
use fieldsync_store::Store;
use maud::{Markup, html};

use crate::app::App;
use crate::error::AppError;
use crate::form::Typed;
use crate::lang::Lang;
use crate::layout::{Header, Screen, page, screen};
use crate::screens::lead::field_input;

/// The fields the form asks for, in order; the rest are on the lead's page once it exists.
const ASKED: [Field; 12] = [
    Field::Company,
    Field::Contact,
    Field::Title,
    Field::Phone,
    Field::Email,
    Field::Region,
    Field::Industry,
    Field::Source,
    Field::Priority,
    Field::Amount,
    Field::ExpectedClose,
    Field::Notes,
];

/// The form, with what was typed, its problem, and the leads it may repeat.
fn form(
    lang: Lang,
    store: &Store,
    typed: &Typed,
    repeats: &[(duplicate::Match, &LeadRow)],
) -> Markup {
    let pipeline = store.pipeline();
    html! {
        h1 { (lang.t("new.title")) }
        @if !repeats.is_empty() {
            section class="duplicates" role="alert" {
                h2 { (lang.t("new.duplicates")) }
                ul {
                    @for (matched, row) in repeats {
                        li {
                            a href={ "/lead/" (row.id) } { (row.company) " · " (row.contact) }
                            " — " (lang.t(&format!("new.same_{}", match matched {
                                duplicate::Match::Phone => "phone",
                                duplicate::Match::Email => "email",
                                duplicate::Match::CompanyAndContact => "who",
                            })))
                        }
                    }
                }
            }
        }
        form method="post" action="/new" class="new-form" {
            @for field in ASKED {
                (field_input(lang, pipeline, field, "", typed))
            }
            (typed.general(&Field::ALL.iter().flat_map(|f| [f.key(), f.flag()]).collect::<Vec<_>>(), lang))
            @if !repeats.is_empty() {
                input type="hidden" name="confirm" value="1";
                button type="submit" { (lang.t("new.save_anyway")) }
            } @else {
                button type="submit" { (lang.t("new.save")) }
            }
        }
    }
}

/// `GET /new`.
pub async fn show(State(app): State<Arc<App>>, lang: Lang, uri: Uri) -> Result<Markup, AppError> {
    screen(&app, uri.to_string(), move |store, _, header| {
        let typed = Typed::default();
        let mut filled = typed.clone();
        filled
            .values
            .insert(Field::Priority.key().to_owned(), "medium".to_owned());
        Ok(page(
            lang,
            &header,
            Screen::New,
            &lang.t("new.title"),
            form(lang, store, &filled, &[]),
        ))
    })
    .await
}

/// What saving the form did.
enum Saved {
    /// The lead was made.
    Made(String),
    /// Nothing was saved: the page again, with the problem or the duplicates.
    Again(Markup),
}

/// `POST /new`.
pub async fn save(
    State(app): State<Arc<App>>,
    lang: Lang,
    Form(values): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let shared = Arc::clone(&app);
    let typed = Typed::new(values);
    let saved = app
        .write(move |store| {
            let text = NewLeadText {
                fields: ASKED
                    .iter()
                    .filter_map(|field| typed.given(field.key()).map(|text| (*field, text)))
                    .collect(),
                owner: None,
                at: None,
            };
            let now = Utc::now();
            let stamp = Stamp {
                by: store.me().to_owned(),
                now,
            };
            let cx = ParseContext {
                pipeline: store.pipeline(),
                now,
                zone: &Local,
            };
            let again = |store: &Store,
                         typed: &Typed,
                         repeats: &[(duplicate::Match, &LeadRow)]|
             -> Result<Saved, AppError> {
                let rows = store.rows()?;
                let header = Header::read(store, &rows, &shared, "/new".to_owned())?;
                Ok(Saved::Again(page(
                    lang,
                    &header,
                    Screen::New,
                    &lang.t("new.title"),
                    form(lang, store, typed, repeats),
                )))
            };
            let history = match text.history(&cx, &stamp) {
                Ok(history) => history,
                Err(problem) => return again(store, &typed.clone().refused(problem), &[]),
            };
            if typed.given("confirm").is_none() {
                let rows = store.rows()?;
                let repeats = duplicate::among(
                    typed.get(Field::Phone.key()),
                    typed.get(Field::Email.key()),
                    typed.get(Field::Company.key()),
                    typed.get(Field::Contact.key()),
                    &rows,
                );
                if !repeats.is_empty() {
                    return again(store, &typed, &repeats);
                }
            }
            match store.create_lead(history) {
                Ok(id) => Ok(Saved::Made(format!("/lead/{id}"))),
                Err(err) => match AppError::from(err) {
                    AppError::Invalid(problem) => {
                        again(store, &typed.clone().refused(problem), &[])
                    }
                    other => Err(other),
                },
            }
        })
        .await?;
    Ok(match saved {
        Saved::Made(to) => Redirect::to(&to).into_response(),
        Saved::Again(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
    })
}
