//! Where the language switch may send a reader back to: only one of the app's own pages.
//!
//! A `back` value comes from a form field, so anyone can write it. Browsers read `//host`,
//! `/\host` and paths with tabs or newlines inside as another site's address; a value that is
//! not exactly one of the app's routes (with an optional plain query) is not followed.

/// The app's pages a reader can come back to, by their first path segment; `lead` takes an id.
const PAGES: [&str; 5] = ["", "board", "leads", "new", "numbers"];

/// `back` if it names one of the app's own pages, else `None`.
pub fn own_page(back: &str) -> Option<&str> {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let rest = path.strip_prefix('/')?;
    let page_ok = match rest.split_once('/') {
        None => PAGES.contains(&rest),
        Some(("lead", id)) => !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()),
        Some(_) => false,
    };
    let query_ok = query
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"=&%-_.~+/,:*!()'@;$".contains(&b));
    (page_ok && query_ok).then_some(back)
}

#[cfg(test)]
mod tests {
    use super::own_page;

    #[test]
    fn the_apps_own_pages_are_followed() {
        for page in [
            "/",
            "/board",
            "/leads?owner=lina&stage=solution",
            "/lead/e5400c5bab834b62bac98cc375616868",
            "/numbers?period=2026-Q4",
            "/leads?q=%E5%AE%A2",
        ] {
            assert_eq!(own_page(page), Some(page), "{page}");
        }
    }

    #[test]
    fn another_sites_address_is_not() {
        for other in [
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "/\tevil.example",
            "/lead/../..//evil.example",
            "/lead/",
            "/leads\n//evil.example",
            "/leads?x=//evil.example/\\",
            "/nowhere",
            "",
        ] {
            assert_eq!(own_page(other), None, "{other:?}");
        }
    }
}
