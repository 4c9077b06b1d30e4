//! The routes, the guard around them, and serving until told to stop.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router, middleware};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::app::App;
use crate::back::own_page;
use crate::lang::{LANG_COOKIE, Lang};
use crate::screens::{board, lead, lead_actions, leads, new_lead, numbers, today};
use crate::{assets, guard, live};

/// `POST /lang`: remembers the reader's language and goes back to the page.
async fn switch_language(
    jar: CookieJar,
    Form(values): Form<BTreeMap<String, String>>,
) -> impl IntoResponse {
    let lang = values
        .get("to")
        .and_then(|code| Lang::from_code(code))
        .unwrap_or(Lang::En);
    let back = values
        .get("back")
        .and_then(|back| own_page(back))
        .unwrap_or("/")
        .to_owned();
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .same_site(SameSite::Strict)
        .path("/")
        .permanent()
        .build();
    (jar.add(cookie), Redirect::to(&back))
}

/// Every route of the app, behind the guard.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(today::show))
        .route("/board", get(board::show))
        .route("/leads", get(leads::show))
        .route("/lead/{id}", get(lead::show))
        .route("/lead/{id}/{verb}", post(lead_actions::act))
        .route("/new", get(new_lead::show).post(new_lead::save))
        .route("/numbers", get(numbers::show))
        .route("/events", get(live::events))
        .route("/lang", post(switch_language))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .route(assets::ICON_PATH, get(assets::icon))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            guard::check,
        ))
        .with_state(app)
}

/// Binds `port` on 127.0.0.1 only: the app is never reachable from another machine.
pub async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await
}

/// Serves on `listener` (from [`bind`]) until `stop` completes. Open
/// event streams are cut then, not waited for.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = axum::serve(listener, router(app));
    tokio::select! {
        served = server.into_future() => served,
        () = stop => Ok(()),
    }
}
