//! Files that hold customers or a token are their owner's only: a device's store (0600) and
//! the folders fieldsync makes for it (0700), the relay's team files and members file (0600)
//! and its folders (0700); a store found readable by others is warned about on every command.
//! And a command writes its output only to a regular file, never over a device.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use relay::{Relay, joined};
use util::{Device, process_at};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_device_store_and_the_folders_made_for_it_are_its_owners_only() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("fresh").join("home");
    let init = process_at(&home)
        .args(["init", "--me", "lina"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert_eq!(mode(&home.join("store.redb")), 0o600);
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&root.path().join("fresh")), 0o700);

    // A store made by an earlier release, which followed the umask, is warned about.
    std::fs::set_permissions(
        home.join("store.redb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let listed = process_at(&home).args(["lead", "list"]).output().unwrap();
    assert!(listed.status.success());
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(
        said.contains("can be read by other users") && said.contains("chmod 600"),
        "{said}"
    );
}

#[test]
fn the_relays_team_and_members_files_are_its_users_only() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    lina.add(&[
        "--company",
        "深圳市腾飞科技有限公司",
        "--contact",
        "张伟",
        "--phone",
        "13800138000",
    ]);
    lina.ok(&["sync"]);
    let data = relay.data.path();
    assert_eq!(mode(&data.join("members.json")), 0o600);
    let teams: Vec<_> = std::fs::read_dir(data.join("teams"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!teams.is_empty());
    assert_eq!(mode(&data.join("teams")), 0o700);
    for team in teams {
        assert_eq!(mode(&team), 0o600, "{}", team.display());
    }
}

#[test]
fn output_goes_only_to_a_regular_file_never_over_a_device() {
    let device = Device::init("lina");
    device.add(&["--company", "杭州云栖科技", "--contact", "陈静"]);
    for command in [
        &["export", "--out", "/dev/null"][..],
        &["report", "--format", "html", "--out", "/dev/null"],
    ] {
        let said = device.fails(command);
        assert!(said.contains("/dev/null is not a regular file"), "{said}");
    }
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}
