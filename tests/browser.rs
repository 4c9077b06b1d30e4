//! The HTML report in a real headless Chromium (Debian's, driven through chromedriver by
//! fantoccini): it loads with no console message, script error or failed load, every chart is
//! drawn with the stage labels in it, and a screenshot is saved under target/app-screenshots/.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;
mod webdriver;

use std::collections::HashMap;

use serde_json::Value;
use util::march_team;
use webdriver::Browser;

/// What loading a page showed.
struct Loaded {
    /// Console errors and warnings, script exceptions and failed loads, as text.
    problems: Vec<String>,
    /// The value of the expression evaluated after the load.
    value: Value,
}

/// Opens `page` in a window `width` px wide, evaluates `expression`, and saves a screenshot
/// named `name`.
async fn load(page: &std::path::Path, width: u32, expression: &str, name: &str) -> Loaded {
    let browser = Browser::start(width, 900).await;
    browser.open(&format!("file://{}", page.display())).await;
    let value = browser.eval(expression).await;
    let shot = browser.screenshot(name).await;
    eprintln!("screenshot: {}", shot.display());
    Loaded {
        problems: browser.problems().await,
        value,
    }
}

/// Each figure's id, the texts of its SVG, and the width the browser laid it out at.
const CHARTS: &str = "JSON.stringify(Array.from(document.querySelectorAll('figure')).map(f => ({
    id: f.id,
    texts: Array.from(f.querySelectorAll('svg text')).map(t => t.textContent.trim()),
    width: f.querySelector('svg').getBoundingClientRect().width,
})))";

const STAGES: [&str; 6] = [
    "lead acquisition 线索获取",
    "needs discovery 需求挖掘",
    "solution design 方案制定",
    "negotiation 商务谈判",
    "closing 成交促成",
    "account care 客户维护",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_loads_clean_and_its_charts_name_the_stages() {
    let _turn = webdriver::one_test_at_a_time().await;
    let device = march_team();
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("report.html");
    device.ok(&[
        "report",
        "--from",
        "2024-03-01",
        "--to",
        "2024-03-31",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    let loaded = load(&page, 1100, CHARTS, "report-1100").await;
    assert!(loaded.problems.is_empty(), "{:#?}", loaded.problems);

    let charts: Vec<Value> = serde_json::from_str(loaded.value.as_str().unwrap()).unwrap();
    let texts: HashMap<&str, Vec<&str>> = charts
        .iter()
        .map(|chart| {
            assert!(chart["width"].as_f64().unwrap() > 100.0, "{chart}");
            let texts = chart["texts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            (chart["id"].as_str().unwrap(), texts)
        })
        .collect();
    let has = |chart: &str, label: &str| {
        let texts = texts
            .get(chart)
            .unwrap_or_else(|| panic!("no chart {chart}: {texts:?}"));
        assert!(texts.contains(&label), "{chart} lacks {label:?}: {texts:?}");
    };
    for stage in STAGES {
        has("funnel-chart", stage);
        has("time-chart", stage);
    }
    // The funnel shows the counts reached (pass-through): 3, 2, 2, 1.
    for count in ["3", "2", "1"] {
        has("funnel-chart", count);
    }
    has(
        "conversion-chart",
        "lead acquisition 线索获取 → needs discovery 需求挖掘",
    );
    has("conversion-chart", "66.7%");
    has("loss-chart", "price too high 价格过高");
    has("channel-chart", "referral 转介绍");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_reads_on_a_phone() {
    let _turn = webdriver::one_test_at_a_time().await;
    let device = march_team();
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("report.html");
    device.ok(&[
        "report",
        "--period",
        "year",
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ]);
    // At 390 px the page itself does not scroll sideways (wide tables and charts scroll in
    // their own boxes), and charts keep a width their text is legible at.
    let layout = "JSON.stringify({
        page: document.documentElement.scrollWidth,
        boxes: Array.from(document.querySelectorAll('.scroll, figure'))
            .map(b => b.getBoundingClientRect().right),
        charts: Array.from(document.querySelectorAll('figure svg'))
            .map(s => s.getBoundingClientRect().width),
    })";
    let loaded = load(&page, 390, layout, "report-390").await;
    assert!(loaded.problems.is_empty(), "{:#?}", loaded.problems);
    let layout: Value = serde_json::from_str(loaded.value.as_str().unwrap()).unwrap();
    assert!(layout["page"].as_f64().unwrap() <= 390.0, "{layout}");
    for right in layout["boxes"].as_array().unwrap() {
        assert!(right.as_f64().unwrap() <= 390.0, "{layout}");
    }
    for width in layout["charts"].as_array().unwrap() {
        assert!(width.as_f64().unwrap() >= 560.0, "{layout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_check_catches_a_console_error_and_a_failed_load() {
    let _turn = webdriver::one_test_at_a_time().await;
    let folder = tempfile::tempdir().unwrap();
    let page = folder.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><meta charset=utf-8><img src=\"missing.png\">\
         <script>console.error('broken on purpose')</script>",
    )
    .unwrap();
    let loaded = load(&page, 800, "document.title", "broken").await;
    let problems = loaded.problems.join("\n");
    assert!(problems.contains("broken on purpose"), "{problems}");
    assert!(problems.contains("Failed to load resource"), "{problems}");
}
