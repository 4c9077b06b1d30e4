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
    // batch follows in one stage (a stage holds 20,000), which the kill interrupts.
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

/// A sheet of `rows` customers in the device's home.
fn sheet(device: &Device, rows: usize) -> std::path::PathBuf {
    let mut sheet = String::from("客户名称,联系人,联系方式\n");
    for n in 0..rows {
        sheet.push_str(&format!("公司{n},联系人{n},138{n:08}\n"));
    }
    let file = device.home.path().join("customers.csv");
    std::fs::write(&file, sheet).unwrap();
    file
}

/// Starts `fieldsync import FILE` on `device`, writing stages of 40 leads.
fn importing(device: &Device, file: &std::path::Path) -> std::process::Child {
    device
        .process()
        .env("FIELDSYNC_STAGE_LEADS", "40")
        .args(["import", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The size of the largest file under `folder`.
fn largest_file(folder: &std::path::Path) -> u64 {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.path().is_dir() {
                    true => largest_file(&entry.path()),
                    false => entry.metadata().map_or(0, |meta| meta.len()),
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

#[test]
fn an_import_killed_after_committing_stages_is_undone_when_the_store_next_opens() {
    // Under a thousand leads an import writes in the store itself, stage by stage.
    let device = Device::init("manager");
    let before = device.add(&["--company", "Before the import", "--contact", "Wang Fang"]);
    let file = sheet(&device, 999);
    let size = || std::fs::metadata(device.store_path()).unwrap().len();
    let mut child = importing(&device, &file);
    // The check pass writes nothing to the store. A fresh store is some 70 KB, and redb
    // doubles the file whenever its pages run out: past 1 MB, over 512 KB of pages has been
    // used, some 150 leads of about 3 KB, so several 40-lead stages have been committed
    // (and 999 leads are far from written).
    wait_for("the import to grow the store past 1 MB", || {
        size() > 1 << 20
    });
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was killed, not finished");

    let opened = device
        .cmd()
        .args(["lead", "list", "--json"])
        .assert()
        .success();
    let stderr = String::from_utf8(opened.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("did not finish; it was undone, and the store is as it was before it"),
        "the next command says what it undid: {stderr}"
    );
    let leads = device.list(&[]);
    assert_eq!(leads.len(), 1, "only the lead from before the import");
    assert_eq!(leads[0]["id"], before.as_str());
    device.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        device.list(&[]).len(),
        1000,
        "the same file imports whole afterwards"
    );
}

#[test]
fn a_long_import_killed_while_writing_its_copy_leaves_the_store_untouched() {
    // From a thousand leads an import writes into a copy in its scratch folder.
    let device = Device::init("manager");
    device.add(&["--company", "Before the import", "--contact", "Wang Fang"]);
    let file = sheet(&device, 4000);
    let before = device.store_bytes();
    let mut child = importing(&device, &file);
    wait_for("the import's copy to grow past 2 MB", || {
        largest_file(device.home.path()) > 2 << 20 && device.store_bytes() == before
    });
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success(), "the import was killed");
    assert_eq!(
        device.store_bytes(),
        before,
        "the store is byte for byte as before"
    );
    assert_eq!(device.list(&[]).len(), 1);
    device.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        device.list(&[]).len(),
        4001,
        "the same file imports whole afterwards"
    );
}
