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
    // It writes the quarter's HTML report beside the store and says where.
    let report = device.home.path().join("report.html");
    assert!(
        out.contains(&format!("report: {}", report.display())),
        "says where the report is: {out}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("<svg") && html.contains("需求挖掘"), "{html}");
    // It ends by offering the app on a rep's device, which holds a store to serve.
    let lina = device.home.path().join("devices").join("lina");
    assert!(
        out.contains(&format!("app:   fieldsync --home {} app", lina.display())),
        "offers the app: {out}"
    );
    assert!(lina.join("store.redb").is_file());
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
fn every_won_lead_of_the_demo_reaches_the_win_stage() {
    let device = Device::empty();
    device.ok(&[
        "demo",
        "--leads",
        "120",
        "--seed",
        "11",
        "--until",
        "2024-06-30",
    ]);
    let all_time = [
        "funnel",
        "--from",
        "2023-01-01",
        "--to",
        "2024-06-30",
        "--json",
    ];
    let funnel: serde_json::Value = serde_json::from_str(&device.ok(&all_time)).unwrap();
    let won = funnel["outcomes"]["won"].as_u64().unwrap();
    assert!(won > 0, "the sample team wins deals");
    let stages = funnel["funnel"]["stages"].as_array().unwrap();
    let care = stages.iter().find(|s| s["stage"] == "care").unwrap();
    assert_eq!(care["reached"].as_u64(), Some(won), "{care}");
    // Under pass-through every won lead passed closing too, so closing -> care is no
    // bottleneck made of wins from earlier stages.
    let closing = stages.iter().find(|s| s["stage"] == "closing").unwrap();
    assert!(closing["reached"].as_u64().unwrap() >= won);
    let leads = device.list(&[]);
    for lead in leads.iter().filter(|l| l["outcome"] == "won") {
        assert_eq!(lead["stage"], "care", "{lead}");
    }
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
    // Everything but the value standing in the demo's deliberate conflict and the lead
    // numbers, which depend on the devices' random actor ids.
    let settled = |device: &Device| -> Vec<serde_json::Value> {
        device
            .list(&[])
            .into_iter()
            .filter(|lead| lead["conflicts"].as_array().unwrap().is_empty())
            .map(|mut lead| {
                lead.as_object_mut().unwrap().remove("number");
                lead
            })
            .collect()
    };
    assert_eq!(settled(&one).len(), 39);
    assert_eq!(settled(&one), settled(&two));
    assert_ne!(settled(&one), settled(&three));
}

#[test]
fn the_demo_syncs_three_rep_devices_through_an_embedded_relay() {
    let device = Device::empty();
    let out = device.ok(&[
        "demo",
        "--leads",
        "60",
        "--seed",
        "3",
        "--until",
        "2024-06-30",
    ]);
    assert!(out.contains("relay on ws://127.0.0.1:"), "{out}");
    assert!(
        out.contains("each rep's device holds the rep's own leads and the pool"),
        "{out}"
    );
    assert!(out.contains("conflict on phone"), "{out}");
    assert!(out.contains("conflict on owner"), "{out}");
    let manager = device.list(&[]);
    for rep in ["lina", "wangwei", "zhangmin"] {
        let home = device.home.path().join("devices").join(rep);
        let run = |args: &[&str]| util::process_at(&home).args(args).output().unwrap().stdout;
        let leads: serde_json::Value =
            serde_json::from_slice(&run(&["lead", "list", "--json"])).unwrap();
        let leads = leads.as_array().unwrap();
        // Exactly the rep's own leads and the pool, plus the pool lead two reps claimed at
        // once (its owner is in conflict between them), each as the manager's device has it.
        let claimed_by_two = |lead: &serde_json::Value| {
            lead["conflicts"].as_array().is_some_and(|c| !c.is_empty()) && rep != "zhangmin"
        };
        let ids = |leads: &[&serde_json::Value]| -> Vec<String> {
            leads.iter().map(|lead| lead["id"].to_string()).collect()
        };
        let expected: Vec<&serde_json::Value> = manager
            .iter()
            .filter(|lead| lead["owner"] == rep || lead["owner"].is_null() || claimed_by_two(lead))
            .collect();
        let held: Vec<&serde_json::Value> = leads.iter().collect();
        assert_eq!(ids(&held), ids(&expected), "{rep}");
        assert!(
            held == expected,
            "{rep}: a lead differs from the manager's copy"
        );
        assert!(
            leads.len() < manager.len(),
            "{rep} holds only part of the team"
        );
        let conflicts = String::from_utf8_lossy(&run(&["conflicts"])).into_owned();
        assert_eq!(
            conflicts.contains("phone"),
            rep != "zhangmin",
            "{rep}: {conflicts}"
        );
    }
}

#[test]
fn the_demo_never_overwrites_a_store() {
    let device = Device::init("lina");
    let before = device.store_bytes();
    let err = device.fails(&["demo", "--leads", "10"]);
    assert!(err.contains("already holds a store"), "{err}");
    assert_eq!(device.store_bytes(), before);
}
