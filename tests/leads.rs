//! Every lead command through the real binary: what it prints, what it stores, and that it
//! is still there in the next process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use predicates::prelude::*;
use serde_json::Value;
use util::{Device, column_of};

#[test]
fn add_prints_the_id_and_show_returns_every_field_in_chinese() {
    let device = Device::init("李娜");
    let id = device.add(&[
        "--company",
        "深圳市腾飞科技有限公司",
        "--contact",
        "张伟",
        "--title",
        "采购总监",
        "--phone",
        "+86 138 0013 8000",
        "--email",
        "zhang.wei@example.com",
        "--industry",
        "制造业",
        "--size",
        "500-1000",
        "--source",
        "转介绍",
        "--priority",
        "B",
        "--amount",
        "1,200.50",
        "--expected-close",
        "2024-06-30",
        "--note",
        "需要IT和采购双方签字",
        "--competitors",
        "竞品B",
        "--budget",
        "100-150万",
        "--at",
        "2024-03-01 09:30",
    ]);
    let lead = device.show(&id[..6]);
    assert_eq!(lead["id"], id.as_str());
    assert_eq!(lead["company"], "深圳市腾飞科技有限公司");
    assert_eq!(lead["contact"], "张伟");
    assert_eq!(lead["title"], "采购总监");
    assert_eq!(lead["phone"], "+86 138 0013 8000");
    assert_eq!(lead["email"], "zhang.wei@example.com");
    assert_eq!(lead["source"], "referral");
    assert_eq!(lead["priority"], "medium");
    assert_eq!(lead["amount"], 1200.5);
    assert_eq!(lead["expected_close"], "2024-06-30");
    assert_eq!(lead["notes"], "需要IT和采购双方签字");
    assert_eq!(lead["owner"], "李娜");
    assert_eq!(lead["stage"], "acquisition");
    assert_eq!(lead["outcome"], "open");
    // 09:30 in Shanghai is 01:30 UTC: stored in UTC, entered in local time.
    assert_eq!(lead["created_at"], "2024-03-01T01:30:00Z");
    assert_eq!(lead["stage_entered_at"], "2024-03-01T01:30:00Z");
    assert_eq!(lead["stage_changes"].as_array().unwrap().len(), 1);
    assert_eq!(lead["followups"].as_array().unwrap().len(), 0);
    assert_eq!(lead["created_by"], "李娜");
    for unset in [
        "pain_points",
        "goals",
        "decision_chain",
        "timeline",
        "history",
        "risks",
    ] {
        assert!(
            lead.get(unset).is_some_and(serde_json::Value::is_null),
            "{unset} is present as null"
        );
    }

    let shown = device.ok(&["lead", "show", &id[..8]]);
    assert!(shown.contains("深圳市腾飞科技有限公司"), "{shown}");
    assert!(
        shown.contains("2024-03-01 09:30"),
        "times shown in local time: {shown}"
    );
    assert!(shown.contains("referral 转介绍"), "{shown}");
}

#[test]
fn log_move_and_outcomes_record_backdated_events() {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "A Tech Co.",
        "--contact",
        "Zhang Wei",
        "--at",
        "2024-03-01",
    ]);
    device.ok(&[
        "log",
        &id[..5],
        "--channel",
        "phone",
        "--summary",
        "interested in product A but comparing with competitor B",
        "--feedback",
        "objection: price",
        "--next",
        "send a comparison sheet",
        "--due",
        "2024-05-12",
        "--at",
        "2024-05-10 14:30",
    ]);
    device.ok(&["move", &id[..5], "discovery", "--at", "2024-03-05"]);
    device.ok(&["move", &id[..5], "方案制定", "--at", "2024-03-20"]);
    let lead = device.show(&id);
    let followup = &lead["followups"][0];
    assert_eq!(followup["at"], "2024-05-10T06:30:00Z");
    assert_eq!(followup["channel"], "phone");
    assert_eq!(followup["feedback"], "objection: price");
    assert_eq!(followup["next"], "send a comparison sheet");
    assert_eq!(followup["due"], "2024-05-12");
    assert_eq!(followup["by"], "lina");
    assert!(
        followup["recorded_at"].as_str().unwrap() > "2026",
        "recorded now, not when it happened"
    );
    assert_eq!(lead["stage"], "solution");
    assert_eq!(lead["stage_entered_at"], "2024-03-19T16:00:00Z");
    assert_eq!(lead["previous_stage_days"], 15);
    let changes = lead["stage_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    assert_eq!(
        (changes[1]["from"].as_str(), changes[1]["to"].as_str()),
        (Some("acquisition"), Some("discovery"))
    );

    device
        .run(&["won", &id[..5], "--amount", "25", "--at", "2024-04-01"])
        .success()
        .stdout(predicate::str::contains("won (25)"));
    let lead = device.show(&id);
    assert_eq!(
        (lead["outcome"].as_str(), lead["deal_amount"].as_f64()),
        (Some("won"), Some(25.0))
    );
    assert_eq!(lead["stage"], "care", "a win enters the win stage");
    let entered = lead["stage_changes"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&entered["from"], &entered["at"], &entered["cause"]),
        (
            &Value::from("solution"),
            &Value::from("2024-03-31T16:00:00Z"),
            &Value::from("won")
        )
    );
    device.ok(&["reopen", &id[..5]]);
    assert_eq!(
        device.show(&id)["stage"],
        "solution",
        "reopening goes back to the stage the lead was won from"
    );
    device.ok(&[
        "lost",
        &id[..5],
        "--reason",
        "other",
        "--note",
        "company was acquired",
    ]);
    let lead = device.show(&id);
    assert_eq!(
        (lead["outcome"].as_str(), lead["loss_reason"].as_str()),
        (Some("lost"), Some("other"))
    );
    assert_eq!(lead["outcomes"].as_array().unwrap().len(), 3);
}

#[test]
fn abandoned_leads_go_to_the_pool() {
    let device = Device::init("lina");
    let id = device.add(&["--company", "C Trading", "--contact", "Wang Fang"]);
    device.ok(&["abandon", &id, "--reason", "no-budget"]);
    let lead = device.show(&id);
    assert_eq!(lead["outcome"], "abandoned");
    assert!(lead["owner"].is_null());
    assert_eq!(device.list(&["--owner", "none"]).len(), 1);
    assert_eq!(device.list(&["--owner", "lina"]).len(), 0);
}

#[test]
fn edit_writes_only_what_changed_and_reassigns() {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "B Group",
        "--contact",
        "Li Na",
        "--phone",
        "010 6552 9988",
    ]);
    device
        .run(&["lead", "edit", &id, "--phone", "010 6552 9988"])
        .success()
        .stdout(predicate::str::starts_with("nothing changed"));
    device.ok(&[
        "lead",
        "edit",
        &id,
        "--phone",
        "021 5555 0000",
        "--risks",
        "needs sign-off from both IT and purchasing",
        "--owner",
        "wangwei",
    ]);
    device.ok(&["lead", "edit", &id, "--clear", "phone"]);
    let lead = device.show(&id);
    assert!(
        lead["phone"].is_null(),
        "a cleared field is present as null"
    );
    assert_eq!(lead["risks"], "needs sign-off from both IT and purchasing");
    assert_eq!(lead["owner"], "wangwei");
    let owners = lead["owner_changes"].as_array().unwrap();
    assert_eq!(
        (owners[1]["from"].as_str(), owners[1]["to"].as_str()),
        (Some("lina"), Some("wangwei"))
    );
}

#[test]
fn list_filters_and_stays_aligned_with_chinese_text() {
    let device = Device::init("lina");
    let a = device.add(&[
        "--company",
        "华为技术有限公司",
        "--contact",
        "张伟",
        "--source",
        "website",
    ]);
    device.add(&[
        "--company",
        "B Group",
        "--contact",
        "Li Na",
        "--source",
        "referral",
        "--owner",
        "wangwei",
    ]);
    let c = device.add(&[
        "--company",
        "C Trading",
        "--contact",
        "Wang Fang",
        "--source",
        "website",
    ]);
    device.ok(&["move", &a, "discovery"]);
    device.ok(&["lost", &c, "--reason", "price"]);
    assert_eq!(device.list(&[]).len(), 3);
    assert_eq!(device.list(&["--stage", "需求挖掘"]).len(), 1);
    assert_eq!(device.list(&["--source", "website"]).len(), 2);
    assert_eq!(device.list(&["--source", "website", "--open"]).len(), 1);
    assert_eq!(device.list(&["--lost"]).len(), 1);
    assert_eq!(device.list(&["--owner", "wangwei"]).len(), 1);
    let listed = device.list(&[]);
    assert!(
        listed
            .iter()
            .all(|lead| lead["followups"].is_array() && lead["stage_changes"].is_array())
    );

    let table = device.ok(&["lead", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    let header = lines[0];
    for column in ["CONTACT", "STAGE", "OWNER"] {
        let expected = column_of(header, column);
        for (line, cell) in lines[1..4].iter().zip(["Wang Fang", "Li Na", "张伟"]) {
            let cell = match column {
                "CONTACT" => cell,
                "STAGE" => {
                    if line.contains("discovery") {
                        "discovery"
                    } else {
                        "acquisition"
                    }
                }
                _ => {
                    if line.contains("wangwei") {
                        "wangwei"
                    } else {
                        "lina"
                    }
                }
            };
            assert_eq!(
                column_of(line, cell),
                expected,
                "{column} aligned in {line:?}"
            );
        }
    }
    assert!(table.contains("3 leads"));
    assert!(
        table.lines().all(|line| !line.ends_with(' ')),
        "no trailing blanks:\n{table}"
    );
    let shown = device.ok(&["lead", "show", &a]);
    assert!(
        shown.lines().all(|line| !line.ends_with(' ')),
        "no trailing blanks:\n{shown}"
    );
}

#[test]
fn delete_hides_the_lead_and_refuses_further_changes() {
    let device = Device::init("lina");
    let id = device.add(&["--company", "D Corp", "--contact", "Sun Jie"]);
    device.ok(&["lead", "delete", &id]);
    assert_eq!(device.list(&[]).len(), 0);
    assert_eq!(device.list(&["--deleted"]).len(), 1);
    assert!(device.show(&id)["deleted"]["by"] == "lina");
    let err = device.fails(&["log", &id, "--channel", "phone", "--summary", "too late"]);
    assert!(err.contains("was deleted"), "{err}");
}

#[test]
fn status_and_compact_report_the_store() {
    let device = Device::init("lina");
    let id = device.add(&["--company", "E Ltd", "--contact", "Xu Lei"]);
    for n in 0..3 {
        device.ok(&[
            "log",
            &id,
            "--channel",
            "email",
            "--summary",
            &format!("mail {n}"),
        ]);
    }
    let status: serde_json::Value =
        serde_json::from_str(&device.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["leads"], 1);
    assert_eq!(status["pending_changes"], 3);
    assert_eq!(status["me"], "lina");
    device
        .run(&["compact"])
        .success()
        .stdout(predicate::str::contains("re-saved 1 documents"));
    let status: serde_json::Value =
        serde_json::from_str(&device.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["pending_changes"], 0);
    assert_eq!(
        device.show(&id)["followups"].as_array().unwrap().len(),
        3,
        "compaction keeps every follow-up"
    );
}

#[test]
fn a_lead_is_found_by_a_piece_of_its_name_phone_or_email_and_mine_are_mine() {
    let device = Device::init("lina");
    let tengfei = device.add(&[
        "--company",
        "深圳市腾飞科技有限公司",
        "--contact",
        "张伟",
        "--phone",
        "+86 138 0013 8000",
        "--email",
        "zhang.wei@example.com",
    ]);
    let yunqi = device.add(&[
        "--company",
        "杭州云栖科技",
        "--contact",
        "陈静",
        "--owner",
        "wangwei",
    ]);
    let ids = |filters: &[&str]| -> Vec<String> {
        device
            .list(filters)
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["--search", "腾飞"]), vec![tengfei.clone()]);
    assert_eq!(ids(&["--search", "13800138"]), vec![tengfei.clone()]);
    assert_eq!(ids(&["--search", "ZHANG.WEI"]), vec![tengfei.clone()]);
    assert_eq!(ids(&["--search", "科技"]).len(), 2);
    assert_eq!(ids(&["--mine"]), vec![tengfei.clone()]);
    assert_eq!(ids(&["--owner", "wangwei"]), vec![yunqi.clone()]);
    // Every command that takes an id takes a unique match, and says which ones a vague one
    // matches.
    assert_eq!(device.show("云栖")["id"], yunqi.as_str());
    device.ok(&["log", "腾飞", "--channel", "phone", "--summary", "电话沟通"]);
    assert_eq!(device.show(&tengfei)["followups"][0]["summary"], "电话沟通");
    let vague = device.fails(&["lead", "show", "科技"]);
    assert!(vague.contains("'科技' is ambiguous"), "{vague}");
    assert!(
        vague.contains("杭州云栖科技") && vague.contains("腾飞"),
        "{vague}"
    );
    let none = device.fails(&["lead", "show", "华为"]);
    assert!(none.contains("no lead with id or name '华为'"), "{none}");
}

#[test]
fn every_lead_gets_a_number_to_say_on_the_phone_and_it_names_the_lead() {
    let device = Device::init("lina");
    let first = device.add(&[
        "--company",
        "深圳腾飞科技",
        "--contact",
        "王芳",
        "--at",
        "2026-03-02",
    ]);
    let second = device.add(&[
        "--company",
        "杭州云栖科技",
        "--contact",
        "陈静",
        "--at",
        "2026-03-09",
    ]);
    let number = |id: &str| device.show(id)["number"].as_str().unwrap().to_owned();
    let (one, two) = (number(&first), number(&second));
    // LX, the month it came in, this device's three letters, its sequence that month.
    assert!(one.starts_with("LX2603") && one.ends_with("001"), "{one}");
    assert_eq!(two, format!("{}002", &one[..9]));
    // Wherever a lead is named, its number names it (in any case), and lists show it.
    assert_eq!(device.show(&two.to_lowercase())["id"], second.as_str());
    device.ok(&["log", &one, "--channel", "phone", "--summary", "电话沟通"]);
    assert_eq!(
        device.show(&first)["followups"].as_array().unwrap().len(),
        1
    );
    assert!(device.ok(&["lead", "list"]).contains(&one));
    let found = device.list(&["--search", &two[..9]]);
    assert_eq!(found.len(), 2, "a number's start finds that device's month");
    // An export carries it, and an import keeps it.
    let file = device.home.path().join("leads.csv");
    device.ok(&["export", "--out", file.to_str().unwrap()]);
    let copy = Device::init("wangwei");
    copy.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(copy.show(&one)["company"], "深圳腾飞科技");
    // A number made by hand in a sheet must look like one.
    let bad = device.home.path().join("bad.csv");
    std::fs::write(&bad, "company,contact,number\n温州鞋业,李雷,12345\n").unwrap();
    let output = copy.run(&["import", bad.to_str().unwrap()]).code(2);
    let refused = String::from_utf8(output.get_output().stderr.clone()).unwrap();
    assert!(
        refused.contains("'12345' is not a lead number"),
        "{refused}"
    );
}
