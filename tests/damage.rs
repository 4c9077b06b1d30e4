//! A relay whose files are damaged or go missing: no panic, no team started again empty,
//! devices told to sync later, /readyz naming the team and the way back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use rand::{Rng, SeedableRng};
use relay::{Relay, joined, joined_as};
use util::Device;

/// What a device hears from a relay that cannot serve its team now.
const LATER: &str = "sync again later";

/// Overwrites `len` bytes of `path` at `offset` with zeros, or with random bytes from `seed`.
fn damage(path: &Path, offset: u64, len: usize, seed: Option<u64>) {
    let mut bytes = vec![0u8; len];
    if let Some(seed) = seed {
        rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill(&mut bytes[..]);
    }
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(&bytes).unwrap();
    file.sync_all().unwrap();
}

/// Where in a team file the damage goes.
enum Where {
    /// From its first byte: redb's header.
    Header,
    /// From the start of the 4 KiB page where one of the leads' companies first is.
    Leads,
    /// The page where a synced lead of a rep's device first is.
    Synced,
    /// The very bytes of that lead's company name.
    SyncedName,
    /// The last pages of the file.
    End,
}

impl Where {
    fn offset(&self, path: &Path) -> u64 {
        match self {
            Where::Header => 0,
            Where::Leads => offset_of(path, "Damaged Ledger 20") & !4095,
            Where::Synced => offset_of(path, "Synced Account 10") & !4095,
            Where::SyncedName => offset_of(path, "Synced Account 10"),
            Where::End => std::fs::metadata(path)
                .unwrap()
                .len()
                .saturating_sub(16 << 10),
        }
    }
}

/// Where `needle` first is in the file at `path`.
fn offset_of(path: &Path, needle: &str) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    bytes
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle} is not in {}", path.display())) as u64
}

/// A relay with teams east (a manager's 40 leads) and west (one rep), both synced; east's
/// file is `teams/1.redb`.
fn two_teams() -> (Relay, Device, Device) {
    let relay = Relay::start_logged(&[]);
    relay.admin(&["team", "create", "east"]);
    relay.admin(&["team", "create", "west"]);
    let boss = joined_as(&relay, "east", "boss", "manager");
    for n in 0..40 {
        boss.add(&[
            "--company",
            &format!("Damaged Ledger {n:02} Co"),
            "--contact",
            "D",
        ]);
    }
    boss.ok(&["sync"]);
    let west = joined(&relay, "west", "lina");
    west.add(&["--company", "Westward", "--contact", "W"]);
    west.ok(&["sync"]);
    (relay, boss, west)
}

/// After its file was damaged: east's devices are told to sync later, /readyz says why and
/// how to restore, west syncs on, and nothing panicked.
fn refused_cleanly(relay: &Relay, boss: &Device, west: &Device) {
    let said = boss.fails(&["sync"]);
    refused_after(relay, west, &said);
}

/// What [`refused_cleanly`] checks once east's device has been refused with `said`.
fn refused_after(relay: &Relay, west: &Device, said: &str) {
    assert!(said.contains(LATER), "{said}");
    let (status, ready) = relay.get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert!(
        ready.contains("team 'east' (teams/1.redb)") && ready.contains("restore --from"),
        "{ready}"
    );
    west.add(&["--company", "Still West", "--contact", "W"]);
    assert!(west.ok(&["sync"]).contains("sent 1"));
    let log = relay.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_damaged_team_file_is_refused_cleanly_or_made_whole_again_by_its_devices() {
    let cases = [
        ("the header zeroed", Where::Header, 4096, None),
        (
            "64 KiB zeroed where the leads are",
            Where::Leads,
            64 << 10,
            None,
        ),
        (
            "4 KiB of noise where the leads are",
            Where::Leads,
            4096,
            Some(7),
        ),
        (
            "16 KiB of noise from the header on",
            Where::Header,
            16 << 10,
            Some(8),
        ),
    ];
    let mut refused = 0;
    for (what, at, len, seed) in cases {
        let (mut relay, boss, west) = two_teams();
        relay.kill();
        let file = relay.data.path().join("teams/1.redb");
        damage(&file, at.offset(&file), len, seed);
        relay.restart();
        eprintln!("{what}");
        let synced = boss.run(&["sync"]).get_output().clone();
        if synced.status.success() {
            // redb repaired the file by going back to an earlier commit (or the damage hit
            // only free pages): the feed is behind the device, which pushed what it lacked,
            // and the team is whole again.
            assert!(relay.log().contains("was repaired"), "{what}");
            let fresh = joined_as(&relay, "east", "audit", "manager");
            fresh.ok(&["sync"]);
            assert_eq!(fresh.list(&[]).len(), 40, "{what}");
            assert_eq!(relay.get("/readyz").0, 200, "{what}");
        } else {
            refused += 1;
            refused_after(&relay, &west, &String::from_utf8_lossy(&synced.stderr));
            // The damaged file is kept for the operator; nothing wrote over it.
            assert!(file.exists(), "{what}");
        }
        assert!(!relay.log().contains("panicked"), "{what}");
    }
    assert!(refused >= 2, "the damaged headers at least are refused");
}

#[test]
fn a_team_file_deleted_while_the_relay_serves_is_not_made_again_empty() {
    let mut relay = Relay::start_logged(&["--team-idle", "1s"]);
    relay.admin(&["team", "create", "east"]);
    relay.admin(&["team", "create", "west"]);
    let boss = joined_as(&relay, "east", "boss", "manager");
    boss.add(&["--company", "Kept Co", "--contact", "K"]);
    boss.ok(&["sync"]);
    let west = joined(&relay, "west", "lina");
    west.ok(&["sync"]);
    // Once no one is connected the team's file closes; then it is deleted.
    relay.wait_for_metric("fieldsync_relay_team_workers", 0.0);
    let file = relay.data.path().join("teams/1.redb");
    std::fs::remove_file(&file).unwrap();
    refused_cleanly(&relay, &boss, &west);
    assert!(relay.log().contains("the file is missing"));
    // Nor after a restart.
    relay.kill();
    relay.restart();
    assert!(boss.fails(&["sync"]).contains(LATER));
    assert!(!file.exists(), "the team was made again empty");
}

#[test]
fn a_members_file_deleted_while_the_relay_serves_tells_devices_to_wait_not_that_they_are_refused() {
    let mut relay = Relay::start_logged(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    lina.ok(&["sync"]);
    let members = relay.data.path().join("members.json");
    let kept = std::fs::read(&members).unwrap();
    std::fs::remove_file(&members).unwrap();
    let said = lina.fails(&["sync"]);
    assert!(said.contains(LATER), "{said}");
    assert!(!said.contains("token"), "{said}");
    let (status, ready) = relay.get("/readyz");
    assert_eq!(status, 503);
    assert!(ready.contains("members.json is missing"), "{ready}");
    assert!(relay.log().contains("cannot read the members file"));
    // A relay started on the folder refuses to serve without it.
    relay.kill();
    let started = std::process::Command::new(relay::relay_binary())
        .arg("--data")
        .arg(relay.data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(started.status.code(), Some(2));
    let said = String::from_utf8_lossy(&started.stderr);
    assert!(said.contains("members.json is missing while"), "{said}");
    // Put back, everything works again.
    std::fs::write(&members, kept).unwrap();
    relay.restart();
    assert!(lina.ok(&["sync"]).contains("synced"));
}

/// A rep's device holding 30 synced leads and one logged offline, not yet pushed; with the
/// relay and a manager's device to see what reached it.
fn a_rep_with_a_pending_visit() -> (Relay, Device, Device) {
    let relay = Relay::start_logged(&[]);
    relay.admin(&["team", "create", "east"]);
    let boss = joined_as(&relay, "east", "boss", "manager");
    boss.ok(&["sync"]);
    let lina = joined(&relay, "east", "lina");
    for n in 0..30 {
        lina.add(&[
            "--company",
            &format!("Synced Account {n:02} Co"),
            "--contact",
            "S",
        ]);
    }
    lina.ok(&["sync"]);
    let pending = lina.add(&["--company", "Pending Visit Co", "--contact", "P"]);
    lina.ok(&[
        "log",
        &pending,
        "--channel",
        "visit",
        "--summary",
        "signed the pilot order",
    ]);
    (relay, lina, boss)
}

#[test]
fn a_damaged_device_store_gives_clear_errors_and_repair_brings_it_back_with_its_pending_changes() {
    let cases = [
        ("a synced lead's name zeroed", Where::SyncedName, 17, None),
        (
            "4 KiB of noise where the leads are",
            Where::Synced,
            4096,
            Some(3),
        ),
        (
            "16 KiB zeroed where the leads are",
            Where::Synced,
            16 << 10,
            None,
        ),
        ("16 KiB zeroed at the end", Where::End, 16 << 10, None),
    ];
    let mut kept_pending = 0;
    for (what, at, len, seed) in cases {
        eprintln!("{what}");
        let (_relay, lina, boss) = a_rep_with_a_pending_visit();
        let store = lina.store_path();
        damage(&store, at.offset(&store), len, seed);
        // Every command either works or says what is wrong in one line: never a crash.
        for command in [&["status"][..], &["lead", "list"], &["compact"], &["today"]] {
            let output = lina.run(command).get_output().clone();
            let code = output.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "{what}: {command:?} exited {code:?}"
            );
            if code == Some(2) {
                let said = String::from_utf8_lossy(&output.stderr);
                assert_eq!(said.lines().count(), 1, "{what}: {said}");
            }
        }
        let repair = lina.run(&["repair"]).get_output().clone();
        if !repair.status.success() {
            // Damage that took redb's index and both its commits leaves nothing to read: the
            // repair says so and how to come back, in one line, and changes nothing.
            let refused = String::from_utf8_lossy(&repair.stderr);
            assert_eq!(repair.status.code(), Some(2), "{what}: {refused}");
            assert!(refused.contains("fieldsync join"), "{what}: {refused}");
            continue;
        }
        let said = String::from_utf8_lossy(&repair.stdout).into_owned();
        assert!(said.contains("repaired the store"), "{what}: {said}");
        assert!(said.contains("synced with"), "{what}: {said}");
        let companies: Vec<String> = lina
            .list(&[])
            .iter()
            .map(|lead| lead["company"].as_str().unwrap().to_owned())
            .collect();
        // Every synced lead came back.
        for n in 0..30 {
            let company = format!("Synced Account {n:02} Co");
            assert!(companies.contains(&company), "{what}: {company}");
        }
        assert!(lina.ok(&["status"]).contains("leads"), "{what}");
        if said.contains("as of an earlier save") || said.contains("lost: the changes") {
            // The damage reached redb's index, or the pending visit's own pages: it may be
            // gone, and the repair said so.
            continue;
        }
        kept_pending += 1;
        assert!(companies.iter().any(|c| c == "Pending Visit Co"), "{what}");
        // What was never pushed reached the team.
        boss.ok(&["sync"]);
        let seen = boss.list(&["--search", "Pending Visit"]);
        assert_eq!(seen.len(), 1, "{what}");
        let shown = boss.ok(&["lead", "show", seen[0]["id"].as_str().unwrap()]);
        assert!(shown.contains("signed the pilot order"), "{what}: {shown}");
    }
    assert!(
        kept_pending >= 1,
        "at least one repair read the store as it was"
    );
}

#[test]
fn a_store_whose_header_is_gone_is_refused_by_repair_with_the_way_back() {
    let (_relay, lina, _boss) = a_rep_with_a_pending_visit();
    let store = lina.store_path();
    let before = std::fs::read(&store).unwrap();
    damage(&store, 0, 4096, None);
    let said = lina.fails(&["repair"]);
    assert!(said.contains("nothing of the store"), "{said}");
    assert!(said.contains("fieldsync join"), "{said}");
    let mut expected = before;
    expected[..4096].fill(0);
    assert!(
        std::fs::read(&store).unwrap() == expected,
        "repair changed nothing"
    );
}
