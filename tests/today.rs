//! A rep's day at the command line: `fieldsync today` lists what needs them, most urgent
//! first, with the command to act on it; `fieldsync hold` takes a lead out of the alerts until
//! a day, and it is shown as on hold everywhere while still counted as open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::Value;
use util::Device;

#[test]
fn today_lists_my_work_most_urgent_first_and_a_lead_on_hold_waits() {
    let device = Device::init("lina");
    // Came in 40 days ago and never touched: stale (30-day limit) and silent (7-day cadence).
    let stale = device.add(&[
        "--company",
        "深圳市腾飞科技有限公司",
        "--contact",
        "张伟",
        "--at",
        &days_ago(40),
    ]);
    // A next step due today.
    let due = device.add(&["--company", "杭州云栖科技", "--contact", "陈静"]);
    device.ok(&[
        "log",
        &due,
        "--channel",
        "visit",
        "--summary",
        "现场演示",
        "--next",
        "发报价",
        "--due",
        "today",
    ]);
    // Someone else's lead is not mine.
    device.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--owner",
        "wangwei",
        "--at",
        &days_ago(40),
    ]);

    let tasks: Vec<Value> = serde_json::from_str(&device.ok(&["today", "--json"])).unwrap();
    let listed: Vec<(&str, &str)> = tasks
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("follow-up-overdue", stale.as_str()),
            ("stale", stale.as_str()),
            ("next-step-due", due.as_str()),
        ]
    );
    let short = &stale[..8];
    assert_eq!(
        tasks[1]["command"],
        format!("fieldsync move {short} discovery")
    );
    let table = device.ok(&["today"]);
    assert!(table.contains("lina's leads: 3 things to do"), "{table}");
    assert!(table.contains("next step due today"), "{table}");
    let all: Vec<Value> = serde_json::from_str(&device.ok(&["today", "--all", "--json"])).unwrap();
    assert_eq!(all.len(), 5, "wangwei's lead is stale and silent too");

    // On hold (暂缓) until a day written the Chinese way: out of the alerts, still open.
    let until = (chrono::Local::now().date_naive() + chrono::Days::new(2))
        .format("%Y年%m月%d日")
        .to_string();
    let said = device.ok(&[
        "hold",
        "腾飞",
        "--until",
        &until,
        "--reason",
        "预算三季度才批",
    ]);
    assert!(said.starts_with("on hold until"), "{said}");
    let tasks: Vec<Value> = serde_json::from_str(&device.ok(&["today", "--json"])).unwrap();
    let kinds: Vec<&str> = tasks.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["next-step-due", "hold-ending"]);
    assert_eq!(tasks[1]["what"], "on hold, ends in 2 days");
    let listed = device.ok(&["lead", "list"]);
    assert!(listed.contains("on hold to"), "{listed}");
    // An open lead shows its next step's due date; a closed one has none to chase.
    let next_due = |device: &Device| -> String {
        let listed = device.ok(&["lead", "list"]);
        let at = util::column_of(listed.lines().next().unwrap(), "NEXT DUE");
        let line = listed.lines().find(|l| l.contains("杭州云栖科技")).unwrap();
        // What stands from the NEXT DUE column on, counting display width (CJK is 2).
        let mut width = 0;
        let start = line
            .char_indices()
            .find(|(_, c)| {
                let before = width;
                width += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
                before >= at
            })
            .map_or(line.len(), |(index, _)| index);
        line[start..].trim().to_owned()
    };
    let today = chrono::Local::now().date_naive().to_string();
    assert_eq!(next_due(&device), &today[..], "due today, shown");
    device.ok(&["lost", &due, "--reason", "price"]);
    assert_eq!(next_due(&device), "", "a closed lead shows no next due");
    device.ok(&["reopen", &due]);
    let shown = device.ok(&["lead", "show", &stale]);
    assert!(shown.contains("预算三季度才批"), "{shown}");
    let lead = device.show(&stale);
    assert_eq!(lead["outcome"], "open", "on hold is still open");
    assert_eq!(lead["holds"][0]["reason"], "预算三季度才批");

    // A hold before the day it is made, or on a closed lead, is refused and writes nothing.
    let before = device.store_bytes();
    let past = device.fails(&["hold", &stale, "--until", "2020-01-01"]);
    assert!(
        past.contains("until: 2020-01-01 is before the hold itself"),
        "{past}"
    );
    device.ok(&["hold", &stale, "--release"]);
    let again = device.fails(&["hold", &stale, "--release"]);
    assert!(again.contains("not on hold"), "{again}");
    assert_ne!(device.store_bytes(), before, "the release was written");
    let after = device.store_bytes();
    device.fails(&["hold", &stale, "--release"]);
    assert_eq!(device.store_bytes(), after, "a refused hold writes nothing");
}

fn days_ago(days: u64) -> String {
    (chrono::Local::now().date_naive() - chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn a_corrected_follow_up_counts_as_corrected_and_the_original_stays_in_history() {
    let device = Device::init("lina");
    let lead = device.add(&[
        "--company",
        "深圳市腾飞科技有限公司",
        "--contact",
        "张伟",
        "--priority",
        "high",
        "--at",
        &days_ago(60),
    ]);
    // Logged with the wrong date: 50 days ago instead of yesterday.
    device.ok(&[
        "log",
        &lead,
        "--channel",
        "visit",
        "--summary",
        "演示产品，IT部门参加",
        "--at",
        &days_ago(50),
    ]);
    let kinds = |device: &Device| -> Vec<String> {
        let tasks: Vec<Value> = serde_json::from_str(&device.ok(&["today", "--json"])).unwrap();
        tasks
            .iter()
            .map(|t| t["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(kinds(&device).contains(&"follow-up-overdue".to_owned()));
    let said = device.ok(&[
        "correct",
        &lead,
        "1",
        "--happened",
        &days_ago(1),
        "--summary",
        "演示产品，IT和采购部门参加",
    ]);
    assert!(said.starts_with("corrected follow-up #1 of"), "{said}");
    // Analytics read the corrected entry: touched yesterday, within the 3-day cadence.
    assert!(!kinds(&device).contains(&"follow-up-overdue".to_owned()));
    let shown = device.show(&lead);
    let followup = &shown["followups"][0];
    assert_eq!(followup["summary"], "演示产品，IT和采购部门参加");
    assert_eq!(followup["channel"], "visit", "fields not given are kept");
    assert_eq!(followup["corrected"]["by"], "lina");
    assert_eq!(shown["corrections"].as_array().unwrap().len(), 1);
    // The original stays in the history, beside the correction.
    let history = device.ok(&["history", &lead]);
    assert!(history.contains("visit: 演示产品，IT部门参加"), "{history}");
    assert!(
        history.contains("visit: 演示产品，IT和采购部门参加"),
        "{history}"
    );

    // A void takes it out of the log and the figures; a wrong number is refused.
    let wrong = device.fails(&["correct", &lead, "2", "--void"]);
    assert!(
        wrong.contains("has 1 follow-ups") || wrong.contains("has 1 follow-up"),
        "{wrong}"
    );
    device.ok(&["correct", &lead, "1", "--void"]);
    assert_eq!(device.show(&lead)["followups"].as_array().unwrap().len(), 0);
    assert!(kinds(&device).contains(&"follow-up-overdue".to_owned()));
    let history = device.ok(&["history", &lead]);
    assert!(history.contains("(void)"), "{history}");
}
