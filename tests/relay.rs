//! Helpers for the end-to-end sync tests: the real `fieldsync-relay` binary on 127.0.0.1 with
//! an ephemeral port, a data folder per relay, and devices joined to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use crate::util::Device;

/// How long a relay has to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The relay binary, built once per test process (cargo builds only the package under test).
/// It is built with the workspace's features and no `--target`, so it reuses what `cargo test`
/// already compiled instead of compiling every dependency again.
pub fn relay_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../relay/Cargo.toml");
        let mut build = escargot::CargoBuild::new()
            .manifest_path(manifest)
            .arg("--workspace")
            .bin("fieldsync-relay");
        // Cargo sets these for this test; a build script that reads them (ring's) would see
        // other values than in a plain `cargo build` and rebuild, twice per test run.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let set_for_this_test = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || key == "CARGO_PRIMARY_PACKAGE"
                || key == "CARGO_TARGET_TMPDIR";
            if set_for_this_test {
                build = build.env_remove(key.as_ref());
            }
        }
        let built = build
            .current_release()
            .run()
            .expect("fieldsync-relay builds");
        built.path().to_owned()
    })
}

/// A running relay.
pub struct Relay {
    pub data: tempfile::TempDir,
    pub addr: String,
    child: Option<Child>,
    extra: Vec<String>,
    /// Where its log goes, if kept.
    log: Option<PathBuf>,
}

impl Relay {
    /// Starts a relay on a fresh data folder with `extra` serve flags.
    pub fn start(extra: &[&str]) -> Relay {
        let mut relay = Relay {
            data: tempfile::tempdir().unwrap(),
            addr: String::new(),
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            log: None,
        };
        relay.serve("127.0.0.1:0");
        relay
    }

    /// Starts a relay with `extra` serve flags whose log (stderr) is kept in `relay.log` of
    /// its data folder.
    pub fn start_logged(extra: &[&str]) -> Relay {
        let data = tempfile::tempdir().unwrap();
        let mut relay = Relay {
            log: Some(data.path().join("relay.log")),
            data,
            addr: String::new(),
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        relay.serve("127.0.0.1:0");
        relay
    }

    /// What the relay has logged so far (a relay started with [`Relay::start_logged`]).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.as_ref().expect("a logged relay")).unwrap_or_default()
    }

    fn serve(&mut self, listen: &str) {
        let mut child = Command::new(relay_binary())
            .arg("--data")
            .arg(self.data.path())
            .args(["serve", "--listen", listen])
            .args(&self.extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(match &self.log {
                Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
                None => Stdio::null(),
            })
            .spawn()
            .expect("relay starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(START_LIMIT)
            .expect("relay says where it listens");
        self.addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        self.child = Some(child);
    }

    /// The sync address.
    pub fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    /// The sync address of a relay serving TLS (`--tls-cert`).
    pub fn wss_url(&self) -> String {
        format!("wss://{}/sync", self.addr)
    }

    /// Runs an admin command on the relay's data folder; returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = Command::new(relay_binary())
            .arg("--data")
            .arg(self.data.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "fieldsync-relay {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Adds a rep and returns their token (the last line of the output).
    pub fn member(&self, team: &str, name: &str) -> String {
        self.member_as(team, name, "rep")
    }

    /// Adds a member with `role` (rep or manager) and returns their token.
    pub fn member_as(&self, team: &str, name: &str, role: &str) -> String {
        let out = self.admin(&["member", "add", team, name, "--role", role]);
        out.lines().last().unwrap().to_owned()
    }

    /// A plain HTTP/1.0 GET of `path`: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, body.to_owned())
    }

    /// One value from the relay's /metrics; 0 if absent.
    pub fn metric(&self, line_start: &str) -> f64 {
        self.get("/metrics")
            .1
            .lines()
            .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Waits, at most 10 s, until `metric` reads `value`.
    pub fn wait_for_metric(&self, metric: &str, value: f64) {
        self.wait_until(metric, |read| read == value, &format!("{value}"));
    }

    /// Waits, at most 10 s, until `metric` reads `least` or more.
    pub fn wait_for_metric_at_least(&self, metric: &str, least: f64) {
        self.wait_until(metric, |read| read >= least, &format!("{least} or more"));
    }

    fn wait_until(&self, metric: &str, reached: impl Fn(f64) -> bool, what: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !reached(self.metric(metric)) {
            assert!(
                std::time::Instant::now() < deadline,
                "{metric} never reached {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The relay process's resident memory, in bytes (from /proc).
    pub fn rss(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kib * 1024
    }

    /// Kills the relay with SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Stops the relay with SIGTERM and waits for it to exit; returns its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap()
    }

    /// Starts the relay again on the same data folder and port.
    pub fn restart(&mut self) {
        let addr = self.addr.clone();
        self.serve(&addr);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A device of rep `me` in `team` on `relay`.
pub fn joined(relay: &Relay, team: &str, me: &str) -> Device {
    joined_as(relay, team, me, "rep")
}

/// A device of `me`, with `role`, in `team` on `relay`.
pub fn joined_as(relay: &Relay, team: &str, me: &str, role: &str) -> Device {
    let token = relay.member_as(team, me, role);
    let device = Device::init(me);
    device.ok(&["join", &relay.url(), "--team", team, "--token", &token]);
    device
}
