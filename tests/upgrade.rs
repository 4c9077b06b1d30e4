//! A store made by the release before this one (layout 2, before pipelines named a win stage:
//! tests/data/store-layout-2.redb, made with that release's binary) opens in this one: it is
//! upgraded in place, its win reads as reaching the win stage, and its figures are those of the
//! same work done today.
//!
//! The fixture holds, made in Asia/Shanghai: 深圳腾飞科技 (141e1752) created 2026-03-02, moved
//! to negotiation 03-10, won for 30 on 03-20 (it stayed in negotiation: that release's win
//! entered no stage); 杭州云栖科技 (9f3bb364) from a trade show, created 03-03, in discovery
//! since 03-05.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::Value;
use util::Device;

const WON: &str = "141e1752";
const OPEN: &str = "9f3bb364";
const MARCH: [&str; 6] = [
    "--from",
    "2026-03-01",
    "--to",
    "2026-03-31",
    "--json",
    "--compare",
];

fn reached(device: &Device) -> Vec<u64> {
    let mut args = vec!["funnel"];
    args.extend(MARCH);
    args.push("none");
    let funnel: Value = serde_json::from_str(&device.ok(&args)).unwrap();
    funnel["funnel"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect()
}

/// A lead from a trade show, written by the alias 展会 (the upgraded template knows it).
fn add_from_a_trade_show(device: &Device) {
    device.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李雷",
        "--source",
        "展会",
        "--at",
        "2026-03-04",
    ]);
}

#[test]
fn a_store_of_the_previous_release_opens_upgraded_and_counts_its_win_the_same_way() {
    let old = Device::empty();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/store-layout-2.redb"
        ),
        old.store_path(),
    )
    .unwrap();
    // The previous release left its store as the umask made it, readable by others: this one
    // says so on every command, with the command that fixes it, which the owner then runs.
    let listed = old.process().args(["lead", "list"]).output().unwrap();
    assert!(listed.status.success());
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(
        said.contains("can be read by other users") && said.contains("chmod 600"),
        "{said}"
    );
    std::fs::set_permissions(
        old.store_path(),
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .unwrap();
    let won = old.show(WON);
    assert_eq!(
        (&won["outcome"], &won["stage"]),
        (&Value::from("won"), &Value::from("negotiation"))
    );
    // The pipeline it keeps now names its win stage, and the template's source aliases.
    let pipeline: Value =
        serde_json::from_str(&old.ok(&["pipeline", "show", "--format", "json"])).unwrap();
    assert_eq!(pipeline["win_stage"], "care");
    let refused = old.fails(&["move", OPEN, "care"]);
    assert!(refused.contains("fieldsync won"), "{refused}");
    add_from_a_trade_show(&old);

    // The same work done with this release: the win enters account care.
    let new = Device::init("lina");
    let a = new.add(&[
        "--company",
        "深圳腾飞科技",
        "--contact",
        "王芳",
        "--at",
        "2026-03-02",
    ]);
    new.ok(&["move", &a, "negotiation", "--at", "2026-03-10"]);
    new.ok(&["won", &a, "--amount", "30", "--at", "2026-03-20"]);
    assert_eq!(new.show(&a)["stage"], "care");
    let b = new.add(&[
        "--company",
        "杭州云栖科技",
        "--contact",
        "陈静",
        "--at",
        "2026-03-03",
        "--source",
        "trade-show",
    ]);
    new.ok(&["move", &b, "discovery", "--at", "2026-03-05"]);
    add_from_a_trade_show(&new);

    // acquisition 3; discovery: both worked leads; solution, negotiation, closing, care: the
    // win, passed through.
    assert_eq!(reached(&old), [3, 2, 1, 1, 1, 1]);
    assert_eq!(reached(&old), reached(&new));
    let mut strict = vec!["funnel", "--strict"];
    strict.extend(MARCH);
    strict.push("none");
    let figures = |device: &Device| -> Value {
        let report: Value = serde_json::from_str(&device.ok(&strict)).unwrap();
        report["outcomes"].clone()
    };
    assert_eq!(figures(&old), figures(&new));
}
