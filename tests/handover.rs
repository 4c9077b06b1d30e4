//! `fieldsync handover` on a real store: a rep's open leads move in one step, each as an owner
//! change in its history; abandoned leads go to the pool; won leads keep their rep; a dry run
//! and bad input write nothing. And the whole flow through the real relay: a rep handed over
//! while offline and removed from the team is refused, and the handover stands everywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use relay::{Relay, joined, joined_as};
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

#[test]
fn a_rep_handed_over_while_offline_and_removed_is_refused_and_the_handover_stands() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "华东"]);
    let manager = joined_as(&relay, "华东", "manager", "manager");
    let lina = joined(&relay, "华东", "lina");
    let wang = joined(&relay, "华东", "wang");
    let zhangmin = joined(&relay, "华东", "zhangmin");

    // lina works her customers and syncs: this follow-up reaches the team before she leaves.
    let tengfei = lina.add(&["--company", "深圳腾飞科技", "--contact", "王芳"]);
    let yunqi = lina.add(&["--company", "杭州云栖科技", "--contact", "陈"]);
    lina.ok(&[
        "log",
        &tengfei,
        "--channel",
        "visit",
        "--summary",
        "synced visit",
    ]);
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);

    // The roster came with the sync: a rep cannot hand leads over, and leads cannot go to a
    // name that is not on the team.
    let refused = wang.fails(&["handover", "--from", "lina", "--to", "wang"]);
    assert!(
        refused.contains("only a manager can hand leads over"),
        "{refused}"
    );
    let typo = manager.fails(&["handover", "--from", "lina", "--to", "zhangmim"]);
    assert!(
        typo.contains("'zhangmim' is not a member of the team: the team's members are"),
        "{typo}"
    );

    // Owners are checked against the roster: a typo is refused with the members and nothing
    // written; a rep gives a lead only to themselves or the pool, a manager to anyone.
    let before = manager.store_bytes();
    let typo = manager.fails(&[
        "lead",
        "add",
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--owner",
        "lnia",
    ]);
    assert!(
        typo.contains("owner: 'lnia' is not a member of the team: the team's members are"),
        "{typo}"
    );
    assert_eq!(
        manager.store_bytes(),
        before,
        "a refused lead writes nothing"
    );
    let mine = wang.add(&["--company", "温州鞋业", "--contact", "陈静"]);
    let to_lina = wang.fails(&["lead", "edit", &mine, "--owner", "lina"]);
    assert!(
        to_lina.contains("a rep assigns leads only to themselves or the pool"),
        "{to_lina}"
    );
    wang.ok(&["lead", "edit", &mine, "--unassign"]);
    wang.ok(&["lead", "edit", &mine, "--owner", "wang"]);
    manager.ok(&[
        "lead",
        "add",
        "--company",
        "苏州丝绸",
        "--contact",
        "周强",
        "--owner",
        "wang",
    ]);

    // Offline on both sides: lina logs one more visit and edits a phone; the manager hands her
    // customers to zhangmin and the relay's admin removes her.
    lina.ok(&[
        "log",
        &tengfei,
        "--channel",
        "phone",
        "--summary",
        "unsynced call",
    ]);
    lina.ok(&["lead", "edit", &yunqi, "--phone", "13900000000"]);
    let said = manager.ok(&["handover", "--from", "lina", "--to", "zhangmin"]);
    assert!(
        said.starts_with("handed over 2 leads from lina to zhangmin"),
        "{said}"
    );
    relay.admin(&["member", "remove", "华东", "lina"]);

    // Both reconnect: the manager's handover goes through; lina's device is refused, wipes the
    // team's leads and says so.
    manager.ok(&["sync"]);
    let refused = lina.fails(&["sync"]);
    assert!(
        refused.contains(
            "lina has been removed from team '华东': this device removed the team's 2 leads"
        ),
        "{refused}"
    );
    assert!(
        lina.list(&[]).is_empty(),
        "the removed device holds no customer"
    );
    assert!(lina.fails(&["sync"]).contains("has not joined a team"));
    wang.ok(&["sync"]);
    zhangmin.ok(&["sync"]);

    for device in [&manager, &zhangmin] {
        for id in [&tengfei, &yunqi] {
            assert_eq!(device.show(id)["owner"], "zhangmin");
        }
        let followups: Vec<String> = device.show(&tengfei)["followups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["summary"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            followups,
            ["synced visit"],
            "the synced follow-up is kept, nothing else came"
        );
        assert!(device.show(&yunqi)["phone"].is_null());
        let history = device.ok(&["history", &tengfei]);
        assert!(history.contains("owner: lina -> zhangmin"), "{history}");
    }
    let on_wang: Vec<String> = wang
        .list(&[])
        .iter()
        .map(|lead| lead["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !on_wang.contains(&tengfei) && !on_wang.contains(&yunqi),
        "another rep's customers are not on wang's device"
    );
}

#[test]
fn a_handover_moves_leads_onto_the_new_owners_device_and_off_the_old_owners() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "华东"]);
    let manager = joined_as(&relay, "华东", "manager", "manager");
    let lina = joined(&relay, "华东", "lina");
    let wang = joined(&relay, "华东", "wang");
    let tengfei = lina.add(&["--company", "深圳腾飞科技", "--contact", "王芳"]);
    let kept = lina.add(&["--company", "杭州云栖科技", "--contact", "陈"]);
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);
    assert!(
        wang.list(&[]).is_empty(),
        "wang sees none of lina's customers"
    );

    // lina logs a visit offline while the manager hands that lead to wang.
    lina.ok(&[
        "log",
        &tengfei,
        "--channel",
        "visit",
        "--summary",
        "lina's offline visit",
    ]);
    manager.ok(&["lead", "edit", &tengfei, "--owner", "wang"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);
    assert_eq!(
        wang.show(&tengfei)["owner"],
        "wang",
        "the lead reached its new owner"
    );
    // lina's next sync pushes her visit first, then drops the lead.
    lina.ok(&["sync"]);
    let on_lina: Vec<String> = lina
        .list(&[])
        .iter()
        .map(|lead| lead["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(on_lina, [kept]);
    // A rep's figures say they cover what the device holds; a manager's cover the team.
    let covers = "lina's own leads and the pool: a rep's device holds no other rep's leads";
    for args in [&["funnel"][..], &["alerts"], &["report", "--format", "md"]] {
        let said = lina.ok(args);
        assert!(said.contains(covers), "{args:?}: {said}");
        assert!(
            !manager.ok(args).contains("own leads and the pool"),
            "{args:?}"
        );
    }
    wang.ok(&["sync"]);
    manager.ok(&["sync"]);
    for device in [&wang, &manager] {
        let lead = device.show(&tengfei);
        assert_eq!(lead["owner"], "wang");
        let summaries: Vec<&str> = lead["followups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["summary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            ["lina's offline visit"],
            "nothing lina typed was lost"
        );
    }
}
