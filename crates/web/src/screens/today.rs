//! Today: what needs me now, most urgent first: overdue follow-ups, next steps due, stale leads
//! (by the stage's limit) and holds ending, from the same alerts as `fieldsync today`. One tap
//! on an item opens the lead at its log form.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use chrono::{Local, Offset, Utc};
use fieldsync_funnel::alerts::{LeadAlert, LeadAlertKind, alerts};
use maud::{Markup, html};

use crate::app::App;
use crate::error::AppError;
use crate::format;
use crate::lang::Lang;
use crate::layout::{Screen, page, screen};
use crate::screens::stage_name;

/// The alert's kind as a key of the locale file.
fn kind_key(kind: LeadAlertKind) -> &'static str {
    match kind {
        LeadAlertKind::Stale => "today.stale",
        LeadAlertKind::FollowUpOverdue => "today.followup_overdue",
        LeadAlertKind::NextStepOverdue => "today.next_overdue",
        LeadAlertKind::NextStepDue => "today.next_due",
        LeadAlertKind::HoldEnding => "today.hold_ending",
    }
}

/// What is wrong, in the reader's words.
fn describe(lang: Lang, alert: &LeadAlert) -> String {
    let total = alert.days_over + alert.limit_days;
    match alert.kind {
        LeadAlertKind::Stale => lang.fill(
            "today.stale_detail",
            &[("days", &total), ("limit", &alert.limit_days)],
        ),
        LeadAlertKind::FollowUpOverdue => lang.fill(
            "today.followup_detail",
            &[("days", &total), ("limit", &alert.limit_days)],
        ),
        LeadAlertKind::NextStepOverdue => lang.count("today.next_overdue_detail", alert.days_over),
        LeadAlertKind::NextStepDue => lang.t("today.next_due_detail").into_owned(),
        LeadAlertKind::HoldEnding => lang.count("today.hold_detail", -alert.days_over),
    }
}

/// `GET /`.
pub async fn show(State(app): State<Arc<App>>, lang: Lang, uri: Uri) -> Result<Markup, AppError> {
    screen(&app, uri.to_string(), move |store, rows, header| {
        let now = Utc::now();
        let me = store.me();
        let pipeline = store.pipeline();
        let offset = now.with_timezone(&Local).offset().fix();
        let mine = rows.iter().filter(|row| row.owner.as_deref() == Some(me));
        let found = alerts(mine, pipeline, now, offset);
        let title = lang.t("today.title");
        let body = html! {
            h1 { (title) " " span class="date" { (format::today(now)) } }
            section data-live="today" aria-live="polite" {
                @if found.leads.is_empty() {
                    p class="empty" { (lang.t("today.nothing")) }
                } @else {
                    p { (lang.count("today.count", found.leads.len())) }
                    ol class="tasks" {
                        @for alert in &found.leads {
                            li class={ "task " (kind_key(alert.kind).trim_start_matches("today.")) } {
                                a class="task-open" href={ "/lead/" (alert.id) "#log" } {
                                    span class="kind" { (lang.t(kind_key(alert.kind))) }
                                    span class="company" { (alert.company) }
                                    span class="stage" { (stage_name(lang, pipeline, &alert.stage)) }
                                    span class="detail" { (describe(lang, alert)) }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(lang, &header, Screen::Today, &title, body))
    })
    .await
}
