//! The pipeline board: a column per sales stage with its count, total and weighted amount (by
//! the stage's probability), cards with company, contact, amount and days in the stage (stale
//! cards marked). A card is dragged to another column to move the lead (dated now), or moved,
//! won, lost, abandoned or put on hold from its menu, which works from the keyboard too.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::Uri;
use chrono::Utc;
use fieldsync_model::view::Outcome;
use fieldsync_model::{LeadRow, Money};
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::App;
use crate::error::AppError;
use crate::format;
use crate::lang::Lang;
use crate::layout::{Screen, page, screen};
use crate::screens::lead_actions::{self, Target};
use crate::screens::{label, source_name};

/// Cards shown per column; the rest are a link to the lead list.
const CARDS_PER_COLUMN: usize = 60;

/// The board's filters.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// `mine`, `pool`, a member's name, or empty for everyone this device holds.
    #[serde(default)]
    pub owner: String,
    /// A source channel key, or empty for all.
    #[serde(default)]
    pub source: String,
}

impl Filters {
    fn keeps(&self, row: &LeadRow, me: &str) -> bool {
        let owner = row.owner.as_deref();
        let owner_ok = match self.owner.as_str() {
            "" => true,
            "mine" => owner == Some(me),
            "pool" => owner.is_none(),
            name => owner == Some(name),
        };
        owner_ok && (self.source.is_empty() || row.source == self.source)
    }
}

/// `GET /board`.
pub async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    uri: Uri,
    Query(filters): Query<Filters>,
) -> Result<Markup, AppError> {
    screen(&app, uri.to_string(), move |store, rows, header| {
        let now = Utc::now();
        let today = format::today(now);
        let pipeline = store.pipeline();
        let me = store.me();
        let owners: Vec<&str> = {
            let mut names: Vec<&str> = rows.iter().filter_map(|row| row.owner.as_deref()).collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let mut columns: BTreeMap<&str, Vec<&LeadRow>> = BTreeMap::new();
        for row in rows.iter().filter(|row| {
            !row.deleted && row.outcome == Outcome::Open && filters.keeps(row, me)
        }) {
            columns.entry(row.stage.as_str()).or_default().push(row);
        }
        let title = lang.t("board.title");
        let body = html! {
            h1 { (title) }
            form class="filters" method="get" action="/board" {
                label { (lang.t("board.owner")) " "
                    select name="owner" {
                        option value="" selected[filters.owner.is_empty()] { (lang.t("board.everyone")) }
                        option value="mine" selected[filters.owner == "mine"] { (lang.t("board.mine")) }
                        option value="pool" selected[filters.owner == "pool"] { (lang.t("lead.pool")) }
                        @for name in &owners {
                            option value=(name) selected[filters.owner == *name] { (name) }
                        }
                    }
                }
                label { (lang.t("field.source")) " "
                    select name="source" {
                        option value="" { (lang.t("board.all_sources")) }
                        @for source in &pipeline.sources {
                            option value=(source.key) selected[filters.source == source.key] { (label(lang, &source.label)) }
                        }
                    }
                }
                button type="submit" { (lang.t("board.apply")) }
            }
            div class="board" data-live="board" {
                @for stage in pipeline.stages.iter().enumerate().filter(|(i, _)| pipeline.is_sales(*i)).map(|(_, stage)| stage) {
                    @let cards = columns.get(stage.key.as_str()).map(Vec::as_slice).unwrap_or_default();
                    @let total: i64 = cards.iter().filter_map(|row| row.amount).map(Money::cents).sum();
                    @let weighted = total * i64::from(stage.probability) / 100;
                    section class="column" data-stage=(stage.key) aria-label=(label(lang, &stage.label)) {
                        h2 {
                            span class="name" { (label(lang, &stage.label)) }
                            span class="count" { (cards.len()) }
                        }
                        p class="sum" {
                            (format::amount(pipeline, Some(Money::from_cents(total))))
                            " · " (lang.t("board.weighted")) " " (format::amount(pipeline, Some(Money::from_cents(weighted))))
                            " (" (stage.probability) "%)"
                        }
                        ol class="cards" {
                            @for row in cards.iter().take(CARDS_PER_COLUMN) {
                                @let days = format::days_since(row.stage_entered_ms, now);
                                @let stale = days > i64::from(stage.stale_days) && !row.on_hold(today);
                                li class={ "card" @if stale { " stale" } } draggable="true" data-id=(row.id) data-stage=(stage.key) {
                                    a class="company" href={ "/lead/" (row.id) } { (row.company) }
                                    span class="contact" { (row.contact) }
                                    @if let Some(amount) = row.amount {
                                        span class="amount" { (pipeline.amount(amount)) }
                                    }
                                    span class="days" { (lang.count("board.days", days)) @if stale { " · " (lang.t("board.stale")) } }
                                    @if !row.source.is_empty() {
                                        span class="source" { (source_name(lang, pipeline, &row.source)) }
                                    }
                                    button type="button" class="card-menu" data-id=(row.id) data-company=(row.company)
                                        aria-label={ (lang.t("board.actions")) " " (row.company) } { "⋯" }
                                }
                            }
                        }
                        @if cards.len() > CARDS_PER_COLUMN {
                            a class="more" href={ "/leads?stage=" (stage.key) } {
                                (lang.count("board.more", cards.len() - CARDS_PER_COLUMN))
                            }
                        }
                    }
                }
            }
            dialog id="card-actions" aria-labelledby="card-actions-title" {
                h2 id="card-actions-title" {}
                (lead_actions::forms(lang, pipeline, &Target::Chosen, None))
                form method="dialog" { button type="submit" { (lang.t("board.close")) } }
            }
        };
        Ok(page(lang, &header, Screen::Board, &title, body))
    })
    .await
}
