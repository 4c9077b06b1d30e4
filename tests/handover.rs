//! `fieldsync handover` on a real store: a rep's open leads move in one step, each as an owner
//! change in its history; abandoned leads go to the pool; won leads keep their rep; a dry run
//! and bad input write nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use util::Device;

/// lina owns two open leads in discovery, one in acquisition, a won one and an abandoned one
/// (abandoned, then given back to her); wangwei owns one open lead.
fn team() -> (Device, Vec<String>) {
    let device = Device::init("manager");
    let add = |company: &str, owner: &str| {
        device.add(&["--company", company, "--contact", "王", "--owner", owner])
    };
    let ids: Vec<String> = [
        ("杭州云栖科技", "lina"),
        ("宁波港务", "lina"),
        ("温州鞋业", "lina"),
        ("苏州丝绸", "lina"),
        ("无锡电子", "lina"),
        ("上海航运", "wangwei"),
    ]
    .iter()
    .map(|(company, owner)| add(company, owner))
    .collect();
    device.ok(&["move", &ids[0], "discovery"]);
    device.ok(&["move", &ids[1], "discovery"]);
    device.ok(&["won", &ids[3], "--amount", "10"]);
    device.ok(&["abandon", &ids[4], "--reason", "no-budget"]);
    device.ok(&["lead", "edit", &ids[4], "--owner", "lina"]);
    (device, ids)
}

fn owner(device: &Device, id: &str) -> String {
    device.show(id)["owner"]
        .as_str()
        .unwrap_or("(pool)")
        .to_owned()
}

#[test]
fn a_reps_open_leads_move_in_one_step_and_history_says_so() {
    let (device, ids) = team();
    let said = device.ok(&["handover", "--from", "lina", "--to", "zhangmin"]);
    assert_eq!(
        said.trim(),
        "handed over 3 leads from lina to zhangmin; 1 abandoned went to the pool"
    );
    let owners: Vec<String> = ids.iter().map(|id| owner(&device, id)).collect();
    assert_eq!(
        owners,
        [
            "zhangmin", "zhangmin", "zhangmin", "lina", "(pool)", "wangwei"
        ]
    );
    let history = device.ok(&["history", &ids[0]]);
    assert!(
        history.contains("manager") && history.contains("owner: lina -> zhangmin"),
        "{history}"
    );
    let lead = device.show(&ids[0]);
    let changes = lead["owner_changes"].as_array().unwrap();
    let last = changes.last().unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("lina"), Some("zhangmin"))
    );
    assert_eq!(last["by"], "manager");
}

#[test]
fn a_stage_limits_the_handover_and_a_dry_run_writes_nothing() {
    let (device, ids) = team();
    let before = device.store_bytes();
    let listed = device.ok(&[
        "handover",
        "--from",
        "lina",
        "--to",
        "zhangmin",
        "--dry-run",
    ]);
    assert!(
        listed.contains("杭州云栖科技") && listed.contains("无锡电子"),
        "{listed}"
    );
    assert!(listed.contains("nothing written"), "{listed}");
    assert!(!listed.contains("苏州丝绸"), "won leads stay: {listed}");
    assert_eq!(device.store_bytes(), before, "a dry run writes nothing");

    device.ok(&[
        "handover",
        "--from",
        "lina",
        "--to",
        "zhangmin",
        "--stage",
        "需求挖掘",
    ]);
    let owners: Vec<String> = ids[..3].iter().map(|id| owner(&device, id)).collect();
    assert_eq!(owners, ["zhangmin", "zhangmin", "lina"]);
}

#[test]
fn bad_handovers_are_refused_with_one_line_and_nothing_written() {
    let (device, _) = team();
    let before = device.store_bytes();
    for (args, expected) in [
        (vec!["--from", "lina", "--to", "lina"], "also --from"),
        (vec!["--from", "lina", "--to", " "], "to"),
        (
            vec!["--from", "lina", "--to", "zhangmin", "--stage", "nope"],
            "unknown stage",
        ),
    ] {
        let mut full = vec!["handover"];
        full.extend(args);
        let err = device.fails(&full);
        assert!(err.contains(expected), "{err}");
    }
    assert_eq!(device.store_bytes(), before);
    let nothing = device.ok(&["handover", "--from", "nobody", "--to", "lina"]);
    assert!(nothing.contains("no open or abandoned leads"), "{nothing}");
}
