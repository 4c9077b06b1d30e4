//! The app (`fieldsync app`) end to end: the real binary on real stores, the real relay, and
//! real headless Chromium driven by fantoccini. Each screen is looked at in a phone-sized and a
//! laptop-sized window, with screenshots under target/app-screenshots/.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod relay;
mod util;
mod webdriver;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fieldsync_store::{Store, StoreOptions};
use relay::{Relay, joined, joined_as};
use serde_json::Value;
use util::Device;
use webdriver::{Browser, STEP};

/// `fieldsync app` running on a device; killed on drop.
struct AppProcess {
    child: Child,
    /// The address it printed, key included.
    url: String,
    /// Its port.
    port: u16,
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AppProcess {
    /// Starts the app on a free port and waits for the address it prints.
    fn start(device: &Device) -> AppProcess {
        let mut child = device
            .process()
            .args(["app", "--no-open", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tell, told) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("fieldsync app: open ") {
                    let _ = tell.send(url.to_owned());
                }
            }
        });
        let url = told.recv_timeout(STEP).expect("the app printed no address");
        let port = url
            .trim_start_matches("http://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        AppProcess { child, url, port }
    }

    /// An address of the app, without the key (the browser has its cookie).
    fn page(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The key this launch printed.
    fn key(&self) -> &str {
        self.url.split("key=").nth(1).unwrap()
    }

    /// Sends a raw HTTP request and returns the status code and body.
    fn raw(&self, request: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(STEP)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }
}

/// A browser that has opened the app's printed address (and so holds its key).
async fn browser_on(app: &AppProcess, width: u32, height: u32) -> Browser {
    let browser = Browser::start(width, height).await;
    browser.open(&app.url).await;
    browser
}

/// Waits (bounded) until `check` holds for the device, reading it through the CLI.
fn wait_for_device(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < STEP, "waited {STEP:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A lead added on `device`, its id.
fn lead(device: &Device, company: &str, contact: &str, phone: &str) -> String {
    device.add(&[
        "--company",
        company,
        "--contact",
        contact,
        "--phone",
        phone,
        "--amount",
        "25",
    ])
}

/// Rep lina's device, on its own, holding one lead; its id.
fn lina_with_a_lead() -> (Device, String) {
    let device = Device::init("lina");
    let id = lead(
        &device,
        "深圳市腾飞科技有限公司",
        "张伟",
        "+86 138 0013 8000",
    );
    (device, id)
}

/// A relay with team `east`: manager wang's device and rep lina's, both holding lina's lead.
fn team_sharing_a_lead() -> (Relay, Device, Device, String) {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "wang", "manager");
    let lina = joined(&relay, "east", "lina");
    let id = lead(&lina, "深圳市腾飞科技有限公司", "张伟", "+86 138 0013 8000");
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    (relay, manager, lina, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_logged_in_the_app_appears_live_on_a_teammates_open_page() {
    let _turn = webdriver::one_test_at_a_time().await;
    let (_relay, manager, lina, id) = team_sharing_a_lead();
    let lina_app = AppProcess::start(&lina);
    let manager_app = AppProcess::start(&manager);

    let watching = browser_on(&manager_app, 1280, 800).await;
    watching
        .open(&manager_app.page(&format!("/lead/{id}")))
        .await;
    watching
        .wait_until("document.querySelector('.status.online') !== null")
        .await;
    // The manager starts typing a note of their own: it must survive the live update.
    watching.fill("What was discussed", "电话确认预算").await;
    let watching_id = watching
        .eval("document.getElementById('log-summary').value")
        .await;
    assert_eq!(watching_id, "电话确认预算");

    let logging = browser_on(&lina_app, 390, 844).await;
    logging.open(&lina_app.page(&format!("/lead/{id}"))).await;
    logging
        .fill("What was discussed", "上门演示产品，IT部门参加")
        .await;
    logging.fill("Next step", "发送报价").await;
    logging.press("Save follow-up").await;
    logging
        .wait_until("document.querySelector('.timeline').innerText.includes('上门演示产品')")
        .await;
    drop(logging);

    watching
        .wait_until("document.querySelector('.timeline').innerText.includes('上门演示产品')")
        .await;
    assert_eq!(
        watching
            .eval("document.getElementById('log-summary').value")
            .await,
        "电话确认预算",
        "the live update kept what the manager was typing"
    );
    let problems = watching.problems().await;
    assert!(problems.is_empty(), "{problems:?}");
    let shown = manager.show(&id);
    assert_eq!(shown["followups"][0]["summary"], "上门演示产品，IT部门参加");
    assert_eq!(shown["followups"][0]["next"], "发送报价");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dragging_a_card_moves_the_lead() {
    let _turn = webdriver::one_test_at_a_time().await;
    let device = Device::init("lina");
    let id = lead(&device, "杭州云栖科技", "陈静", "13900139000");
    let app = AppProcess::start(&device);
    let browser = browser_on(&app, 1280, 800).await;
    browser.open(&app.page("/board")).await;
    let card = format!(".card[data-id='{id}']");
    browser
        .wait_until(&format!(
            "document.querySelector(\"{card}\").closest('.column').dataset.stage === 'acquisition'"
        ))
        .await;
    // WebDriver cannot drive HTML drag and drop in Chromium; the page gets the same events
    // a person's drag makes.
    browser
        .eval(&format!(
            "(() => {{
                const card = document.querySelector(\"{card}\");
                const target = document.querySelector(\".column[data-stage='discovery'] .cards\");
                const data = new DataTransfer();
                card.dispatchEvent(new DragEvent('dragstart', {{bubbles: true, dataTransfer: data}}));
                target.dispatchEvent(new DragEvent('dragover', {{bubbles: true, cancelable: true, dataTransfer: data}}));
                target.dispatchEvent(new DragEvent('drop', {{bubbles: true, cancelable: true, dataTransfer: data}}));
                card.dispatchEvent(new DragEvent('dragend', {{bubbles: true, dataTransfer: data}}));
                return true;
            }})()"
        ))
        .await;
    wait_for_device("the move to reach the store", || {
        device
            .list(&[])
            .iter()
            .any(|lead| lead["id"] == id.as_str() && lead["stage"] == "discovery")
    });
    browser
        .wait_until(&format!(
            "document.querySelector(\"{card}\").closest('.column').dataset.stage === 'discovery'"
        ))
        .await;
    let shown = device.show(&id);
    assert_eq!(shown["stage_changes"].as_array().unwrap().len(), 2);

    // The card's menu puts it on hold; the lead's page ends the hold.
    // Found and clicked in one step: a live update may swap the board in between.
    browser
        .eval(&format!(
            "(() => {{ document.querySelector(\"{card} .card-menu\").click(); return true; }})()"
        ))
        .await;
    browser
        .wait_until("document.getElementById('card-actions').open")
        .await;
    browser
        .eval("(() => { document.getElementById('hold-until').value = '2099-01-15'; return true; })()")
        .await;
    browser.fill("Why", "预算明年批").await;
    browser.press("Put on hold").await;
    wait_for_device("the hold to reach the store", || {
        device.show(&id)["hold_until"] == "2099-01-15"
    });
    browser.open(&app.page(&format!("/lead/{id}"))).await;
    browser.press("End the hold now").await;
    wait_for_device("the hold to end", || {
        device.show(&id)["hold_until"].is_null()
    });
    let problems = browser.problems().await;
    assert!(problems.is_empty(), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_phone_shows_the_error_at_the_field_and_leaves_the_store_unchanged() {
    let _turn = webdriver::one_test_at_a_time().await;
    let (device, id) = lina_with_a_lead();
    let before = device.store_bytes();
    let app = AppProcess::start(&device);
    let browser = browser_on(&app, 390, 844).await;
    browser.open(&app.page(&format!("/lead/{id}"))).await;
    browser.fill("Phone", "12").await;
    browser.press("Save details").await;
    browser
        .wait_until("document.getElementById('error-phone') !== null")
        .await;
    let message = browser.text("#error-phone").await;
    assert!(message.starts_with("Not saved:"), "{message}");
    assert!(
        message.contains("phone") || message.contains("digits"),
        "{message}"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('field-phone').value")
            .await,
        "12",
        "what was typed is kept"
    );
    browser.screenshot("lead-phone-error-390x844").await;
    drop(browser);
    drop(app);
    assert!(device.store_bytes() == before, "the store changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_made_by_two_devices_is_resolved_from_the_lead_page() {
    let _turn = webdriver::one_test_at_a_time().await;
    let (_relay, manager, lina, id) = team_sharing_a_lead();
    lina.ok(&["lead", "edit", &id, "--phone", "+86 138 0013 8001"]);
    manager.ok(&["lead", "edit", &id, "--phone", "+86 138 0013 8002"]);
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    lina.ok(&["sync"]);
    assert_eq!(lina.show(&id)["conflicts"].as_array().unwrap().len(), 1);

    let app = AppProcess::start(&lina);
    let browser = browser_on(&app, 1280, 800).await;
    browser.open(&app.page(&format!("/lead/{id}"))).await;
    let section = browser.text("#conflicts").await;
    assert!(
        section.contains("+86 138 0013 8001") && section.contains("+86 138 0013 8002"),
        "{section}"
    );
    assert!(
        section.contains("wang") && section.contains("lina"),
        "who set each value: {section}"
    );
    browser.screenshot("lead-conflict-1280x800").await;
    // Found and clicked in one step: the conflicts are a live part a sync may swap in between.
    browser
        .eval(
            "(() => { const form = document.evaluate(\"//form[.//span[@class='value' and text()='+86 138 0013 8002']]\", document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; form.querySelector('button').click(); return true; })()",
        )
        .await;
    browser
        .wait_until("document.getElementById('conflicts') === null")
        .await;
    let problems = browser.problems().await;
    assert!(problems.is_empty(), "{problems:?}");
    wait_for_device("the conflict settled on lina's device", || {
        lina.show(&id)["conflicts"].as_array().unwrap().is_empty()
    });
    assert_eq!(lina.show(&id)["phone"], "+86 138 0013 8002");
    wait_for_device("the settlement to reach the manager", || {
        manager.ok(&["sync"]);
        manager.show(&id)["conflicts"]
            .as_array()
            .unwrap()
            .is_empty()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_finds_a_lead_by_a_chinese_substring_as_you_type() {
    let _turn = webdriver::one_test_at_a_time().await;
    let device = Device::init("lina");
    lead(
        &device,
        "深圳市腾飞科技有限公司",
        "张伟",
        "+86 138 0013 8000",
    );
    lead(&device, "杭州云栖科技", "陈静", "13900139000");
    lead(&device, "Acme Trading", "Bob", "+1 555 0100");
    let app = AppProcess::start(&device);
    let browser = browser_on(&app, 390, 844).await;
    browser.open(&app.page("/leads")).await;
    browser
        .wait_until("document.querySelector('#results').innerText.includes('3')")
        .await;
    browser
        .by_label("Search company, contact, phone, email or number")
        .await
        .send_keys("腾飞")
        .await
        .unwrap();
    browser
        .wait_until("document.querySelectorAll('#results tbody tr').length === 1")
        .await;
    assert!(
        browser
            .text("#results")
            .await
            .contains("深圳市腾飞科技有限公司")
    );
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("q=")
    );
    browser.screenshot("leads-search-390x844").await;
    let problems = browser.problems().await;
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn requests_with_a_wrong_host_no_key_or_a_cross_site_origin_are_refused() {
    let (device, id) = lina_with_a_lead();
    let before = device.store_bytes();
    let app = AppProcess::start(&device);
    let port = app.port;
    let cookie = format!("fieldsync_key_{port}={}", app.key());
    let form = "phone=%2B86+138+0013+8999";
    let post = |host: &str, origin: Option<&str>, cookie: Option<&str>| {
        let mut request = format!(
            "POST /lead/{id}/edit HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        );
        if let Some(origin) = origin {
            request.push_str(&format!("Origin: {origin}\r\n"));
        }
        if let Some(cookie) = cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(form);
        app.raw(&request)
    };
    let own = format!("127.0.0.1:{port}");
    let own_origin = format!("http://{own}");

    let (status, _) = app.raw(&format!("GET / HTTP/1.1\r\nHost: evil.example:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 421, "a rebinding name is refused");
    let (status, body) = app.raw(&format!(
        "GET / HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 401, "no key: {body}");
    assert!(!body.contains("腾飞"));
    let (status, _) = app.raw(&format!(
        "GET /?key=wrong HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 401, "a wrong key");
    let (status, body) = app.raw(&format!(
        "GET /leads HTTP/1.1\r\nHost: {own}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 200, "with the key's cookie: {body}");
    assert!(body.contains("腾飞"));

    assert_eq!(
        post(&own, Some("http://evil.example"), Some(&cookie)).0,
        403,
        "cross-site origin"
    );
    assert_eq!(
        post(&own, None, Some(&cookie)).0,
        403,
        "no origin, no fetch metadata"
    );
    assert_eq!(post(&own, Some(&own_origin), None).0, 401, "no key");
    assert_eq!(
        post("evil.example", Some(&own_origin), Some(&cookie)).0,
        421,
        "wrong host"
    );
    drop(app);
    assert!(device.store_bytes() == before, "a refused request wrote");

    // The same request from the app's own origin goes through.
    let app = AppProcess::start(&device);
    let cookie = format!("fieldsync_key_{}={}", app.port, app.key());
    let own = format!("127.0.0.1:{}", app.port);
    let request = format!(
        "POST /lead/{id}/edit HTTP/1.1\r\nHost: {own}\r\nOrigin: http://{own}\r\nCookie: {cookie}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    assert_eq!(app.raw(&request).0, 303);
    assert_eq!(device.show(&id)["phone"], "+86 138 0013 8999");
}

#[test]
fn the_header_says_when_documents_from_the_team_were_set_aside() {
    let (device, _) = lina_with_a_lead();
    let get = |app: &AppProcess, lang: &str| {
        let own = format!("127.0.0.1:{}", app.port);
        let cookie = format!(
            "fieldsync_key_{}={}; fieldsync_lang={lang}",
            app.port,
            app.key()
        );
        app.raw(&format!(
            "GET / HTTP/1.1\r\nHost: {own}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ))
    };
    let app = AppProcess::start(&device);
    let (_, page) = get(&app, "en");
    assert!(!page.contains("set aside"), "nothing set aside yet");
    drop(app);
    fieldsync_store::Store::open(&device.store_path(), Default::default())
        .unwrap()
        .put_aside(
            &["0123456789abcdef0123456789abcdef".to_owned()],
            "it does not name itself",
        )
        .unwrap();
    let app = AppProcess::start(&device);
    let (status, page) = get(&app, "en");
    assert_eq!(status, 200);
    assert!(
        page.contains("Documents from the team this device cannot read: 1"),
        "{page}"
    );
    let (_, page) = get(&app, "zh");
    assert!(page.contains("有 1 份团队文档在本机无法读取"), "{page}");
}

#[test]
fn the_language_switch_goes_back_only_to_the_apps_own_pages() {
    let (device, id) = lina_with_a_lead();
    let app = AppProcess::start(&device);
    let own = format!("127.0.0.1:{}", app.port);
    let cookie = format!("fieldsync_key_{}={}", app.port, app.key());
    let switch = |back: &str| {
        let form = format!("to=zh&back={back}");
        let (status, answer) = app.raw(&format!(
            "POST /lang HTTP/1.1\r\nHost: {own}\r\nOrigin: http://{own}\r\nCookie: {cookie}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ));
        assert_eq!(status, 303, "{answer}");
        answer
            .lines()
            .find_map(|line| line.strip_prefix("location: "))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(switch(&format!("%2Flead%2F{id}")), format!("/lead/{id}"));
    assert_eq!(
        switch("%2Fleads%3Fstage%3Dsolution"),
        "/leads?stage=solution"
    );
    for elsewhere in [
        "%2F%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%09%2Fevil.example",
    ] {
        assert_eq!(switch(elsewhere), "/", "{elsewhere}");
    }
}

#[test]
fn a_store_another_process_is_writing_and_a_removed_member_each_say_what_to_do() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    lead(&lina, "深圳市腾飞科技有限公司", "张伟", "+86 138 0013 8000");
    lina.ok(&["sync"]);
    let app = AppProcess::start(&lina);
    let get = |path: &str| {
        app.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: fieldsync_key_{}={}\r\nConnection: close\r\n\r\n",
            app.port,
            app.port,
            app.key()
        ))
    };
    wait_for_device("the app to come online", || {
        get("/").1.contains("status online")
    });

    // Another process writing (an import, a handover) holds the store.
    let mut writer = Store::open(&lina.store_path(), StoreOptions::default()).unwrap();
    let since = writer.since().unwrap();
    writer.set_since(since).unwrap();
    let (status, page) = get("/leads");
    assert_eq!(status, 503, "{page}");
    assert!(
        page.contains("Another fieldsync command") && page.contains("另一个程序"),
        "{page}"
    );
    drop(writer);
    assert_eq!(get("/leads").0, 200);

    // The manager removes lina: her open app says so and what happened to her data.
    relay.admin(&["member", "remove", "east", "lina"]);
    wait_for_device("the app to hear it was removed", || {
        get("/").1.contains("status refused")
    });
    let (_, page) = get("/");
    assert!(page.contains("has been removed from team"), "{page}");
    assert!(page.contains("ask your manager"), "{page}");
    let (_, leads) = get("/leads");
    assert!(
        !leads.contains("深圳市腾飞科技有限公司"),
        "the team's leads are gone from the device"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_loads_clean_in_chinese_and_english_at_phone_and_laptop_width() {
    let _turn = webdriver::one_test_at_a_time().await;
    let device = util::march_team();
    let id = device.list(&[])[0]["id"].as_str().unwrap().to_owned();
    let app = AppProcess::start(&device);
    let screens = [
        ("today", "/".to_owned()),
        ("board", "/board".to_owned()),
        ("leads", "/leads".to_owned()),
        ("lead", format!("/lead/{id}")),
        ("new", "/new".to_owned()),
        ("numbers", "/numbers".to_owned()),
    ];
    for (width, height) in [(1280, 800), (390, 844)] {
        let browser = browser_on(&app, width, height).await;
        for (name, path) in &screens {
            browser.open(&app.page(path)).await;
            let problems = browser.problems().await;
            assert!(problems.is_empty(), "{name} at {width}: {problems:?}");
            let overflow = browser
                .eval("document.documentElement.scrollWidth > window.innerWidth + 1")
                .await;
            if *name != "board" {
                assert_eq!(
                    overflow,
                    Value::Bool(false),
                    "{name} scrolls sideways at {width} px"
                );
            }
            browser
                .screenshot(&format!("{name}-{width}x{height}"))
                .await;
        }
        // The switch puts the pages in the other language and keeps the reader on the page.
        browser.open(&app.page("/board")).await;
        let other = browser
            .eval("document.querySelector('form.lang button').innerText")
            .await;
        browser
            .client
            .find(fantoccini::Locator::Css("form.lang button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_until("document.documentElement.lang !== 'en'")
            .await;
        assert_eq!(other, "中文");
        assert!(browser.client.current_url().await.unwrap().path() == "/board");
        assert!(browser.text("nav").await.contains("销售看板"));
        for (name, path) in &screens {
            browser.open(&app.page(path)).await;
            let problems = browser.problems().await;
            assert!(
                problems.is_empty(),
                "{name} in Chinese at {width}: {problems:?}"
            );
            browser
                .screenshot(&format!("{name}-zh-{width}x{height}"))
                .await;
        }
    }
}
