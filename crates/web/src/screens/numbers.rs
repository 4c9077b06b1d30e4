//! My numbers: the rep's funnel for this month against last month, laid out and drawn by the
//! report crate (the same tables and charts as `fieldsync report --period month`), over the
//! leads this rep owns.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use chrono::{Local, Utc};
use fieldsync_funnel::period::Calendar;
use fieldsync_funnel::{Compare, Counting, Span, Window};
use fieldsync_model::LeadRow;
use fieldsync_report::document::{Block, Length, lay_out};
use fieldsync_report::{Report, Scope, charts};
use maud::{Markup, PreEscaped, html};

use crate::app::App;
use crate::error::AppError;
use crate::lang::Lang;
use crate::layout::{Screen, page, screen};

/// `GET /numbers`.
pub async fn show(State(app): State<Arc<App>>, lang: Lang, uri: Uri) -> Result<Markup, AppError> {
    screen(&app, uri.to_string(), move |store, rows, header| {
        let now = Utc::now();
        let me = store.me().to_owned();
        let mine: Vec<LeadRow> = rows
            .into_iter()
            .filter(|row| row.owner.as_deref() == Some(me.as_str()))
            .collect();
        let span = Span::containing(Calendar::Month, now, &Local);
        let scope = Scope {
            period: span.period(&Local),
            compare: span
                .compared(Compare::Previous)
                .map(|earlier| (Compare::Previous, earlier.period(&Local))),
            counting: Counting::PassThrough,
            window: Window::Cohort,
            now,
        };
        let mut report = Report::compute(&mine, store.pipeline(), scope, &Local);
        report.leads_of = Some(me.clone());
        let document = lay_out(&report, store.pipeline(), Length::Readable);
        let title = lang.t("numbers.title");
        let body = html! {
            h1 { (title) }
            p class="subtitle" { (lang.fill("numbers.scope", &[("me", &me), ("first", &report.first_day), ("last", &report.last_day)])) }
            p class="note" { (document.subtitle) }
            @for section in document.sections.iter().take(1) {
                section class="report" data-live="numbers" {
                    h2 { (section.title) }
                    @for block in &section.blocks {
                        @match block {
                            Block::Text(text) => { p { (text) } }
                            Block::Chart(chart) => {
                                figure class="chart" id=(chart.id()) {
                                    // The report crate's own SVG, drawn from our figures (its
                                    // texts are escaped by the SVG writer).
                                    (PreEscaped(charts::svg(chart).unwrap_or_default()))
                                }
                            }
                            Block::Table(table) => {
                                div class="table-wrap" {
                                    table {
                                        caption { (table.caption) }
                                        thead { tr { @for heading in &table.headers { th { (heading) } } } }
                                        tbody { @for row in &table.rows { tr { @for cell in row { td { (cell) } } } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(lang, &header, Screen::Numbers, &title, body))
    })
    .await
}
