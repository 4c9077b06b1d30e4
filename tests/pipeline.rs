//! The team's pipeline: two managers edit it offline and every device converges through the
//! real relay; reps cannot change it; a lead in a removed stage stays there and is reported;
//! a pipeline file loads all-or-nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;

use relay::{Relay, joined, joined_as};
use serde_json::Value;
use util::Device;

fn pipeline(device: &Device) -> Value {
    serde_json::from_str(&device.ok(&["pipeline", "show", "--format", "json"])).unwrap()
}

fn stage_keys(pipeline: &Value) -> Vec<String> {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| stage["key"].as_str().unwrap().to_owned())
        .collect()
}

fn stage<'a>(pipeline: &'a Value, key: &str) -> &'a Value {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["key"] == key)
        .unwrap_or_else(|| panic!("no stage {key} in {pipeline}"))
}

#[test]
fn two_managers_edit_the_pipeline_offline_and_every_device_converges() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "华东"]);
    let wang = joined_as(&relay, "华东", "wang", "manager");
    let zhao = joined_as(&relay, "华东", "zhao", "manager");
    let lina = joined(&relay, "华东", "lina");

    // lina has a customer in account care (the win entered it), the stage wang is about to
    // remove.
    let customer = lina.add(&["--company", "深圳腾飞科技", "--contact", "王芳"]);
    lina.ok(&["won", &customer, "--amount", "12"]);
    for device in [&lina, &wang, &zhao] {
        device.ok(&["sync"]);
    }

    // The relay put its members file into the team document: every device knows the roles.
    let members: Value = serde_json::from_str(&lina.ok(&["members", "--json"])).unwrap();
    let roles: Vec<(String, String)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [("lina", "rep"), ("wang", "manager"), ("zhao", "manager")]
            .map(|(n, r)| (n.to_owned(), r.to_owned()))
    );
    let refused = lina.fails(&[
        "pipeline",
        "edit",
        "set",
        "discovery",
        "--probability",
        "30",
    ]);
    assert!(refused.contains("only a manager"), "{refused}");

    // Offline, both managers edit: different stages, different properties, one register both.
    wang.ok(&[
        "pipeline",
        "edit",
        "rename",
        "discovery",
        "--zh",
        "需求调研",
    ]);
    wang.ok(&["pipeline", "edit", "set", "solution", "--probability", "45"]);
    wang.ok(&[
        "pipeline",
        "edit",
        "add",
        "trial",
        "--en",
        "free trial",
        "--zh",
        "试用",
        "--after",
        "solution",
        "--probability",
        "50",
    ]);
    // Account care is where a win leads: it goes only once the win leads nowhere (or elsewhere).
    let refused = wang.fails(&["pipeline", "edit", "remove", "care"]);
    assert!(refused.contains("is where a win leads"), "{refused}");
    let none = wang.ok(&["pipeline", "edit", "win-stage", "none"]);
    assert!(none.contains("no win stage"), "{none}");
    let removed = wang.ok(&["pipeline", "edit", "remove", "care"]);
    assert!(removed.contains("removed stage account care"), "{removed}");
    wang.ok(&[
        "pipeline",
        "edit",
        "set",
        "negotiation",
        "--probability",
        "65",
    ]);

    zhao.ok(&["pipeline", "edit", "set", "discovery", "--stale-days", "10"]);
    zhao.ok(&[
        "pipeline", "edit", "move", "closing", "--before", "solution",
    ]);
    zhao.ok(&["pipeline", "edit", "set", "solution", "--ideal-rate", "50%"]);
    zhao.ok(&[
        "pipeline",
        "edit",
        "add-reason",
        "timing",
        "--en",
        "bad timing",
        "--zh",
        "时机不对",
    ]);
    zhao.ok(&[
        "pipeline",
        "edit",
        "set",
        "negotiation",
        "--probability",
        "70",
    ]);

    // Both reconnect; wang syncs again for zhao's edits; lina syncs last.
    for device in [&wang, &zhao, &wang, &lina] {
        device.ok(&["sync"]);
    }
    let merged = pipeline(&wang);
    assert_eq!(pipeline(&zhao), merged);
    assert_eq!(pipeline(&lina), merged);

    assert_eq!(
        stage_keys(&merged),
        [
            "acquisition",
            "discovery",
            "closing",
            "solution",
            "trial",
            "negotiation"
        ]
    );
    let discovery = stage(&merged, "discovery");
    assert_eq!(discovery["label"]["zh"], "需求调研");
    assert_eq!(discovery["stale_days"], 10);
    let solution = stage(&merged, "solution");
    assert_eq!(solution["probability"], 45);
    assert_eq!(solution["ideal_rate"], 0.5);
    let negotiation = stage(&merged, "negotiation")["probability"]
        .as_u64()
        .unwrap();
    assert!(negotiation == 65 || negotiation == 70, "{negotiation}");
    assert!(
        merged["loss_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|reason| reason["key"] == "timing")
    );

    // Editing the pipeline rewrote no lead: lina's customer is still in the removed stage, and
    // every device says so.
    assert_eq!(lina.show(&customer)["stage"], "care");
    assert_eq!(merged["leads_in_removed_stages"]["care"], 1);
    let shown = lina.ok(&["pipeline", "show"]);
    assert!(
        shown.contains("1 lead is still in removed stage account care 客户维护"),
        "{shown}"
    );
    // A rep who changed the pipeline on a device of their own before joining cannot push it:
    // the relay refuses the team document from anyone but a manager.
    let chen = Device::init("chen");
    chen.ok(&[
        "pipeline",
        "edit",
        "set",
        "acquisition",
        "--probability",
        "1",
    ]);
    let token = relay.member("华东", "chen");
    chen.ok(&["join", &relay.url(), "--team", "华东", "--token", &token]);
    let refused = chen.fails(&["sync"]);
    assert!(
        refused.contains("only a manager may change the team's pipeline"),
        "{refused}"
    );
    wang.ok(&["sync"]);
    assert_eq!(stage(&pipeline(&wang), "acquisition")["probability"], 10);

    // A lost lead can now be lost for zhao's new reason, on lina's device.
    let other = lina.add(&["--company", "杭州云栖科技", "--contact", "陈"]);
    lina.ok(&["lost", &other, "--reason", "timing"]);
}

#[test]
fn a_pipeline_file_loads_whole_or_not_at_all() {
    let device = Device::init("wang");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.toml");

    // What `show --format toml` writes loads back as no change at all.
    std::fs::write(&file, device.ok(&["pipeline", "show", "--format", "toml"])).unwrap();
    let said = device.ok(&["pipeline", "load", file.to_str().unwrap()]);
    assert!(said.contains("nothing written"), "{said}");

    let text = r#"
[[stages]]
key = "visit"
label = { en = "first visit", zh = "首次拜访" }
probability = 10
stale_days = 7

[[stages]]
key = "quote"
label = { en = "quotation", zh = "报价" }
probability = 50
stale_days = 14
ideal_rate = 0.4
"#;
    std::fs::write(&file, text).unwrap();
    let dry = device.ok(&["pipeline", "load", file.to_str().unwrap(), "--dry-run"]);
    assert!(
        dry.contains("add stage first visit 首次拜访 at position 1"),
        "{dry}"
    );
    assert!(dry.contains("nothing written"), "{dry}");
    assert_eq!(stage_keys(&pipeline(&device))[0], "acquisition");

    // A mistake on line 13 is named by line, and the store is exactly as it was.
    let before = device.store_bytes();
    let bad = text.replace("probability = 50", "probability = \"fifty\"");
    std::fs::write(&file, &bad).unwrap();
    let err = device.fails(&["pipeline", "load", file.to_str().unwrap()]);
    assert!(err.contains("pipeline.toml line 11"), "{err}");
    let out_of_range = text.replace(
        "probability = 50",
        "probability = 100\nprobability_typo = 1",
    );
    std::fs::write(&file, &out_of_range).unwrap();
    let err = device.fails(&["pipeline", "load", file.to_str().unwrap()]);
    assert!(err.contains("unknown field"), "{err}");
    let twice = text.replace("key = \"quote\"", "key = \"visit\"");
    std::fs::write(&file, &twice).unwrap();
    let err = device.fails(&["pipeline", "load", file.to_str().unwrap()]);
    assert!(err.contains("stage 'visit' appears twice"), "{err}");
    assert!(
        device.store_bytes() == before,
        "a refused load wrote to the store"
    );

    std::fs::write(&file, text).unwrap();
    device.ok(&["pipeline", "load", file.to_str().unwrap()]);
    let loaded = pipeline(&device);
    assert_eq!(stage_keys(&loaded), ["visit", "quote"]);
    assert_eq!(stage(&loaded, "quote")["ideal_rate"], 0.4);
    // Loss reasons and sources were left out of the file, so they are kept.
    assert_eq!(loaded["loss_reasons"].as_array().unwrap().len(), 7);
    // A manager adds a channel; leads can come from it, and it can go again.
    device.ok(&[
        "pipeline",
        "edit",
        "add-source",
        "wechat-group",
        "--en",
        "WeChat group",
        "--zh",
        "微信群",
    ]);
    let from_wechat = device.add(&[
        "--company",
        "宁波港务",
        "--contact",
        "李",
        "--source",
        "微信群",
    ]);
    assert_eq!(device.show(&from_wechat)["source"], "wechat-group");
    // A new key that already names a channel, by its key or a label, is refused, and so is
    // "other", which is refused wherever a source is given.
    let before = device.store_bytes();
    for (key, said) in [
        (
            "行业展会",
            "source '行业展会' already exists (trade show 行业展会)",
        ),
        ("other", "a source cannot be called 'other'"),
    ] {
        let refused = device.fails(&["pipeline", "edit", "add-source", key, "--en", "X"]);
        assert!(refused.contains(said), "{refused}");
        assert!(
            device.store_bytes() == before,
            "refused '{key}' wrote to the store"
        );
    }
    device.ok(&["pipeline", "edit", "remove-source", "wechat-group"]);
    let refused = device.fails(&[
        "lead",
        "add",
        "--company",
        "X",
        "--contact",
        "Y",
        "--source",
        "wechat-group",
    ]);
    assert!(
        refused.contains("unknown source 'wechat-group'"),
        "{refused}"
    );
    assert_eq!(
        device.show(&from_wechat)["source"],
        "wechat-group",
        "a removed channel stays on its leads"
    );

    // New leads start in the loaded pipeline's first stage and move through its stages.
    let lead = device.add(&["--company", "华东机械", "--contact", "李雷"]);
    assert_eq!(device.show(&lead)["stage"], "visit");
    device.ok(&["move", &lead, "报价"]);
    assert_eq!(device.show(&lead)["stage"], "quote");
}

#[test]
fn stage_criteria_and_ideal_loads_are_set_shown_and_told_when_a_lead_moves() {
    let device = Device::init("wang");
    device.ok(&[
        "pipeline",
        "edit",
        "set",
        "discovery",
        "--exit",
        "预算和决策人都已确认",
        "--ideal-open",
        "12",
    ]);
    let shown = device.ok(&["pipeline", "show"]);
    // The b2b template's entry criteria for needs discovery, and the team's exit criteria.
    assert!(
        shown
            .contains("needs discovery 需求挖掘 (enter): the customer agreed to a needs interview"),
        "{shown}"
    );
    assert!(
        shown.contains("needs discovery 需求挖掘 (leave): 预算和决策人都已确认"),
        "{shown}"
    );
    assert_eq!(stage(&pipeline(&device), "discovery")["ideal_open"], 12);
    let lead = device.add(&["--company", "深圳腾飞科技", "--contact", "王芳"]);
    let moved = device.ok(&["move", &lead, "discovery"]);
    assert!(
        moved.contains("to enter needs discovery 需求挖掘: the customer agreed"),
        "{moved}"
    );
    let moved = device.ok(&["move", &lead, "solution"]);
    assert!(
        moved.contains("to leave needs discovery 需求挖掘: 预算和决策人都已确认"),
        "{moved}"
    );
    // The criteria go through the pipeline file and back.
    let toml = device.ok(&["pipeline", "show", "--format", "toml"]);
    assert!(toml.contains("exit = \"预算和决策人都已确认\""), "{toml}");
    let bad = device.fails(&["pipeline", "edit", "set", "lead", "--ideal-open", "many"]);
    assert!(
        bad.contains("unknown stage 'lead'") || bad.contains("not a number"),
        "{bad}"
    );
    let bad = device.fails(&[
        "pipeline",
        "edit",
        "set",
        "solution",
        "--ideal-open",
        "many",
    ]);
    assert!(bad.contains("'many' is not a number of leads"), "{bad}");
}
