//! The lead list: search as you type over company, contact, phone, email and lead number
//! (Chinese substrings too, through the model's [`Search`]), filters by stage, owner, outcome
//! and conflicts, and sorting. The page asks for `?partial=1` while the reader types and swaps
//! in only the results, so a keystroke costs one scan of the rows, not a page.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use fieldsync_model::LeadRow;
use fieldsync_model::search::Search;
use fieldsync_model::view::Outcome;
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::App;
use crate::error::AppError;
use crate::format;
use crate::lang::Lang;
use crate::layout::{Screen, page, screen};
use crate::screens::{label, owner_name, stage_name};

/// Rows shown at most; the count says how many matched.
const SHOWN: usize = 200;

/// The list's query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Search text.
    #[serde(default)]
    pub q: String,
    /// A stage key, or empty.
    #[serde(default)]
    pub stage: String,
    /// `mine`, `pool`, a name, or empty.
    #[serde(default)]
    pub owner: String,
    /// `open`, `won`, `lost`, `abandoned` or `all`; empty: open leads, or all of them while
    /// searching (a customer is looked for whatever became of the deal).
    #[serde(default)]
    pub outcome: String,
    /// Only leads with conflicts.
    #[serde(default)]
    pub conflicts: String,
    /// `stage-days` (default), `company`, `amount` or `newest`.
    #[serde(default)]
    pub sort: String,
    /// Only the results, for the search box's script.
    #[serde(default)]
    pub partial: String,
}

impl ListQuery {
    fn keeps(&self, row: &LeadRow, me: &str, search: Option<&Search>) -> bool {
        let outcome_ok = match self.outcome.as_str() {
            "all" => true,
            "" if search.is_some() => true,
            "" | "open" => row.outcome == Outcome::Open,
            other => row.outcome.key() == other,
        };
        let owner_ok = match self.owner.as_str() {
            "" => true,
            "mine" => row.owner.as_deref() == Some(me),
            "pool" => row.owner.is_none(),
            name => row.owner.as_deref() == Some(name),
        };
        !row.deleted
            && outcome_ok
            && owner_ok
            && (self.stage.is_empty() || row.stage == self.stage)
            && (self.conflicts.is_empty() || row.conflicts > 0)
            && search.is_none_or(|search| search.matches(row))
    }
}

/// The matching rows, sorted.
fn matching<'a>(rows: &'a [LeadRow], query: &ListQuery, me: &str) -> Vec<&'a LeadRow> {
    let search = Search::new(&query.q);
    let mut found: Vec<&LeadRow> = rows
        .iter()
        .filter(|row| query.keeps(row, me, search.as_ref()))
        .collect();
    match query.sort.as_str() {
        "company" => found.sort_by(|a, b| a.company.cmp(&b.company)),
        "amount" => found.sort_by_key(|row| std::cmp::Reverse(row.amount)),
        "newest" => found.sort_by_key(|row| std::cmp::Reverse(row.created_ms)),
        _ => found.sort_by_key(|row| row.stage_entered_ms),
    }
    found
}

/// The results table.
fn results(lang: Lang, pipeline: &fieldsync_model::Pipeline, found: &[&LeadRow]) -> Markup {
    let now = Utc::now();
    html! {
        div id="results" data-live="results" {
            p class="count" role="status" { (lang.count("leads.count", found.len())) }
            @if !found.is_empty() {
                table class="leads" {
                    thead { tr {
                        th { (lang.t("field.company")) } th { (lang.t("field.contact")) } th class="wide-only" { (lang.t("field.phone")) }
                        th { (lang.t("lead.stage")) } th { (lang.t("lead.owner")) } th class="number" { (lang.t("field.amount")) }
                        th class="number wide-only" { (lang.t("leads.days")) }
                    } }
                    tbody {
                        @for row in found.iter().take(SHOWN) {
                            tr class=[(row.conflicts > 0).then_some("conflicted")] {
                                td { a href={ "/lead/" (row.id) } { (row.company) } @if !row.number.is_empty() { " " span class="number" { (row.number) } } }
                                td { (row.contact) }
                                td class="wide-only" { (row.phone) }
                                td { (stage_name(lang, pipeline, &row.stage)) }
                                td { (owner_name(lang, row.owner.as_deref())) }
                                td class="number" { (format::amount(pipeline, row.amount)) }
                                td class="number wide-only" { (format::days_since(row.stage_entered_ms, now)) }
                            }
                        }
                    }
                }
                @if found.len() > SHOWN { p { (lang.count("leads.more", found.len() - SHOWN)) } }
            }
        }
    }
}

/// `GET /leads`.
pub async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    uri: Uri,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    screen(&app, uri.to_string(), move |store, rows, header| {
        let pipeline = store.pipeline();
        let found = matching(&rows, &query, store.me());
        if !query.partial.is_empty() {
            return Ok(results(lang, pipeline, &found).into_response());
        }
        let title = lang.t("leads.title");
        let select = |name: &str, current: &str, options: Vec<(String, String)>| html! {
            select name=(name) id={ "filter-" (name) } {
                @for (value, text) in &options {
                    option value=(value) selected[current == value] { (text) }
                }
            }
        };
        let mut stages = vec![(String::new(), lang.t("leads.any_stage").into_owned())];
        stages.extend(pipeline.stages.iter().map(|stage| (stage.key.clone(), label(lang, &stage.label))));
        let owners = vec![
            (String::new(), lang.t("board.everyone").into_owned()),
            ("mine".to_owned(), lang.t("board.mine").into_owned()),
            ("pool".to_owned(), lang.t("lead.pool").into_owned()),
        ];
        let outcomes = ["", "open", "won", "lost", "abandoned", "all"]
            .map(|key| {
                let name = if key.is_empty() { "default" } else { key };
                (key.to_owned(), lang.t(&format!("outcome.{name}")).into_owned())
            })
            .to_vec();
        let sorts = ["stage-days", "company", "amount", "newest"]
            .map(|key| (key.to_owned(), lang.t(&format!("leads.sort_{}", key.replace('-', "_"))).into_owned()))
            .to_vec();
        let body = html! {
            h1 { (title) }
            form class="filters search" method="get" action="/leads" role="search" {
                label for="q" class="wide" { (lang.t("leads.search")) }
                input id="q" name="q" type="search" value=(query.q) autocomplete="off"
                    placeholder=(lang.t("leads.search_hint")) data-search="/leads";
                label { (lang.t("lead.stage")) " " (select("stage", &query.stage, stages)) }
                label { (lang.t("lead.owner")) " " (select("owner", &query.owner, owners)) }
                label { (lang.t("leads.outcome")) " " (select("outcome", &query.outcome, outcomes)) }
                label { (lang.t("leads.sort")) " " (select("sort", if query.sort.is_empty() { "stage-days" } else { &query.sort }, sorts)) }
                @if !query.conflicts.is_empty() { input type="hidden" name="conflicts" value="1"; }
                button type="submit" { (lang.t("board.apply")) }
            }
            (results(lang, pipeline, &found))
        };
        Ok(page(lang, &header, Screen::Leads, &title, body).into_response())
    })
    .await
}
