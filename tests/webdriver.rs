//! Headless Chromium for the app's tests, driven through WebDriver by fantoccini and Debian's
//! chromedriver (both installed by `scripts/install-test-deps`).
//!
//! chromedriver listens on an ephemeral port on 127.0.0.1 and says which on its first lines;
//! readiness is that line, never a sleep. Chromium runs with a fresh profile and with its
//! background networking off, so it makes no connection of its own. Browser sessions run one
//! test at a time per test binary ([`one_test_at_a_time`]): two cores do not run several
//! tests' Chromiums well.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// How long any one wait may take.
pub const STEP: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Held by a test for as long as it drives browsers, so tests take turns.
pub async fn one_test_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// chromedriver's browser log, which holds console messages and failed loads.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A browser session; chromedriver is killed on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the WebDriver session is what closes Chromium: killing chromedriver alone
        // would leave it running. Tests run on a multi-threaded runtime, so this may block.
        let client = self.client.clone();
        tokio::task::block_in_place(|| {
            let _ = tokio::runtime::Handle::current().block_on(client.close());
        });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go: target/app-screenshots.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/app-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a `width` x `height` window.
    pub async fn start(width: u32, height: u32) -> Browser {
        let chromium =
            std::env::var("FIELDSYNC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let chromedriver = std::env::var("FIELDSYNC_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        assert!(
            std::path::Path::new(&chromedriver).exists(),
            "{chromedriver} not found: run scripts/install-test-deps (Debian's chromium-driver) or set FIELDSYNC_CHROMEDRIVER"
        );
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = driver.stdout.take().unwrap();
        let (tell, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let _ = tell.send(rest.trim_end_matches('.').to_owned());
                }
            }
        });
        let port = told
            .recv_timeout(STEP)
            .expect("chromedriver did not say where it listens");
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({"browser": "ALL"}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session");
        // The window size counts the browser's own frame: grow it until the page itself is
        // `width` x `height`, as a screenshot shows it.
        let frame = client
            .execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];", Vec::new())
            .await
            .unwrap();
        let extra = |index: usize| u32::try_from(frame[index].as_u64().unwrap_or(0)).unwrap_or(0);
        client
            .set_window_size(width + extra(0), height + extra(1))
            .await
            .unwrap();
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Console errors and warnings and failed loads since the last call.
    pub async fn problems(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.unwrap();
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
            .map(|entry| entry["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Saves a screenshot as target/app-screenshots/`name`.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The text of the first element `css` finds.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("{css}: {err}"))
            .text()
            .await
            .unwrap()
    }

    /// The value of an expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), Vec::new())
            .await
            .unwrap()
    }

    /// Waits until `expression` is true in the page (bounded by [`STEP`]).
    pub async fn wait_until(&self, expression: &str) {
        let started = std::time::Instant::now();
        loop {
            if self.eval(expression).await == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < STEP,
                "waited {STEP:?} for `{expression}`; the page says: {}",
                self.eval("document.body.innerText").await
            );
            // Polling the page's own state: the browser has no other signal to give.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the field labelled `label` (its `<label for>`).
    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.by_label(label).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// The field a `<label>` with text `label` is for.
    pub async fn by_label(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//label[normalize-space(text())='{label}']");
        let label_element = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|err| panic!("no label '{label}': {err}"));
        let id = label_element.attr("for").await.unwrap().expect("label for");
        self.client.find(Locator::Id(&id)).await.unwrap()
    }

    /// Clicks the button with text `text`.
    pub async fn press(&self, text: &str) {
        let xpath = format!("//button[normalize-space(.)='{text}']");
        self.client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|err| panic!("no button '{text}': {err}"))
            .click()
            .await
            .unwrap();
    }
}
