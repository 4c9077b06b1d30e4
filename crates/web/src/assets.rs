//! The app's own stylesheet and script, compiled into the binary and served with a version in
//! the path so a new release is never read from an old cache. Nothing comes from elsewhere.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

/// Where the stylesheet is served.
pub const CSS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/app.css");
/// Where the script is served.
pub const JS_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/app.js");

/// Where the icon is served.
pub const ICON_PATH: &str = concat!("/assets/", env!("CARGO_PKG_VERSION"), "/icon.svg");

const ICON: &str = include_str!("../assets/icon.svg");
const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, kind),
            (CACHE_CONTROL, "private, max-age=31536000, immutable"),
        ],
        body,
    )
}

/// The stylesheet.
pub async fn css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CSS)
}

/// The script.
pub async fn js() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", JS)
}

/// The icon (a funnel).
pub async fn icon() -> impl IntoResponse {
    asset("image/svg+xml", ICON)
}
