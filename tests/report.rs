//! `fieldsync report` on a real store: the same hand-computed figures in Markdown, CSV and
//! JSON, a file written whole with `--out`, and bad destinations refused with nothing written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::Value;
use util::march_team;

const MARCH: [&str; 5] = ["report", "--from", "2024-03-01", "--to", "2024-03-31"];

fn report(device: &util::Device, format: &str) -> String {
    let mut args = MARCH.to_vec();
    args.extend(["--format", format]);
    device.ok(&args)
}

// The march team (tests/util.rs): A won (100) after acquisition, discovery, solution and
// negotiation; B skipped discovery and was lost in solution for price; C is still in
// acquisition. All three are referrals created in March. Pass-through counting: reached
// 3, 2, 2, 1, 1, 1 (A's win passed closing into account care). The b2b template's ideal rate
// is 60% at every step.

#[test]
fn markdown_has_the_lead_tracking_and_market_reports_and_the_action_list() {
    let device = march_team();
    let md = report(&device, "md");
    for expected in [
        "# fieldsync report",
        "2024-03-01 to 2024-03-31 · compared with 2024-02-01 to 2024-02-29 (the previous period) · counting: pass-through",
        "## Lead-tracking report",
        "3 new leads. Win rate 50.0% (1 won of 2 closed; 0 abandoned). Deal size: average 100, median 100.",
        // February had no leads.
        "Against 2024-02-01 to 2024-02-29 (the previous period): new leads 0 → 3 (+3); won 0 → 1 (+1); win rate n/a → 50.0% (n/a).",
        "| stage | open now | reached | to next | ideal | from first | reached before | change | to next before |",
        // acquisition: C open; 3 reached; 2 of 3 went on.
        "| lead acquisition 线索获取 | 1 | 3 | 66.7% | 60% | 100.0% | 0 | +3 | n/a |",
        // discovery: A passed it, B skipped it (passes); both went on to solution.
        "| needs discovery 需求挖掘 | 0 | 2 | 100.0% | 60% | 66.7% |",
        // solution: A went on, B was lost there.
        "| solution design 方案制定 | 0 | 2 | 50.0% | 60% | 66.7% |",
        // A was won straight from negotiation: it passed closing on the way to account care, the
        // win stage, so the step from negotiation is whole and the bottleneck is the one where
        // B was lost.
        "| negotiation 商务谈判 | 0 | 1 | 100.0% | 60% | 33.3% |",
        "| closing 成交促成 | 0 | 1 | 100.0% | 60% | 33.3% |",
        "Bottleneck: solution design 方案制定 → negotiation 商务谈判 at 50.0% against an ideal 60%.",
        "| solution design 方案制定 | 16.0 d (median 10.0, 2 leads) |",
        "| negotiation 商务谈判 | 5.0 d (median 5.0, 1 lead) |",
        "| price too high 价格过高 | 1 | 100.0% |",
        "| solution design 方案制定 | 1 | 100.0% |",
        "## Market report",
        "| referral 转介绍 | 3 | 1 | 33.3% | 100.0% | 100 |",
        "| lina | 3 | 1 | 33.3% | 100.0% | 100 |",
        // 用友 named by A (won) and B (lost for price); SAP by A.
        "| 用友 | 2 | 1 | 1 | 0 | 50.0% |",
        "| SAP | 1 | 1 | 0 | 0 | 100.0% |",
        "## Action list",
        // C has sat in acquisition since 2024-03-04: far past the 30-day limit.
        "stale:",
    ] {
        assert!(md.contains(expected), "missing {expected:?} in\n{md}");
    }
    assert!(!md.contains("NaN"), "{md}");
}

#[test]
fn csv_gives_each_table_back_by_its_first_column() {
    let device = march_team();
    let text = report(&device, "csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let table = |name: &str| -> Vec<Vec<String>> {
        records
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[1..].to_vec())
            .collect()
    };
    let funnel = table("funnel");
    assert_eq!(
        funnel[0],
        [
            "stage",
            "open now",
            "reached",
            "to next",
            "ideal",
            "from first",
            "reached before",
            "change",
            "to next before"
        ]
    );
    assert_eq!(
        funnel[1],
        [
            "lead acquisition 线索获取",
            "1",
            "3",
            "66.7%",
            "60%",
            "100.0%",
            "0",
            "+3",
            "n/a"
        ]
    );
    assert_eq!(funnel.len(), 7, "a heading and six stages");
    assert_eq!(
        table("channels")[1],
        ["referral 转介绍", "3", "1", "33.3%", "100.0%", "100"]
    );
    assert_eq!(
        table("loss-reasons")[1],
        ["price too high 价格过高", "1", "100.0%"]
    );
    let competitors = table("competitors");
    assert_eq!(competitors[1][0], "用友");
    assert!(!table("profile-industry").is_empty());
}

#[test]
fn json_has_every_figure_with_rates_as_fractions() {
    let device = march_team();
    let report: Value = serde_json::from_str(&report(&device, "json")).unwrap();
    assert_eq!(report["first_day"], "2024-03-01");
    assert_eq!(report["last_day"], "2024-03-31");
    assert_eq!(report["tracking"]["new_leads"], 3);
    assert_eq!(report["tracking"]["outcomes"]["win_rate"]["rate"], 0.5);
    let reached: Vec<u64> = report["tracking"]["funnel"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(reached, [3, 2, 2, 1, 1, 1]);
    assert_eq!(report["market"]["competitors"][0]["competitor"], "用友");
    assert_eq!(report["market"]["competitors"][0]["win_rate"]["rate"], 0.5);
    // Shown in the reader's zone (the tests run in Asia/Shanghai).
    assert!(
        report["generated_at"].as_str().unwrap().ends_with("+08:00"),
        "{}",
        report["generated_at"]
    );
}

#[test]
fn out_writes_the_file_whole_and_says_where() {
    let device = march_team();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("三月.html");
    std::fs::write(&path, "an older report").unwrap();
    let mut args = MARCH.to_vec();
    let path_text = path.to_str().unwrap();
    args.extend(["--format", "html", "--out", path_text]);
    let said = device.ok(&args);
    assert_eq!(said.trim(), format!("wrote {path_text}"));
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<svg"), "{html}");
    // Nothing but the report is left in the folder (no temporary file).
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 1);
}

#[test]
fn a_bad_destination_or_format_is_refused_and_nothing_is_written() {
    let device = march_team();
    let before = device.store_bytes();
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("no-such-folder").join("r.html");
    let missing_text = missing.to_str().unwrap();
    let mut args = MARCH.to_vec();
    args.extend(["--format", "html", "--out", missing_text]);
    let err = device.fails(&args);
    assert!(err.contains("does not exist"), "{err}");
    let mut args = MARCH.to_vec();
    let folder_text = folder.path().to_str().unwrap();
    args.extend(["--format", "md", "--out", folder_text]);
    let err = device.fails(&args);
    assert!(err.contains("is a folder"), "{err}");
    let mut args = MARCH.to_vec();
    args.extend(["--format", "pdf"]);
    let err = device.fails(&args);
    assert!(err.contains("pdf"), "{err}");
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);
    assert_eq!(device.store_bytes(), before, "the store must be unchanged");
}

#[test]
fn markdown_shortens_long_lists_and_csv_keeps_every_row() {
    let device = util::Device::init("lina");
    let industries = ["制造", "零售", "金融", "教育", "医疗", "能源", "物流"];
    for (n, industry) in industries.iter().enumerate() {
        device.add(&[
            "--company",
            &format!("公司{n}"),
            "--contact",
            "王",
            "--industry",
            industry,
        ]);
    }
    let md = device.ok(&["report", "--period", "month", "--format", "md"]);
    let section = &md[md.find("Winning-customer profile: industry").unwrap()..];
    let table: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("| industry"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 2 + 5, "heading, rule and five rows: {table:?}");
    assert!(section.contains("… and 2 more."), "{section}");
    let csv = device.ok(&["report", "--period", "month", "--format", "csv"]);
    let rows = csv
        .lines()
        .filter(|l| l.starts_with("profile-industry,"))
        .count();
    assert_eq!(rows, 1 + 7, "the heading and all seven industries:\n{csv}");
}

#[test]
fn every_group_table_counts_what_the_top_of_the_report_counts_and_says_so() {
    let device = march_team();
    for window in ["--cohort", "--activity"] {
        let mut args = MARCH.to_vec();
        args.extend([window, "--format", "json"]);
        let report: Value = serde_json::from_str(&device.ok(&args)).unwrap();
        let won = report["tracking"]["outcomes"]["won"].as_u64().unwrap();
        for table in ["channels", "owners"] {
            let groups: u64 = report["market"][table]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["won"].as_u64().unwrap())
                .sum();
            assert_eq!(groups, won, "{window} {table}");
        }
        let mut md_args = MARCH.to_vec();
        md_args.extend([window, "--format", "md"]);
        let md = device.ok(&md_args);
        let said = match window {
            "--cohort" => {
                "Channels compared (leads created in the period; won: of those, won by today"
            }
            _ => "Channels compared (leads: deals decided (won or lost) in the period",
        };
        assert!(md.contains(said), "{said} in {md}");
    }
}

#[test]
fn every_format_sets_the_period_beside_the_previous_one() {
    let device = march_team();
    // February: one lead, won from discovery; March has three, one won (util.rs).
    let february = device.add(&[
        "--company",
        "苏州丝绸",
        "--contact",
        "周强",
        "--source",
        "referral",
        "--at",
        "2024-02-10 10:00",
    ]);
    device.ok(&["move", &february, "discovery", "--at", "2024-02-12"]);
    device.ok(&["won", &february, "--amount", "40", "--at", "2024-02-20"]);
    let headline = "Against 2024-02-01 to 2024-02-29 (the previous period): new leads 1 → 3 (+2 (+200.0%)); won 1 → 1 (0); win rate 100.0% → 50.0% (-50.0 pp).";
    let md = report(&device, "md");
    assert!(md.contains(headline), "{md}");
    // February's win passed every stage to account care.
    assert!(
        md.contains("| lead acquisition 线索获取 | 1 | 3 | 66.7% | 60% | 100.0% | 1 | +2 (+200.0%) | 100.0% |"),
        "{md}"
    );
    let html = report(&device, "html");
    assert!(
        html.contains("reached before") && html.contains("-50.0 pp"),
        "{html}"
    );
    let csv = report(&device, "csv");
    assert!(
        csv.contains("funnel,lead acquisition 线索获取,1,3,66.7%,60%,100.0%,1,+2 (+200.0%),100.0%"),
        "{csv}"
    );
    let json: Value = serde_json::from_str(&report(&device, "json")).unwrap();
    let previous = &json["previous"];
    assert_eq!(previous["compared_with"], "previous");
    assert_eq!(previous["first_day"], "2024-02-01");
    assert_eq!(previous["tracking"]["new_leads"], 1);
    assert_eq!(previous["change"]["new_leads"], 2);
    assert_eq!(previous["change"]["win_rate_points"], -50.0);
    assert_eq!(previous["change"]["reached"][0], 2);

    // The terminal funnel and its JSON, a year back and not at all.
    let funnel = ["funnel", "--from", "2024-03-01", "--to", "2024-03-31"];
    let terminal = device.ok(&funnel);
    assert!(terminal.contains(headline), "{terminal}");
    assert!(terminal.contains("REACHED BEFORE"), "{terminal}");
    let mut year_ago = funnel.to_vec();
    year_ago.extend(["--compare", "year-ago", "--json"]);
    let json: Value = serde_json::from_str(&device.ok(&year_ago)).unwrap();
    assert_eq!(json["previous"]["first_day"], "2023-03-01");
    assert_eq!(json["previous"]["tracking"]["new_leads"], 0);
    let mut none = funnel.to_vec();
    none.extend(["--compare", "none"]);
    let plain = device.ok(&none);
    assert!(
        !plain.contains("REACHED BEFORE") && !plain.contains("Against"),
        "{plain}"
    );
}

#[test]
fn a_report_of_one_reps_leads_says_whose_they_are() {
    let device = march_team();
    let mut mine = MARCH.to_vec();
    mine.extend(["--mine", "--format", "md"]);
    let md = device.ok(&mine);
    assert!(
        md.contains("lina's leads · 2024-03-01 to 2024-03-31"),
        "{md}"
    );
    assert!(md.contains("3 new leads."), "{md}");
    let mut other = MARCH.to_vec();
    other.extend(["--owner", "wangwei", "--format", "json"]);
    let json: Value = serde_json::from_str(&device.ok(&other)).unwrap();
    assert_eq!(json["leads_of"], "wangwei's leads");
    assert_eq!(json["tracking"]["new_leads"], 0);
    let alerts = device.ok(&["alerts", "--owner", "wangwei"]);
    assert!(alerts.starts_with("wangwei's leads\nno alerts"), "{alerts}");
}
