//! A `fieldsync` process killed with SIGKILL in the middle of writing leaves the store as it
//! was before the write: readable, writable, and with no partial leads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::Device;

/// Waits (bounded) for `condition`, checking it as the child runs.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn killing_the_demo_mid_build_leaves_a_usable_store_without_partial_leads() {
    let device = Device::empty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldsync"))
        .args(["--home"])
        .arg(device.home.path())
        .args(["demo", "--leads", "3000", "--until", "2024-06-30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The store appears under its final name only once init has committed; the 3000-lead
    // batch follows in one transaction, which the kill interrupts.
    wait_for("the store to be initialised", || {
        device.store_path().exists()
    });
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the demo was killed, not finished");

    let status: serde_json::Value =
        serde_json::from_str(&device.ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["leads"], 0,
        "an uncommitted batch leaves no lead behind"
    );
    let id = device.add(&["--company", "After the crash", "--contact", "Li Na"]);
    device.ok(&[
        "log",
        &id,
        "--channel",
        "phone",
        "--summary",
        "the store still takes writes",
    ]);
    assert_eq!(device.list(&[]).len(), 1);
}
