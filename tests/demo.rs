//! `fieldsync demo`: the sample team, deterministic for a seed and an end date.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::Device;

#[test]
fn the_demo_builds_a_sample_team_and_summarises_it() {
    let device = Device::empty();
    let out = device.ok(&[
        "demo",
        "--leads",
        "90",
        "--seed",
        "7",
        "--until",
        "2024-06-30",
    ]);
    assert!(out.contains("sample team: 90 leads"), "{out}");
    assert!(out.contains("needs discovery 需求挖掘"), "{out}");
    assert!(
        out.contains(&device.store_path().display().to_string()),
        "says where the store is: {out}"
    );
    let leads = device.list(&["--deleted"]);
    assert_eq!(leads.len(), 90);
    let owners: std::collections::BTreeSet<String> = leads
        .iter()
        .filter_map(|l| l["created_by"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(owners.len(), 3, "three reps: {owners:?}");
    assert!(
        leads.iter().any(|l| l["outcome"] == "won") && leads.iter().any(|l| l["outcome"] == "lost")
    );
    assert!(
        leads
            .iter()
            .all(|l| l["created_at"].as_str().unwrap() < "2024-07"),
        "nothing after --until"
    );
}

#[test]
fn the_same_seed_gives_the_same_team() {
    let (one, two, three) = (Device::empty(), Device::empty(), Device::empty());
    for (device, seed) in [(&one, "5"), (&two, "5"), (&three, "6")] {
        device.ok(&[
            "demo",
            "--leads",
            "40",
            "--seed",
            seed,
            "--until",
            "2024-06-30",
        ]);
    }
    assert_eq!(one.list(&[]), two.list(&[]));
    assert_ne!(one.list(&[]), three.list(&[]));
}

#[test]
fn the_demo_never_overwrites_a_store() {
    let device = Device::init("lina");
    let before = device.store_bytes();
    let err = device.fails(&["demo", "--leads", "10"]);
    assert!(err.contains("already holds a store"), "{err}");
    assert_eq!(device.store_bytes(), before);
}
