//! Helpers for the end-to-end tests: a device is a temporary home folder with a real store,
//! driven through the real `fieldsync` binary.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

/// The zone every test runs in, so local-time output is known.
pub const TZ: &str = "Asia/Shanghai";

/// A `fieldsync` process with `home` as its home folder.
pub fn process_at(home: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fieldsync"));
    cmd.env("FIELDSYNC_HOME", home)
        .env("TZ", TZ)
        .env("FIELDSYNC_LOCK_WAIT_MS", "200");
    cmd
}

/// A temporary folder readable by its owner only, as fieldsync makes a home (a wider one
/// is warned about on every command).
pub fn private_folder() -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    #[cfg(unix)]
    std::fs::set_permissions(
        folder.path(),
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )
    .expect("a private folder");
    folder
}

/// One device: a home folder holding a store.
pub struct Device {
    pub home: tempfile::TempDir,
}

impl Device {
    /// A device with no store yet.
    pub fn empty() -> Device {
        Device {
            home: private_folder(),
        }
    }

    /// A device with a store for `me` on the b2b pipeline.
    pub fn init(me: &str) -> Device {
        let device = Device::empty();
        device.run(&["init", "--me", me]).success();
        device
    }

    /// The store file.
    pub fn store_path(&self) -> PathBuf {
        self.home.path().join("store.redb")
    }

    /// The store file's bytes, to check that a refused command wrote nothing.
    pub fn store_bytes(&self) -> Vec<u8> {
        std::fs::read(self.store_path()).expect("store file")
    }

    /// A `fieldsync` process on this device, to spawn and watch.
    pub fn process(&self) -> std::process::Command {
        process_at(self.home.path())
    }

    /// A `fieldsync` command on this device, to run and assert on.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.process())
    }

    /// Runs `fieldsync ARGS` and returns the assertion handle.
    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().args(args).assert()
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).success().get_output().stdout.clone();
        String::from_utf8(output).expect("utf-8 output")
    }

    /// Runs a command that must fail with exit 2 and one line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args).code(2).get_output().clone();
        let stderr = String::from_utf8(output.stderr).expect("utf-8 stderr");
        assert_eq!(stderr.lines().count(), 1, "one error line, got: {stderr}");
        assert!(stderr.starts_with("fieldsync: "), "{stderr}");
        assert!(output.stdout.is_empty(), "nothing on stdout when failing");
        stderr.trim_end().to_owned()
    }

    /// Adds a lead and returns its id.
    pub fn add(&self, args: &[&str]) -> String {
        let mut full = vec!["lead", "add"];
        full.extend_from_slice(args);
        let id = self.ok(&full);
        let id = id.trim_end().to_owned();
        assert_eq!(id.len(), 32, "lead add prints the id alone: {id:?}");
        id
    }

    /// `lead show ID --json`.
    pub fn show(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["lead", "show", id, "--json"]))
            .expect("show --json is JSON")
    }

    /// `lead list --json` with extra filters.
    pub fn list(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = vec!["lead", "list", "--json"];
        args.extend_from_slice(filters);
        let value: Value = serde_json::from_str(&self.ok(&args)).expect("list --json is JSON");
        value.as_array().expect("an array").clone()
    }
}

/// Display columns before `word` in `line` (CJK characters take two).
pub fn column_of(line: &str, word: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    let at = line
        .find(word)
        .unwrap_or_else(|| panic!("{word} in {line:?}"));
    line[..at].width()
}

/// Three leads in March 2024 (Shanghai time) from referrals: A reaches negotiation in order and
/// is won, B skips discovery and is lost for price, C stays in acquisition. A and B name
/// competitors (A: 用友 and SAP; B: 用友).
pub fn march_team() -> Device {
    let device = Device::init("lina");
    let add = |company: &str, at: &str, competitors: &str| {
        device.add(&[
            "--company",
            company,
            "--contact",
            "王",
            "--at",
            at,
            "--source",
            "referral",
            "--competitors",
            competitors,
        ])
    };
    let a = add("杭州云栖科技", "2024-03-02 10:00", "用友, SAP");
    let b = add("宁波港务", "2024-03-03 10:00", "用友");
    add("温州鞋业", "2024-03-04 10:00", "");
    for (stage, at) in [
        ("discovery", "2024-03-05"),
        ("solution", "2024-03-10"),
        ("negotiation", "2024-03-20"),
    ] {
        device.ok(&["move", &a, stage, "--at", at]);
    }
    device.ok(&["won", &a, "--amount", "100", "--at", "2024-03-25"]);
    device.ok(&["move", &b, "solution", "--at", "2024-03-06"]);
    device.ok(&["lost", &b, "--reason", "price", "--at", "2024-03-28"]);
    device
}
