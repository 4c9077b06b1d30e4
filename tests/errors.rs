//! Bad input: one clear line on stderr, exit 2, and the store file byte-for-byte as before.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use automerge::ScalarValue;
use fieldsync_model::{Field, LeadHistory, LeadId, NewLead, Stamp};
use fieldsync_store::{Store, StoreOptions};
use util::Device;

/// A device with one lead; returns the device and the lead id.
fn device_with_lead() -> (Device, String) {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "华为技术有限公司",
        "--contact",
        "张伟",
        "--at",
        "2024-03-01",
    ]);
    (device, id)
}

/// Runs a command that must be refused; checks the message and that nothing was written.
fn refused(device: &Device, args: &[&str], expected: &str) {
    let before = device.store_bytes();
    let err = device.fails(args);
    assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    assert!(
        device.store_bytes() == before,
        "the store changed after a refused `{}`",
        args.join(" ")
    );
}

#[test]
fn malformed_values_name_the_field() {
    let (device, id) = device_with_lead();
    #[rustfmt::skip]
    let cases: &[(&[&str], &str)] = &[
        (&["lead", "add", "--company", "X", "--contact", "Y", "--phone", "12ab"], "phone: '12ab' is not a phone number"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--email", "zhang@"], "email: 'zhang@' is not an email address"),
        (&["lead", "add", "--company", "X"], "contact: is required"),
        (&["lead", "add", "--company", " ", "--contact", "Y"], "company: is required"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--amount", "-5"], "amount: '-5' is negative"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--source", "other"], "source 'other' is not specific"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--priority", "urgent"], "unknown priority 'urgent'"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--at", "2024-02-30"], "at: '2024-02-30' is not a date"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--at", "2999-01-01"], "in the future"),
        (&["lead", "add", "--company", "X", "--contact", "Y", "--expected-close", "1850-01-01"], "expected-close: '1850-01-01' is outside 2000-2100"),
        (&["log", &id, "--channel", "fax", "--summary", "x"], "unknown channel 'fax'"),
        (&["log", &id, "--channel", "phone", "--summary", " "], "summary: is required"),
        (&["log", &id, "--channel", "phone", "--summary", "x", "--next", "call", "--due", "05/12"], "due: '05/12' is not a date"),
        (&["log", &id, "--channel", "phone", "--summary", "x", "--at", "2024-02-01"], "a follow-up cannot be dated 2024-01-31 16:00 UTC: the lead was created at 2024-02-29 16:00 UTC"),
        (&["move", &id, "proposal"], "unknown stage 'proposal'"),
        (&["move", &id, "acquisition"], "already in stage 'acquisition'"),
        (&["move", &id, "discovery", "--at", "2024-02-01"], "the lead entered 'acquisition'"),
        (&["won", &id, "--amount", "lots"], "amount: 'lots' is not an amount"),
        (&["lost", &id, "--reason", "weather"], "unknown loss reason 'weather'"),
        (&["lost", &id, "--reason", "other"], "needs a note"),
        (&["reopen", &id], "only won, lost or abandoned leads can be reopened"),
        (&["lead", "edit", &id, "--clear", "company"], "company is required and cannot be cleared"),
        (&["lead", "edit", &id, "--clear", "shoe-size"], "unknown field 'shoe-size'"),
        (&["lead", "edit", &id], "nothing to change"),
    ];
    for (args, expected) in cases {
        refused(&device, args, expected);
    }
}

#[test]
fn unknown_and_malformed_ids() {
    let (device, _id) = device_with_lead();
    refused(
        &device,
        &["lead", "show", "0000ffff"],
        "no lead with id or name '0000ffff'",
    );
    refused(
        &device,
        &["log", "abc", "--channel", "phone", "--summary", "x"],
        "too short",
    );
    refused(
        &device,
        &["move", "zzzz", "discovery"],
        "no lead with id or name 'zzzz'",
    );
}

#[test]
fn an_ambiguous_prefix_lists_the_candidates() {
    let device = Device::init("lina");
    let mut store = Store::open(&device.store_path(), StoreOptions::default()).unwrap();
    let now = "2024-03-01T00:00:00Z".parse().unwrap();
    for (last, company) in [(1u8, "A Tech Co."), (2, "B Group")] {
        let mut bytes = [last; 16];
        bytes[..2].copy_from_slice(&[0xab, 0xcd]);
        store
            .create_lead(LeadHistory {
                id: LeadId::from_bytes(bytes),
                new: NewLead {
                    fields: vec![
                        (Field::Company, ScalarValue::Str(company.into())),
                        (Field::Contact, ScalarValue::Str("x".into())),
                    ],
                    owner: None,
                    created_at: now,
                    number: None,
                },
                creator: Stamp {
                    by: "lina".into(),
                    now,
                },
                events: Vec::new(),
            })
            .unwrap();
    }
    drop(store);
    refused(
        &device,
        &["move", "abcd", "discovery"],
        "'abcd' is ambiguous: it matches abcd0101 (A Tech Co.), abcd0202 (B Group)",
    );
    device.ok(&["move", "abcd01", "discovery"]);
}

#[test]
fn a_missing_store_and_bad_arguments() {
    let device = Device::empty();
    let err = device.fails(&["lead", "list"]);
    assert!(
        err.contains("no store at") && err.contains("fieldsync init"),
        "{err}"
    );
    assert!(
        !device.store_path().exists(),
        "reading must not create a store"
    );
    let device = Device::init("lina");
    refused(&device, &["init", "--me", "lina"], "a store already exists");
    refused(
        &device,
        &["init", "--me", "x", "--pipeline", "crm"],
        "unknown pipeline template 'crm'",
    );
    refused(
        &device,
        &[
            "lead",
            "add",
            "--company",
            "X",
            "--contact",
            "Y",
            "--colour",
            "red",
        ],
        "unexpected argument '--colour'",
    );
    refused(
        &device,
        &["lead", "list", "--won", "--lost"],
        "cannot be used with",
    );
}

#[test]
fn a_store_another_process_holds_is_reported_locked() {
    let (device, id) = device_with_lead();
    // A reader elsewhere: reading works, writing waits, then reports the lock.
    let reader = Store::open(&device.store_path(), StoreOptions::default()).unwrap();
    assert!(device.ok(&["lead", "list"]).contains("华为技术有限公司"));
    refused(
        &device,
        &["log", &id, "--channel", "phone", "--summary", "blocked"],
        "is locked by another process",
    );
    drop(reader);
    // A writer elsewhere: even reading must wait, then report the lock.
    let mut writer = Store::open(&device.store_path(), StoreOptions::default()).unwrap();
    // Any write holds the file for writing from then on.
    let since = writer.since().unwrap();
    writer.set_since(since).unwrap();
    refused(&device, &["lead", "list"], "is locked by another process");
    drop(writer);
    device.ok(&[
        "log",
        &id,
        "--channel",
        "phone",
        "--summary",
        "after the lock",
    ]);
}

#[test]
fn a_file_that_is_not_a_store() {
    let device = Device::empty();
    std::fs::write(device.store_path(), "just text").unwrap();
    refused(
        &device,
        &["lead", "list"],
        "is not a usable fieldsync store",
    );
}

#[test]
fn malformed_store_settings_in_the_environment_are_named() {
    let device = Device::init("lina");
    let before = device.store_bytes();
    for (name, value, said) in [
        (
            "FIELDSYNC_LOCK_WAIT_MS",
            "soon",
            "FIELDSYNC_LOCK_WAIT_MS='soon' is not a number of milliseconds (0 or more)",
        ),
        (
            "FIELDSYNC_STAGE_LEADS",
            "0",
            "FIELDSYNC_STAGE_LEADS='0' is not a number of leads (1 or more)",
        ),
    ] {
        let output = device
            .cmd()
            .env(name, value)
            .args(["lead", "list"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(said), "{stderr}");
        assert_eq!(device.store_bytes(), before);
    }
}

#[test]
fn sync_conflict_and_funnel_commands_refuse_bad_input_and_write_nothing() {
    let (device, id) = device_with_lead();
    #[rustfmt::skip]
    let cases: &[(&[&str], &str)] = &[
        (&["join", "http://relay:7700/sync", "--team", "east", "--token", "t0k3n"], "url: 'http://relay:7700/sync': it must start with wss://"),
        (&["join", "wss:///sync", "--team", "east", "--token", "t0k3n"], "it has no host"),
        (&["join", "wss://relay/sync", "--team", "east", "--token", "t0k3n", "--ca-file", "/nonexistent/ca.pem"], "ca-file: cannot read /nonexistent/ca.pem"),
        (&["join", "ws:///sync", "--team", "east", "--token", "t0k3n"], "it has no host"),
        (&["join", "ws://relay:7700/sync", "--team", " ", "--token", "t0k3n"], "team: is required"),
        (&["join", "ws://relay:7700/sync", "--team", "east", "--token", "a b"], "token: must be the token"),
        (&["sync"], "this device has not joined a team"),
        (&["resolve", &id, "phone", "13800000000"], "is not in conflict"),
        (&["resolve", &id, "shoe-size", "42"], "is not in conflict"),
        (&["funnel", "--from", "2024-03-31", "--to", "2024-03-01"], "is before --from"),
        (&["funnel", "--from", "2024-02-30", "--to", "2024-03-01"], "from: '2024-02-30' is not a date"),
    ];
    for (args, expected) in cases {
        refused(&device, args, expected);
    }
}
