//! Every command of README.md's quick start and of its pipeline section, run as written in a
//! shell on a fresh store (the `fieldsync` on the PATH is the one this build made). The relay
//! and sync commands of "Syncing a team" name a server and a token a reader makes; they are
//! run, with a real relay, by tests/relay.rs and tests/sync.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::Command;

use util::Device;

/// The indented lines of README.md from `from` up to the next `## ` heading: its commands.
fn commands(readme: &str, from: &str) -> Vec<String> {
    let section = readme.split_once(from).expect("the section").1;
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|line| line.starts_with("    "))
        .map(|line| line[4..].to_owned())
        .filter(|line| !line.starts_with("cargo install"))
        .collect()
}

#[test]
fn every_quick_start_and_pipeline_example_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let mut script = vec![
        "set -euxo pipefail".to_owned(),
        // `fieldsync app` serves until stopped: here it must start on the store the quick
        // start made and print its address (waited for, at most 30 s), and is then stopped.
        "serves() { \"$@\" --no-open --port 0 > app.out 2>&1 & local pid=$!; for _ in $(seq 300); do grep -q '^fieldsync app: open http://127.0.0.1:' app.out && break; sleep 0.1; done; cat app.out; grep -q '^fieldsync app: open' app.out; kill $pid; }".to_owned(),
    ];
    let quick_start = commands(&readme, "## Five-minute quick start");
    assert!(quick_start.iter().any(|line| line == "fieldsync app"));
    script.extend(quick_start.into_iter().map(|line| match line.as_str() {
        "fieldsync app" => "serves fieldsync app".to_owned(),
        _ => line,
    }));
    script.extend(commands(
        &readme,
        "A manager shapes the team's pipeline on their own device",
    ));
    assert!(script.len() > 30, "{script:?}");

    // The team's spreadsheets the README imports: one made by an export of another store, one
    // written by hand with a column to leave out.
    let work = tempfile::tempdir().unwrap();
    let other = Device::init("wangwei");
    other.add(&[
        "--company",
        "苏州丝绸",
        "--contact",
        "周强",
        "--amount",
        "20万",
    ]);
    other.ok(&[
        "export",
        "--format",
        "xlsx",
        "--out",
        work.path().join("customers.xlsx").to_str().unwrap(),
    ]);
    std::fs::write(
        work.path().join("customers.csv"),
        "客户名称,联系人,联系方式,微信,来源\n温州鞋业,陈静,13900139000,chenjing88,朋友介绍\n",
    )
    .unwrap();

    let home = util::private_folder();
    let binary = Path::new(env!("CARGO_BIN_EXE_fieldsync"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(work.path())
        .env("PATH", path)
        .env("FIELDSYNC_HOME", home.path())
        .env("TZ", util::TZ)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    let trace = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}\n{trace}");
    // What the examples did, checked in the store they made.
    for expected in [
        "won (23.5): ",
        "on hold until 2027-01-15",
        "lost (chose a competitor 竞品优势)",
        "corrected follow-up #1",
        "wrote 4 leads to leads.xlsx",
    ] {
        assert!(said.contains(expected), "{expected} in {said}");
    }
    assert!(work.path().join("march.html").exists());
    assert!(work.path().join("线索.csv").exists());
}
