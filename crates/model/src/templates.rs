//! The three built-in pipelines of the playbooks (`b2b`, `leads`, `layers`), with the default
//! loss reasons and source channels.
//!
//! Probabilities are the conventional ones for each stage's position; stale limits default to
//! 30 days except where a playbook states a limit (the `layers` deck: 1, 1, 5, 5, 5, 5 days per
//! move). Ideal rates come from the `layers` deck (100%, 90%, 50%, 30%, 10%); the `b2b` guide
//! compares against an industry average of 60%, which is its baseline here.

use crate::pipeline::{Label, LossReason, Pipeline, SourceChannel, Stage};

/// Names of the built-in templates, for help texts and errors.
pub const NAMES: [&str; 3] = ["b2b", "leads", "layers"];

/// Default stale limit in days.
pub const DEFAULT_STALE_DAYS: u32 = 30;

/// A built-in pipeline by name.
pub fn by_name(name: &str) -> Result<Pipeline, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "b2b" => Ok(b2b()),
        "leads" => Ok(leads()),
        "layers" => Ok(layers()),
        _ => Err(format!(
            "unknown pipeline template '{name}': use one of {}",
            NAMES.join(", ")
        )),
    }
}

fn label(en: &str, zh: &str) -> Label {
    Label {
        en: en.to_owned(),
        zh: zh.to_owned(),
    }
}

fn stage(
    key: &str,
    en: &str,
    zh: &str,
    probability: u8,
    stale_days: u32,
    ideal: Option<f64>,
) -> Stage {
    Stage {
        key: key.to_owned(),
        label: label(en, zh),
        probability,
        stale_days,
        ideal_rate: ideal,
        sales: None,
        entry: None,
        exit: None,
        ideal_open: None,
    }
}

fn build(template: &str, stages: Vec<Stage>) -> Pipeline {
    Pipeline {
        template: template.to_owned(),
        stages,
        removed_stages: Vec::new(),
        loss_reasons: default_loss_reasons(),
        sources: default_sources(),
        win_stage: default_win_stage(template).map(str::to_owned),
        currency: None,
    }
}

/// The stage a win leads into in each built-in template. A team document written before
/// pipelines named their win stage reads this one, when the team still has that stage.
pub fn default_win_stage(template: &str) -> Option<&'static str> {
    match template {
        "b2b" => Some("care"),
        "leads" => Some("won"),
        "layers" => Some("signed"),
        _ => None,
    }
}

/// Six-stage B2B pipeline, from lead acquisition to account care.
pub fn b2b() -> Pipeline {
    let d = DEFAULT_STALE_DAYS;
    let baseline = Some(0.6);
    build(
        "b2b",
        vec![
            stage(
                "acquisition",
                "lead acquisition",
                "线索获取",
                10,
                d,
                baseline,
            ),
            Stage {
                entry: Some(
                    "the customer agreed to a needs interview and named at least one decision maker"
                        .to_owned(),
                ),
                ..stage("discovery", "needs discovery", "需求挖掘", 20, d, baseline)
            },
            stage("solution", "solution design", "方案制定", 40, d, baseline),
            stage("negotiation", "negotiation", "商务谈判", 60, d, baseline),
            stage("closing", "closing", "成交促成", 80, d, baseline),
            stage("care", "account care", "客户维护", 100, d, None),
        ],
    )
}

/// Five-stage lead pipeline, from first contact to won.
pub fn leads() -> Pipeline {
    let d = DEFAULT_STALE_DAYS;
    build(
        "leads",
        vec![
            stage("first-contact", "first contact", "初识", 10, d, None),
            stage("intent", "intent confirmed", "意向明确", 30, d, None),
            stage("comparison", "solution comparison", "方案对比", 50, d, None),
            stage("negotiation", "negotiation", "商务谈判", 70, d, None),
            stage("won", "won", "成交", 100, d, None),
        ],
    )
}

/// Seven customer layers, from the resource pool to implemented customers. The deck's ideal
/// open leads per rep (10, 13, 7, 2) are read as those of the four working layers, graded to
/// opportunity.
pub fn layers() -> Pipeline {
    let mut pipeline = build(
        "layers",
        vec![
            stage("pool", "resource pool", "客户资源", 1, 1, Some(1.0)),
            stage("graded", "graded", "已分级", 5, 1, Some(0.9)),
            stage("contacted", "contacted", "已接触", 10, 5, Some(0.5)),
            stage("lead", "lead customer", "线索客户", 20, 5, Some(0.3)),
            stage(
                "opportunity",
                "opportunity",
                "意向客户(商机)",
                40,
                5,
                Some(0.1),
            ),
            stage("signed", "signed customer", "签约客户", 90, 5, None),
            stage(
                "implemented",
                "implemented customer",
                "已实施客户",
                100,
                DEFAULT_STALE_DAYS,
                None,
            ),
        ],
    );
    for (stage, ideal) in pipeline.stages[1..5].iter_mut().zip([10, 13, 7, 2]) {
        stage.ideal_open = Some(ideal);
    }
    pipeline
}

/// A pipeline as a release before win stages, criteria, ideal loads and source aliases stored
/// it (`stored`, its JSON), with what its built-in template now says of them: the template's
/// win stage, if the pipeline still has that stage, and each stage's criteria and ideal open
/// leads and each source's aliases, by key. Nothing the stored pipeline set is changed.
pub fn upgraded(stored: Pipeline) -> Pipeline {
    let Ok(template) = by_name(&stored.template) else {
        return stored;
    };
    let mut pipeline = stored;
    if pipeline.win_stage.is_none() {
        pipeline.win_stage = template
            .win_stage
            .clone()
            .filter(|win| pipeline.stage(win).is_some());
    }
    for stage in &mut pipeline.stages {
        if let Some(known) = template.stage(&stage.key) {
            stage.entry = stage.entry.take().or_else(|| known.entry.clone());
            stage.exit = stage.exit.take().or_else(|| known.exit.clone());
            stage.ideal_open = stage.ideal_open.or(known.ideal_open);
        }
    }
    for source in &mut pipeline.sources {
        if let Some(known) = template.sources.iter().find(|c| c.key == source.key)
            && source.aliases.is_empty()
        {
            source.aliases = known.aliases.clone();
        }
    }
    pipeline
}

/// The default loss-reason list.
pub fn default_loss_reasons() -> Vec<LossReason> {
    [
        ("price", "price too high", "价格过高", false),
        ("competitor", "chose a competitor", "竞品优势", false),
        ("no-budget", "no budget", "预算不足", false),
        ("need-changed", "need changed", "需求变更", false),
        (
            "no-decision",
            "no decision / no authority",
            "无决策权",
            false,
        ),
        (
            "invalid",
            "invalid contact or irrelevant need",
            "无效线索",
            false,
        ),
        ("other", "other", "其他", true),
    ]
    .into_iter()
    .map(|(key, en, zh, needs_note)| LossReason {
        key: key.to_owned(),
        label: label(en, zh),
        needs_note,
    })
    .collect()
}

/// The default source channels, with the synonyms Chinese sheets commonly write for them.
pub fn default_sources() -> Vec<SourceChannel> {
    [
        (
            "website",
            "website sign-up",
            "官网注册",
            &["官网", "网站"][..],
        ),
        ("trade-show", "trade show", "行业展会", &["展会", "展览会"]),
        (
            "referral",
            "referral",
            "转介绍",
            &["朋友介绍", "老客户介绍", "客户介绍"],
        ),
        (
            "social",
            "social media",
            "社交媒体",
            &["微信", "抖音", "小红书"],
        ),
        (
            "search-ads",
            "search ads",
            "搜索引擎广告",
            &["百度推广", "搜索广告"],
        ),
        ("event", "offline event", "线下活动", &["活动", "沙龙"]),
    ]
    .into_iter()
    .map(|(key, en, zh, aliases)| SourceChannel {
        key: key.to_owned(),
        label: label(en, zh),
        aliases: aliases.iter().map(|alias| (*alias).to_owned()).collect(),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_the_playbook_stage_counts() {
        assert_eq!(b2b().stages.len(), 6);
        assert_eq!(leads().stages.len(), 5);
        assert_eq!(layers().stages.len(), 7);
        assert!(by_name("crm").unwrap_err().contains("b2b, leads, layers"));
    }

    #[test]
    fn a_pipeline_stored_before_win_stages_gets_the_templates_new_settings() {
        let mut stored = b2b();
        stored.win_stage = None;
        stored.stages[1].entry = None;
        stored.stages[2].stale_days = 9;
        for source in &mut stored.sources {
            source.aliases.clear();
        }
        let upgraded = upgraded(stored);
        assert_eq!(upgraded.win_stage.as_deref(), Some("care"));
        assert!(upgraded.stages[1].entry.is_some());
        assert_eq!(upgraded.stages[2].stale_days, 9, "what the store set stays");
        assert_eq!(upgraded.resolve_source("展会").unwrap().key, "trade-show");
        let mut no_care = b2b();
        no_care.win_stage = None;
        no_care.stages.retain(|s| s.key != "care");
        assert_eq!(upgraded_win(no_care), None);
    }

    fn upgraded_win(pipeline: Pipeline) -> Option<String> {
        upgraded(pipeline).win_stage
    }

    #[test]
    fn each_template_names_its_win_stage_and_sales_stages() {
        for (pipeline, win, sales) in [
            (b2b(), "care", 5),
            (leads(), "won", 4),
            (layers(), "signed", 5),
        ] {
            pipeline.check().unwrap();
            let index = pipeline.win_stage_index().unwrap();
            assert_eq!(pipeline.stages[index].key, win);
            assert_eq!(pipeline.win_target(), Some(index));
            let count = (0..pipeline.stages.len())
                .filter(|&i| pipeline.is_sales(i))
                .count();
            assert_eq!(count, sales, "{}", pipeline.template);
        }
    }
}
