//! A real headless Chromium driven over the DevTools protocol, for the end-to-end tests of the
//! HTML report: load a page, collect every console message, script error and failed load,
//! evaluate an expression in it, and take a screenshot of the whole page.
//!
//! Chromium is Debian's (`/usr/bin/chromium`, or `FIELDSYNC_CHROMIUM`), which
//! `scripts/install-test-deps` installs. It runs with a fresh profile and with background
//! networking off, so it makes no connection of its own; readiness is its "DevTools listening"
//! line, never a sleep, and every wait is bounded.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(30);

/// What loading a page showed.
pub struct Loaded {
    /// Console errors and warnings, script exceptions and failed loads, as text.
    pub problems: Vec<String>,
    /// The value of the expression evaluated after the load.
    pub value: Value,
    /// A PNG of the whole page.
    pub screenshot: Vec<u8>,
}

/// A running browser; killed on drop.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts headless Chromium and waits for its DevTools address.
    pub fn start() -> Browser {
        let program =
            std::env::var("FIELDSYNC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        assert!(
            Path::new(&program).exists(),
            "{program} not found: run scripts/install-test-deps (Debian's chromium) or set FIELDSYNC_CHROMIUM"
        );
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
        let stderr = child.stderr.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        // Read stderr on a thread until the address shows, then keep draining it.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let (false, Some(at)) = (sent, line.find("ws://")) {
                    let _ = found.send(line[at..].trim().to_owned());
                    sent = true;
                }
            }
        });
        let url = address
            .recv_timeout(STEP)
            .expect("chromium printed its DevTools address");
        Browser {
            child,
            _profile: profile,
            url,
        }
    }

    /// Opens `page` in a new tab of `width` pixels, waits for its load event, evaluates
    /// `expression` in it and takes a screenshot of the whole page.
    pub fn load(&self, page: &Path, width: u32, expression: &str) -> Loaded {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(STEP * 4, self.load_async(page, width, expression))
                .await
                .expect("the page loaded and was inspected in time")
        })
    }

    async fn load_async(&self, page: &Path, width: u32, expression: &str) -> Loaded {
        let (socket, _) = tokio_tungstenite::connect_async(&self.url).await.unwrap();
        let mut session = Session {
            socket,
            next_id: 0,
            session_id: None,
            problems: Vec::new(),
        };
        let target = session
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = session
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        session.session_id = Some(attached["sessionId"].as_str().unwrap().to_owned());
        for domain in [
            "Page.enable",
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
        ] {
            session.call(domain, json!({})).await;
        }
        session
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await;
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        let navigated = session.call("Page.navigate", json!({"url": url})).await;
        assert!(
            navigated.get("errorText").is_none(),
            "navigation failed: {navigated}"
        );
        session.wait_for("Page.loadEventFired").await;
        let evaluated = session
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        if let Some(exception) = evaluated.get("exceptionDetails") {
            panic!("the test's expression failed: {exception}");
        }
        let height = session
            .call(
                "Runtime.evaluate",
                json!({"expression": "document.documentElement.scrollHeight", "returnByValue": true}),
            )
            .await["result"]["value"]
            .as_u64()
            .unwrap();
        session
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await;
        let shot = session
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let screenshot = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        Loaded {
            problems: session.problems,
            value: evaluated["result"]["value"].clone(),
            screenshot,
        }
    }
}

/// One DevTools connection, attached to one tab.
struct Session {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session_id: Option<String>,
    problems: Vec<String>,
}

impl Session {
    /// Sends a command and returns its result, noting the events that arrive meanwhile.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session_id {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        loop {
            let reply = self.next().await;
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    panic!("{method} failed: {error}");
                }
                return reply["result"].clone();
            }
        }
    }

    /// Waits for an event of the attached tab.
    async fn wait_for(&mut self, event: &str) {
        while self.next().await["method"] != event {}
    }

    /// The next message, after noting it if it reports a problem.
    async fn next(&mut self) -> Value {
        loop {
            let frame = self
                .socket
                .next()
                .await
                .expect("chromium closed the connection")
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let message: Value = serde_json::from_str(&text).unwrap();
            self.note(&message);
            return message;
        }
    }

    fn note(&mut self, message: &Value) {
        let params = &message["params"];
        match message["method"].as_str() {
            Some("Runtime.consoleAPICalled")
                if matches!(
                    params["type"].as_str(),
                    Some("error" | "warning" | "assert")
                ) =>
            {
                self.problems
                    .push(format!("console {}: {}", params["type"], params["args"]));
            }
            Some("Runtime.exceptionThrown") => {
                self.problems
                    .push(format!("exception: {}", params["exceptionDetails"]));
            }
            Some("Log.entryAdded")
                if params["entry"]["level"] != "verbose" && params["entry"]["level"] != "info" =>
            {
                self.problems.push(format!("log: {}", params["entry"]));
            }
            Some("Network.loadingFailed") => {
                self.problems.push(format!("failed load: {params}"));
            }
            _ => {}
        }
    }
}
