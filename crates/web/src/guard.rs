//! What makes a server on 127.0.0.1 safe, checked on every request before any handler runs:
//!
//! - **Its own Host.** A page on another site can point its own name at 127.0.0.1 (DNS
//!   rebinding); the browser then sends that name as Host, and the request is refused.
//! - **The launch secret.** `fieldsync app` prints an address with `?key=SECRET`; the first
//!   request with it sets an HttpOnly, SameSite=Strict cookie and redirects to the same page
//!   without it. Every other request needs the cookie: another user of the machine, or a page
//!   in the browser, reaches nothing without the secret.
//! - **No cross-site writes.** A request that changes anything (any method but GET and HEAD)
//!   must come from the app's own pages: its Origin must be the app's (or, without an Origin,
//!   Sec-Fetch-Site must say same-origin). The SameSite cookie already keeps other sites'
//!   forms from carrying the secret; this check refuses them even where a browser would.
//! - **Headers** that keep the pages from being framed or loading anything from elsewhere.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

use crate::app::App;

/// The policy every page is served with: only the app's own scripts, styles and images.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The name of the secret's cookie (per port, so two apps on one machine keep theirs apart).
fn cookie_name(app: &App) -> String {
    format!("fieldsync_key_{}", app.port)
}

/// Whether two secrets are equal, taking the same time whatever the first difference.
fn same_secret(given: &str, secret: &str) -> bool {
    given.len() == secret.len()
        && given
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Why a request was refused, as plain text (no page: it may not be our reader at all).
fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("fieldsync app: {why}\n")).into_response()
}

/// The checks, in order; then the handler; then the headers.
pub async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let hosts = [
        format!("127.0.0.1:{}", app.port),
        format!("localhost:{}", app.port),
    ];
    let host = request
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !hosts.iter().any(|own| own == host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "this address is not the app's own (use the address `fieldsync app` printed)",
        );
    }
    let origins = hosts.map(|host| format!("http://{host}"));
    let jar = CookieJar::from_headers(request.headers());
    let name = cookie_name(&app);
    let key_given = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("key="))
            .map(str::to_owned)
    });
    if let Some(key) = key_given {
        if !same_secret(&key, &app.secret) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "this key is not this launch's: use the address `fieldsync app` printed last",
            );
        }
        let cookie = Cookie::build((name, app.secret.clone()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .build();
        return (jar.add(cookie), Redirect::to(request.uri().path())).into_response();
    }
    if !jar
        .get(&name)
        .is_some_and(|cookie| same_secret(cookie.value(), &app.secret))
    {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "open the address `fieldsync app` printed (it carries this launch's key)",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let headers = request.headers();
        let same_origin = match headers.get(ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(origin) => origins.iter().any(|own| own == origin),
            None => headers
                .get("sec-fetch-site")
                .is_some_and(|site| site == "same-origin"),
        };
        if !same_origin {
            return refuse(
                StatusCode::FORBIDDEN,
                "a change may only come from the app's own pages",
            );
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin: a form's Origin header says where it came from (with no-referrer it would be
    // "null" and every form refused); no address leaves for another site.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abce", "abcd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
