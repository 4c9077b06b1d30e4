//! An operator's tools on a real relay: a backup taken while devices push, restored after
//! more changes were acknowledged (the devices notice the restored feed, push back what the
//! backup lacks, and everyone converges), a folder put back from an older copy, and team files
//! compacted while the relay serves and while it is stopped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use std::collections::BTreeSet;

use relay::{Relay, joined, joined_as};
use util::Device;

fn ids(device: &Device) -> BTreeSet<String> {
    device
        .list(&[])
        .iter()
        .map(|lead| lead["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_backup_taken_under_load_restores_and_devices_converge() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    let boss = joined_as(&relay, "east", "boss", "manager");
    let mut leads = BTreeSet::new();
    for n in 0..5 {
        leads.insert(lina.add(&["--company", &format!("Before {n}"), "--contact", "L"]));
    }
    lina.ok(&["sync"]);
    boss.ok(&["sync"]);

    // The backup is taken while lina adds and syncs leads.
    let backup = relay.data.path().parent().unwrap().join(format!(
        "backup-{}.zip",
        relay.addr.replace([':', '.'], "-")
    ));
    let during = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            (0..8)
                .map(|n| {
                    let id = lina.add(&["--company", &format!("During {n}"), "--contact", "L"]);
                    lina.ok(&["sync"]);
                    id
                })
                .collect::<Vec<_>>()
        });
        let said = relay.admin(&["backup", "--out", backup.to_str().unwrap()]);
        assert!(said.starts_with("backed up 1 teams"), "{said}");
        load.join().unwrap()
    });
    leads.extend(during);

    // After the backup, more changes are acknowledged by the relay.
    for n in 0..3 {
        leads.insert(lina.add(&["--company", &format!("After {n}"), "--contact", "L"]));
    }
    let first = leads.iter().next().unwrap().clone();
    lina.ok(&[
        "log",
        &first,
        "--channel",
        "phone",
        "--summary",
        "called after the backup",
    ]);
    lina.ok(&["sync"]);
    boss.ok(&["sync"]);
    assert_eq!(ids(&boss), leads);

    // The relay loses its data and is restored from the older backup.
    let status = relay.terminate();
    assert!(status.success());
    let said = relay.admin(&["restore", "--from", backup.to_str().unwrap()]);
    assert!(said.contains("restored 1 teams"), "{said}");
    relay.restart();

    // Each device notices the restored feed and pushes back what the backup lacked.
    lina.ok(&["sync"]);
    boss.ok(&["sync"]);
    lina.ok(&["sync"]);
    assert_eq!(ids(&lina), leads);
    assert_eq!(ids(&boss), leads);
    let shown = boss.show(&first);
    assert!(
        shown.to_string().contains("called after the backup"),
        "{shown}"
    );
    // The relay holds everything again: a manager's new device receives every lead.
    let fresh = joined_as(&relay, "east", "boss2", "manager");
    fresh.ok(&["sync"]);
    assert_eq!(ids(&fresh), leads);
    std::fs::remove_file(&backup).unwrap();
}

/// Copies the folder `from` into `to`, files and subfolders.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_relay_whose_files_are_put_back_from_an_older_copy_gets_everything_back() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    let mut leads = BTreeSet::from([lina.add(&["--company", "Before", "--contact", "L"])]);
    lina.ok(&["sync"]);
    // The operator copies the stopped relay's folder (a disk snapshot), not a backup.
    assert!(relay.terminate().success());
    let copy = tempfile::tempdir().unwrap();
    copy_folder(relay.data.path(), copy.path());
    relay.restart();
    for n in 0..3 {
        leads.insert(lina.add(&["--company", &format!("After {n}"), "--contact", "L"]));
        lina.ok(&["sync"]);
    }
    // The folder is put back as it was: the relay's feed is behind the device's position.
    assert!(relay.terminate().success());
    std::fs::remove_dir_all(relay.data.path().join("teams")).unwrap();
    copy_folder(copy.path(), relay.data.path());
    relay.restart();
    lina.ok(&["sync"]);
    let boss = joined_as(&relay, "east", "boss", "manager");
    boss.ok(&["sync"]);
    assert_eq!(ids(&boss), leads);
}

/// Sizes in KB from "compacted the team files: B KB before, A KB after".
fn compacted(said: &str) -> (u64, u64) {
    let numbers: Vec<u64> = said
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn team_files_compact_while_the_relay_serves_and_while_it_is_stopped() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    let mut leads = BTreeSet::new();
    for round in 0..4 {
        for n in 0..10 {
            let id = lina.add(&["--company", &format!("Co {round}-{n}"), "--contact", "L"]);
            leads.insert(id);
        }
        for id in &leads {
            lina.ok(&["lead", "edit", id, "--note", &format!("round {round}")]);
        }
        lina.ok(&["sync"]);
    }
    let (before, after) = compacted(&relay.admin(&["compact"]));
    assert!(after <= before, "{before} KB -> {after} KB");
    assert!(relay.terminate().success());
    let (_, stopped_after) = compacted(&relay.admin(&["compact"]));
    assert!(stopped_after <= after);
    relay.restart();
    let boss = joined_as(&relay, "east", "boss", "manager");
    boss.ok(&["sync"]);
    assert_eq!(ids(&boss), leads);
}
