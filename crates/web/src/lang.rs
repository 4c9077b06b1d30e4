//! The reader's language: Chinese or English, from the language switch (a cookie) or else the
//! browser's Accept-Language. Texts come from `locales/app.yml` through rust-i18n, compiled
//! into the binary; a page asks [`Lang::t`] for each.

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "fieldsync_lang";

/// A language the app speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Its BCP 47 tag, as `lang=` and the locale files name it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other one, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The language a tag names, if the app speaks it.
    pub fn from_code(code: &str) -> Option<Lang> {
        let code = code.trim().to_ascii_lowercase();
        if code.starts_with("zh") {
            Some(Lang::Zh)
        } else if code.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The first language of an Accept-Language header the app speaks (English if none).
    pub fn from_accept(header: &str) -> Lang {
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next().unwrap_or("").trim();
                let quality = pieces
                    .find_map(|piece| piece.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                (quality, tag)
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0));
        tags.iter()
            .find_map(|(_, tag)| Lang::from_code(tag))
            .unwrap_or(Lang::En)
    }

    /// The text of `key` in this language.
    pub fn t<'a>(self, key: &'a str) -> Cow<'a, str> {
        rust_i18n::t!(key, locale = self.code())
    }

    /// The text of `key` with `%{count}` filled in.
    pub fn count(self, key: &str, count: impl std::fmt::Display) -> String {
        self.fill(key, &[("count", &count)])
    }

    /// The text of `key` with each `%{name}` filled in.
    pub fn fill(self, key: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
        values
            .iter()
            .fold(self.t(key).into_owned(), |text, (name, value)| {
                text.replace(&format!("%{{{name}}}"), &value.to_string())
            })
    }

    /// What precedes a refused value's message.
    pub fn refused(self) -> Cow<'static, str> {
        self.t("form.refused")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let chosen = CookieJar::from_headers(&parts.headers)
            .get(LANG_COOKIE)
            .and_then(|cookie| Lang::from_code(cookie.value()));
        Ok(chosen.unwrap_or_else(|| {
            Lang::from_accept(
                parts
                    .headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or(""),
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_picks_chinese_or_english() {
        assert_eq!(Lang::from_accept("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::from_accept("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept("fr-FR,zh-TW;q=0.5"), Lang::Zh);
        assert_eq!(Lang::from_accept(""), Lang::En);
        assert_eq!(Lang::Zh.t("nav.today"), "今天");
        assert_eq!(Lang::En.t("nav.today"), "Today");
    }
}
