//! `fieldsync funnel` on a real store: figures, labels of the counting rules, "n/a" for empty
//! periods, and columns that stay aligned with Chinese stage names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::Value;
use util::{Device, column_of, march_team};

fn reached(report: &Value) -> Vec<u64> {
    report["funnel"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_funnel_counts_both_rules_and_labels_them() {
    let device = march_team();
    let march = [
        "funnel",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--json",
    ];
    let pass: Value = serde_json::from_str(&device.ok(&march)).unwrap();
    // acq A B C; discovery A and B (skipped, counted as passed); solution A B; negotiation A
    // (B was lost in solution); A was won from negotiation, so it passed closing and reached
    // account care, the win stage.
    assert_eq!(reached(&pass), [3, 2, 2, 1, 1, 1]);
    assert_eq!(pass["funnel"]["counting"], "pass-through");
    let mut strict_args = march.to_vec();
    strict_args.push("--strict");
    let strict: Value = serde_json::from_str(&device.ok(&strict_args)).unwrap();
    assert_eq!(reached(&strict), [3, 1, 1, 1, 0, 0]);
    assert_eq!(strict["outcomes"]["win_rate"]["rate"], 0.5);
    assert_eq!(strict["outcomes"]["loss_reasons"][0]["reason"], "price");

    let table = device.ok(&[
        "funnel",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--strict",
    ]);
    assert!(table.contains("counting: strict order"), "{table}");
    assert!(table.contains("window:   cohort"), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    let header = lines.iter().find(|l| l.starts_with("STAGE")).unwrap();
    let expected = column_of(header, "REACHED");
    for (label, count) in [("线索获取", "3"), ("需求挖掘", "1"), ("客户维护", "0")] {
        let line = lines.iter().find(|l| l.contains(label)).unwrap();
        // The third cell (after the stage and "open now") is the reached count, and it starts
        // in the header's column although the stage names are Chinese.
        let after_label = line.find(label).unwrap() + label.len();
        let second = line[after_label..].split_whitespace().nth(1).unwrap();
        assert_eq!(second, count, "{line}");
        let at = second.as_ptr() as usize - line.as_ptr() as usize;
        assert_eq!(column_of(line, &line[at..]), expected, "{line}");
    }
}

#[test]
fn an_empty_period_shows_not_applicable() {
    let device = march_team();
    let out = device.ok(&["funnel", "--from", "2023-01-01", "--to", "2023-01-31"]);
    assert!(out.contains("0 leads"), "{out}");
    assert!(out.contains("win rate n/a"), "{out}");
    assert!(!out.contains("NaN"), "{out}");
    let err = device.fails(&["funnel", "--from", "2024-03-31", "--to", "2024-03-01"]);
    assert!(err.contains("before --from"), "{err}");
}

#[test]
fn alerts_list_a_next_step_past_due_and_a_missed_cadence() {
    let device = Device::init("lina");
    let id = device.add(&[
        "--company",
        "逾期公司",
        "--contact",
        "赵",
        "--priority",
        "high",
        "--at",
        "2024-03-01 09:00",
    ]);
    device.ok(&[
        "log",
        &id,
        "--channel",
        "visit",
        "--summary",
        "demo",
        "--next",
        "send the quote",
        "--due",
        "2024-03-05",
        "--at",
        "2024-03-02 10:00",
    ]);
    let found: Value = serde_json::from_str(&device.ok(&["alerts", "--json"])).unwrap();
    let kinds: Vec<&str> = found["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    // Created 2024-03-01: long past its stage limit, its high-priority cadence, and the step.
    assert!(kinds.contains(&"stale"), "{kinds:?}");
    assert!(kinds.contains(&"follow-up-overdue"), "{kinds:?}");
    assert!(kinds.contains(&"next-step-overdue"), "{kinds:?}");
    let table = device.ok(&["alerts"]);
    assert!(
        table.contains("逾期公司") && table.contains("past due"),
        "{table}"
    );
}

#[test]
fn the_funnel_breaks_down_by_tier_and_by_region() {
    let device = Device::init("lina");
    for (company, region, priority) in [
        ("深圳腾飞", "华南", "A"),
        ("广州云栖", "华南", "b"),
        ("杭州港务", "华东", "高"),
    ] {
        device.add(&[
            "--company",
            company,
            "--contact",
            "张伟",
            "--region",
            region,
            "--priority",
            priority,
        ]);
    }
    let groups = |by: &str| -> Vec<(String, u64)> {
        let json: Value =
            serde_json::from_str(&device.ok(&["funnel", "--by", by, "--json"])).unwrap();
        json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["group"].as_str().unwrap().to_owned(),
                    g["leads"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        groups("priority"),
        [("high".to_owned(), 2), ("medium".to_owned(), 1)]
    );
    assert_eq!(
        groups("region"),
        [("华南".to_owned(), 2), ("华东".to_owned(), 1)]
    );
    let table = device.ok(&["funnel", "--by", "priority"]);
    assert!(
        table.contains("A high 高") && table.contains("B medium 中"),
        "{table}"
    );
}
