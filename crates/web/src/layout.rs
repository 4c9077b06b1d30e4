//! The page around every screen: the navigation, the sync header (online or offline, changes
//! not yet acknowledged by the relay, the last sync, conflicts) and the language switch.
//!
//! Parts marked `data-live` are swapped in again when the page hears a change; the script
//! never touches a form the reader is typing in.

use std::sync::Arc;

use fieldsync_model::LeadRow;
use fieldsync_store::Store;
use maud::{DOCTYPE, Markup, html};

use crate::app::{App, SyncStatus};
use crate::assets::{CSS_PATH, ICON_PATH, JS_PATH};
use crate::error::AppError;
use crate::format;
use crate::lang::Lang;

/// The screens the navigation leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// My day.
    Today,
    /// The pipeline board.
    Board,
    /// The lead list and search.
    Leads,
    /// A new lead.
    New,
    /// My numbers.
    Numbers,
    /// One lead (not in the navigation).
    Lead,
}

impl Screen {
    const NAV: [(Screen, &'static str, &'static str); 5] = [
        (Screen::Today, "/", "nav.today"),
        (Screen::Board, "/board", "nav.board"),
        (Screen::Leads, "/leads", "nav.leads"),
        (Screen::New, "/new", "nav.new"),
        (Screen::Numbers, "/numbers", "nav.numbers"),
    ];
}

/// What the header shows, read with the page.
#[derive(Clone, Debug)]
pub struct Header {
    /// Who this device is.
    pub me: String,
    /// Changes made here the relay has not acknowledged.
    pub pending: u64,
    /// Leads with a conflict.
    pub conflicts: usize,
    /// What the sync loop last said.
    pub status: SyncStatus,
    /// The page's own path and query, where the language switch comes back to.
    pub path: String,
    /// Documents from the relay this device could not read and set aside.
    pub set_aside: usize,
}

impl Header {
    /// The header, given the rows the page read.
    pub fn read(
        store: &Store,
        rows: &[LeadRow],
        app: &App,
        path: String,
    ) -> Result<Header, AppError> {
        Ok(Header {
            me: store.me().to_owned(),
            pending: store.unpushed_count()?,
            conflicts: rows
                .iter()
                .filter(|row| row.conflicts > 0 && !row.deleted)
                .count(),
            status: app.status(),
            path,
            set_aside: store.set_aside()?.len(),
        })
    }
}

/// Reads what a screen shows: every row the device holds and the header, then `render`s,
/// off the async threads. `path` is the page's own path and query.
pub async fn screen<T: Send + 'static>(
    app: &Arc<App>,
    path: String,
    render: impl FnOnce(&Store, Vec<LeadRow>, Header) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let shared = Arc::clone(app);
    app.read(move |store| {
        let rows = store.rows()?;
        let header = Header::read(store, &rows, &shared, path)?;
        render(store, rows, header)
    })
    .await
}

/// The warning for a clock too far from the relay's, in the reader's language.
fn clock_warning(lang: Lang, skew: &fieldsync_client::clock::ClockSkew) -> String {
    let (amount, unit) = skew.amount();
    let key = match (skew.ahead > chrono::TimeDelta::zero(), unit) {
        (true, "day") => "status.clock_ahead_days",
        (true, "hour") => "status.clock_ahead_hours",
        (true, _) => "status.clock_ahead_minutes",
        (false, "day") => "status.clock_behind_days",
        (false, "hour") => "status.clock_behind_hours",
        (false, _) => "status.clock_behind_minutes",
    };
    lang.count(key, amount.unsigned_abs())
}

/// The sync header's live part.
pub fn status(lang: Lang, header: &Header) -> Markup {
    let status = &header.status;
    let (class, state) = match (status.joined, status.online, &status.refused) {
        (_, _, Some(_)) => ("refused", lang.t("status.refused")),
        (false, _, _) => ("local", lang.t("status.local")),
        (true, true, _) => ("online", lang.t("status.online")),
        (true, false, _) => ("offline", lang.t("status.offline")),
    };
    html! {
        div id="status" class={ "status " (class) } data-live="status" role="status" {
            span class="state" { (state) }
            // A device that works alone has no relay to send to: nothing is "not yet sent".
            @if status.joined {
                span class="pending" title=(lang.t("status.pending_help")) {
                    (lang.count("status.pending", header.pending))
                }
            }
            @if let Some(at) = status.last_sync {
                span class="last" { (lang.t("status.last")) " " (format::moment(at)) }
            }
            @if header.conflicts > 0 {
                a class="status-conflicts" href="/leads?conflicts=1" { (lang.count("status.conflicts", header.conflicts)) }
            }
            @if header.set_aside > 0 {
                p class="status-warning" role="alert" { (lang.count("status.set_aside", header.set_aside)) }
            }
            @if let Some(skew) = &status.clock {
                p class="status-warning" role="alert" { (clock_warning(lang, skew)) }
            }
            @if let Some(refused) = &status.refused {
                p class="refusal" role="alert" { (refused) }
            } @else if let (false, Some(problem)) = (status.online, &status.problem) {
                span class="status-problem" { (problem) }
            }
        }
    }
}

/// A whole page: `title`, the screen's `body`, the navigation with `active` marked.
pub fn page(lang: Lang, header: &Header, active: Screen, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldsync" }
                link rel="stylesheet" href=(CSS_PATH);
                link rel="icon" href=(ICON_PATH) type="image/svg+xml";
                script src=(JS_PATH) defer {}
            }
            body {
                header class="top" {
                    nav aria-label=(lang.t("nav.label")) {
                        span class="brand" { "fieldsync" }
                        @for (screen, path, key) in Screen::NAV {
                            a href=(path) aria-current=[(screen == active).then_some("page")] { (lang.t(key)) }
                        }
                    }
                    div class="who" {
                        span class="me" { (header.me) }
                        form method="post" action="/lang" class="lang" {
                            input type="hidden" name="to" value=(lang.other().code());
                            input type="hidden" name="back" value=(header.path);
                            button type="submit" lang=(lang.other().code()) { (lang.other().t("lang.name")) }
                        }
                    }
                    (status(lang, header))
                }
                main id="main" { (body) }
            }
        }
    }
}
