//! Team sync end to end: the real relay on 127.0.0.1, several device stores, the real CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use relay::{Relay, joined, joined_as};
use serde_json::Value;
use util::Device;

/// How long a live change may take to show up before a test gives up.
const LIVE_LIMIT: Duration = Duration::from_secs(20);

/// `fieldsync sync --watch` running on a device, with its stdout lines.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn start(device: &Device) -> Watcher {
        let mut child = device
            .process()
            .args(["sync", "--watch"])
            .env("FIELDSYNC_LOCK_WAIT_MS", "2000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let watcher = Watcher { child, lines };
        watcher.wait_for(|line| line.contains("connected to"));
        watcher
    }

    /// Waits for a stdout line matching `wanted`; panics after [`LIVE_LIMIT`].
    fn wait_for(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + LIVE_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => {}
                Err(err) => panic!("no matching line from the watcher: {err}"),
            }
        }
    }

    /// Waits for the process to exit by itself; returns its status and stderr.
    fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + LIVE_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                return (status, stderr);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the watcher did not exit"
            );
            // Waiting on a child process has no readiness signal to block on in std.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn team(relay: &Relay, name: &str) {
    relay.admin(&["team", "create", name]);
}

/// `lead list --json`, sorted by id.
fn listing(device: &Device) -> Vec<Value> {
    let mut leads = device.list(&[]);
    leads.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    leads
}

#[test]
fn offline_edits_on_three_devices_converge() {
    let relay = Relay::start(&[]);
    team(&relay, "华东");
    let lina = joined(&relay, "华东", "lina");
    let wang = joined(&relay, "华东", "wang");
    let zhang = joined_as(&relay, "华东", "zhang", "manager");
    // A lead in the pool: every rep sees it.
    let shared = lina.add(&[
        "--company",
        "杭州云栖科技",
        "--contact",
        "陈",
        "--phone",
        "13800000001",
    ]);
    lina.ok(&["lead", "edit", &shared, "--unassign"]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    zhang.ok(&["sync"]);
    // Offline: each works on the shared lead and adds leads of their own.
    lina.ok(&[
        "log",
        &shared,
        "--channel",
        "visit",
        "--summary",
        "lina visited",
    ]);
    wang.ok(&["move", &shared, "discovery"]);
    zhang.ok(&["lead", "edit", &shared, "--industry", "制造"]);
    for (device, company) in [
        (&lina, "宁波港务"),
        (&wang, "苏州丝绸"),
        (&zhang, "温州鞋业"),
    ] {
        device.add(&["--company", company, "--contact", "王"]);
    }
    for device in [&lina, &wang, &zhang, &lina, &wang] {
        device.ok(&["sync"]);
    }
    // The manager holds all four leads; each rep the pool lead and their own, as the
    // manager's device has them.
    let team = listing(&zhang);
    assert_eq!(team.len(), 4);
    for (rep, name) in [(&lina, "lina"), (&wang, "wang")] {
        let expected: Vec<Value> = team
            .iter()
            .filter(|lead| lead["owner"] == name || lead["owner"].is_null())
            .cloned()
            .collect();
        assert_eq!(expected.len(), 2);
        assert_eq!(listing(rep), expected, "{name}");
    }
    let merged = zhang.show(&shared);
    assert_eq!(merged["stage"], "discovery");
    assert_eq!(merged["industry"], "制造");
    assert_eq!(merged["followups"].as_array().unwrap().len(), 1);
}

#[test]
fn a_conflict_is_listed_on_every_device_and_resolved() {
    let relay = Relay::start(&[]);
    team(&relay, "east");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    let id = lina.add(&[
        "--company",
        "Acme",
        "--contact",
        "Li",
        "--phone",
        "13800000001",
    ]);
    lina.ok(&["lead", "edit", &id, "--unassign"]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    lina.ok(&["lead", "edit", &id, "--phone", "13800000002"]);
    wang.ok(&["lead", "edit", &id, "--phone", "13800000003"]);
    lina.ok(&[
        "log",
        &id,
        "--channel",
        "phone",
        "--summary",
        "call from lina",
    ]);
    wang.ok(&[
        "log",
        &id,
        "--channel",
        "phone",
        "--summary",
        "call from wang",
    ]);
    lina.ok(&["move", &id, "discovery"]);
    wang.ok(&["move", &id, "solution"]);
    lina.ok(&["sync"]);
    let summary = wang.ok(&["sync"]);
    assert!(summary.contains("1 lead with a conflict"), "{summary}");
    lina.ok(&["sync"]);
    let standing = lina.show(&id)["phone"].clone();
    assert_eq!(
        wang.show(&id)["phone"],
        standing,
        "the same value stands everywhere"
    );
    for device in [&lina, &wang] {
        let conflicts: Value = serde_json::from_str(&device.ok(&["conflicts", "--json"])).unwrap();
        let conflicts = conflicts.as_array().unwrap();
        let fields: Vec<&str> = conflicts
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["phone", "stage"]);
        let mut values: Vec<&str> = conflicts[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        values.sort();
        assert_eq!(values, ["13800000002", "13800000003"]);
        // Each value says which member set it.
        let set_by: Vec<(&str, &str)> = conflicts[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .zip(conflicts[0]["set_by"].as_array().unwrap())
            .map(|(value, by)| (value.as_str().unwrap(), by.as_str().unwrap()))
            .collect();
        assert!(set_by.contains(&("13800000002", "lina")), "{set_by:?}");
        assert!(set_by.contains(&("13800000003", "wang")), "{set_by:?}");
        let table = device.ok(&["conflicts"]);
        assert!(table.contains("13800000002 (set by lina)"), "{table}");
        let shown = device.ok(&["lead", "show", &id]);
        assert!(shown.contains("CONFLICT"), "{shown}");
        let lead = device.show(&id);
        assert_eq!(lead["followups"].as_array().unwrap().len(), 2);
        // Both concurrent moves stay in the log, after the creation.
        let moves: Vec<&str> = lead["stage_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|change| change["to"].as_str().unwrap())
            .collect();
        assert_eq!(moves.len(), 3);
        assert!(moves.contains(&"discovery") && moves.contains(&"solution"));
    }
    wang.ok(&["resolve", &id[..8], "phone", "13800000002"]);
    wang.ok(&["resolve", &id[..8], "stage", "solution"]);
    wang.ok(&["sync"]);
    lina.ok(&["sync"]);
    for device in [&lina, &wang] {
        assert_eq!(device.ok(&["conflicts"]).trim(), "no conflicts");
        assert_eq!(device.show(&id)["phone"], "13800000002");
        assert_eq!(device.show(&id)["stage"], "solution");
    }
    let refused = wang.fails(&["resolve", &id, "phone", "13800000004"]);
    assert!(refused.contains("not in conflict"), "{refused}");
}

#[test]
fn a_watching_device_receives_changes_live() {
    let relay = Relay::start(&[]);
    team(&relay, "east");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    let watcher = Watcher::start(&wang);
    let id = lina.add(&["--company", "实时推送", "--contact", "周"]);
    lina.ok(&["lead", "edit", &id, "--unassign"]);
    lina.ok(&["sync"]);
    watcher.wait_for(|line| line.contains("received 1"));
    assert_eq!(wang.show(&id)["company"], "实时推送");
    // And the watcher pushes what is done on its device while it runs.
    wang.ok(&[
        "log",
        &id,
        "--channel",
        "visit",
        "--summary",
        "pushed by the watcher",
    ]);
    watcher.wait_for(|line| line.contains("pushed 1"));
    lina.ok(&["sync"]);
    assert_eq!(lina.show(&id)["followups"].as_array().unwrap().len(), 1);
}

#[test]
fn a_removed_member_is_refused_and_their_live_connection_closed() {
    let relay = Relay::start(&[]);
    team(&relay, "east");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    let pooled = lina.add(&["--company", "Before", "--contact", "A"]);
    lina.ok(&["lead", "edit", &pooled, "--unassign"]);
    lina.ok(&["sync"]);
    let watcher = Watcher::start(&wang);
    watcher.wait_for(|line| line.contains("received") && !line.ends_with("received 0"));
    wang.add(&["--company", "Offline", "--contact", "C"]);
    relay.admin(&["member", "remove", "east", "wang"]);
    let (status, stderr) = watcher.wait_exit();
    assert_eq!(status.code(), Some(2));
    // The device wiped the team's leads and forgot the relay and its token, and says so.
    assert!(
        stderr.contains(
            "wang has been removed from team 'east': this device removed the team's 2 leads"
        ),
        "{stderr}"
    );
    assert!(wang.list(&[]).is_empty());
    let refused = wang.fails(&["sync"]);
    assert!(refused.contains("has not joined a team"), "{refused}");
    // The others keep syncing.
    lina.add(&["--company", "After", "--contact", "B"]);
    assert!(lina.ok(&["sync"]).contains("sent 1"));
}

#[test]
fn a_relay_killed_mid_sync_loses_no_acknowledged_change() {
    let mut relay = Relay::start(&[]);
    team(&relay, "east");
    // The demo's store belongs to the member "manager".
    let token = relay.member_as("east", "manager", "manager");
    let lina = Device::empty();
    lina.ok(&["demo", "--leads", "1500", "--seed", "7"]);
    lina.ok(&["join", &relay.url(), "--team", "east", "--token", &token]);
    let mut sync = lina
        .process()
        .arg("sync")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the relay once it has stored some documents.
    let deadline = std::time::Instant::now() + LIVE_LIMIT;
    loop {
        let stored = relay.metric("fieldsync_relay_documents_stored_total");
        if stored > 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the relay stored nothing"
        );
    }
    relay.kill();
    let _ = sync.wait();
    relay.restart();
    lina.ok(&["sync"]);
    let wang = joined_as(&relay, "east", "wang", "manager");
    wang.ok(&["sync"]);
    let expected = listing(&lina);
    assert_eq!(expected.len(), 1500);
    assert_eq!(listing(&wang), expected);
}

#[test]
fn a_device_whose_clock_is_a_year_ahead_is_told_so_when_it_syncs() {
    let relay = Relay::start(&[]);
    team(&relay, "east");
    let lina = joined(&relay, "east", "lina");
    lina.add(&["--company", "Clockwork Co", "--contact", "C"]);
    let synced = lina.run(&["sync"]).success().get_output().clone();
    let said = String::from_utf8_lossy(&synced.stderr);
    assert!(
        !said.contains("clock"),
        "a right clock is not remarked: {said}"
    );
    // The same device with its clock 400 days ahead (libfaketime, from Debian's package).
    let output = std::process::Command::new("faketime")
        .args(["-f", "+400d", env!("CARGO_BIN_EXE_fieldsync"), "sync"])
        .env("FIELDSYNC_HOME", lina.home.path())
        .env("TZ", util::TZ)
        .output()
        .expect("faketime (scripts/install-test-deps installs it)");
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("warning: this device's clock is 400 days ahead of the relay's"),
        "{said}"
    );
}
