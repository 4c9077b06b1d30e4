//! `fieldsync history` and `lead show --as-of` on a real store: who changed what, when, from
//! and to, and the lead as its records stood at a past moment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::Value;
use util::Device;

#[test]
fn history_lists_every_change_with_its_author_and_values() {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "杭州云栖科技",
        "--contact",
        "王",
        "--phone",
        "+86 138 0013 8000",
    ]);
    device.ok(&["lead", "edit", &id, "--phone", "+86 139 0000 0001"]);
    device.ok(&["log", &id, "--channel", "visit", "--summary", "演示产品"]);
    device.ok(&["move", &id, "discovery"]);
    let table = device.ok(&["history", &id]);
    for expected in [
        "lina  create  company: 杭州云栖科技",
        "phone: +86 138 0013 8000 -> +86 139 0000 0001",
        "follow-up: visit: 演示产品",
        "stage: acquisition -> discovery",
    ] {
        assert!(table.contains(expected), "{expected:?} in\n{table}");
    }
    let history: Value = serde_json::from_str(&device.ok(&["history", &id, "--json"])).unwrap();
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "edit", "log", "move"]);
    assert_eq!(history[1]["by"], "lina");
    assert_eq!(
        history[1]["changes"][0],
        serde_json::json!({"field": "phone", "old": "+86 138 0013 8000", "new": "+86 139 0000 0001"})
    );
}

#[test]
fn as_of_shows_the_lead_as_recorded_then_and_refuses_other_moments() {
    let device = Device::init("lina");
    let id = device.add(&["--company", "宁波港务", "--contact", "李"]);
    // Recorded just now: today's end of day includes it, yesterday's does not.
    let today: Value =
        serde_json::from_str(&device.ok(&["lead", "show", &id, "--as-of", "today", "--json"]))
            .unwrap();
    assert_eq!(today["company"], "宁波港务");
    let before = device.store_bytes();
    let err = device.fails(&["lead", "show", &id, "--as-of", "yesterday"]);
    assert!(err.contains("not recorded yet"), "{err}");
    let err = device.fails(&["lead", "show", &id, "--as-of", "2099-01-01"]);
    assert!(err.contains("in the future"), "{err}");
    let err = device.fails(&["lead", "show", &id, "--as-of", "soon"]);
    assert!(err.contains("as-of") && err.contains("YYYY-MM-DD"), "{err}");
    assert_eq!(device.store_bytes(), before);
    // A later edit is not in an earlier moment's view. Change times are whole seconds, so the
    // edit waits for the clock's next second (a clock, not a readiness wait).
    let moment = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    device.ok(&["lead", "edit", &id, "--company", "宁波港务集团"]);
    let then: Value =
        serde_json::from_str(&device.ok(&["lead", "show", &id, "--as-of", &moment, "--json"]))
            .unwrap();
    assert_eq!(then["company"], "宁波港务");
    assert_eq!(device.show(&id)["company"], "宁波港务集团");
}

#[test]
fn history_says_when_each_thing_happened_beside_when_it_was_recorded() {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "深圳腾飞科技",
        "--contact",
        "王芳",
        "--at",
        "2026-03-02",
    ]);
    device.ok(&[
        "log",
        &id,
        "--channel",
        "visit",
        "--summary",
        "现场拜访",
        "--at",
        "2026-03-05 14:30",
    ]);
    device.ok(&["lead", "edit", &id, "--title", "采购总监"]);
    let history: Value = serde_json::from_str(&device.ok(&["history", &id, "--json"])).unwrap();
    let happened: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|revision| &revision["happened_at"])
        .collect();
    // Shanghai: 2026-03-02 00:00 is 03-01 16:00 UTC; 03-05 14:30 is 06:30 UTC. An edit of a
    // field records no event.
    assert_eq!(
        happened,
        [
            &Value::from("2026-03-01T16:00:00Z"),
            &Value::from("2026-03-05T06:30:00Z"),
            &Value::Null
        ]
    );
    let table = device.ok(&["history", &id]);
    assert!(
        table.contains("HAPPENED") && table.contains("2026-03-05 14:30"),
        "{table}"
    );
}
