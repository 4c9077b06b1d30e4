//! The app's benchmarks: server time of its pages on a large store, search as you type, and
//! the time from a change on one device to another device's open page showing it through the
//! real relay. Prints figures, asserts nothing.
//!
//! ```text
//! cargo build --release -p fieldsync -p fieldsync-relay -p fieldsync-bench
//! target/release/fieldsync-app-bench [LEADS] [CHANGES]     # defaults: 10000 100
//! ```
//! 1. Pages: a device of rep `rep0` holding a LEADS-lead sample team (a tenth of it theirs)
//!    serves the app in this process on 127.0.0.1; each page is asked for 30 times over HTTP
//!    (a fresh connection each, as a browser's first request), median and 95th percentile.
//! 2. Search as you type: the lead list's results for each keystroke of a company name and of
//!    a phone number, as the page's script asks for them.
//! 3. Live: two managers' devices on the real relay, each running the app (with its sync
//!    loop) in this process; CHANGES times, a follow-up is logged through device A's app and
//!    the clock runs until device B's page, which listens on /events, has been told of the
//!    change and has fetched itself again with the follow-up in it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fieldsync_bench::relay::{REPS, Relay, device, pushed_team, spread_team, sync};
use fieldsync_bench::{ms, percentile};
use fieldsync_model::templates;
use fieldsync_store::{Store, StoreOptions};
use fieldsync_web::{App, serve, syncing};

/// Times each page is asked for.
const RUNS: usize = 30;

/// An app served in this process, and what a browser holding its key sends.
struct Served {
    app: Arc<App>,
    _stop_sync: tokio::sync::watch::Sender<bool>,
}

impl Served {
    /// Serves the store at `home` on a free port, syncing if the device has joined a team.
    fn start(runtime: &tokio::runtime::Runtime, home: &Path) -> Result<Served> {
        let listener = runtime.block_on(fieldsync_web::server::bind(0))?;
        let port = listener.local_addr()?.port();
        let app = App::new(home.join("store.redb"), StoreOptions::default(), port);
        let (stop_sync, stopped) = tokio::sync::watch::channel(false);
        syncing::start(Arc::clone(&app), stopped);
        runtime.spawn(serve(listener, Arc::clone(&app), std::future::pending()));
        Ok(Served {
            app,
            _stop_sync: stop_sync,
        })
    }

    /// The request head a browser with the key sends.
    fn head(&self, method: &str, path: &str) -> String {
        let port = self.app.port;
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\nCookie: fieldsync_key_{port}={}\r\n",
            self.app.secret
        )
    }

    /// One whole request; returns the status and the body.
    fn request(&self, method: &str, path: &str, form: &str) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.app.port))?;
        let mut request = self.head(method, path);
        if !form.is_empty() {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                form.len()
            ));
        }
        request.push_str("Connection: close\r\n\r\n");
        request.push_str(form);
        stream.write_all(request.as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .context("no status")?;
        Ok((status, answer))
    }

    /// Median and 95th percentile of asking for `path` [`RUNS`] times.
    fn time(&self, path: &str) -> Result<(Duration, Duration, usize)> {
        let mut times = Vec::with_capacity(RUNS);
        let mut bytes = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            let (status, body) = self.request("GET", path, "")?;
            times.push(started.elapsed());
            if status != 200 {
                bail!("{path}: {status}");
            }
            bytes = body.len();
        }
        times.sort();
        Ok((percentile(&times, 50), percentile(&times, 95), bytes))
    }
}

/// `%`-encodes a query value.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn pages(runtime: &tokio::runtime::Runtime, dir: &Path, leads: usize) -> Result<()> {
    let home = dir.join("pages");
    let mut store = Store::init(
        &home.join("store.redb"),
        "rep0",
        templates::b2b(),
        StoreOptions::default(),
    )?;
    store.create_leads(spread_team(leads), |_| {})?;
    let rows = store.rows()?;
    let busiest = rows
        .iter()
        .max_by_key(|row| row.followups)
        .context("no leads")?;
    let (lead_path, company, phone) = (
        format!("/lead/{}", busiest.id),
        busiest.company.to_string(),
        busiest.phone.to_string(),
    );
    let followups = busiest.followups;
    drop(store);
    let served = Served::start(runtime, &home)?;
    println!(
        "1. Page server time, {leads} leads held, rep0's own {} ({RUNS} requests each)",
        leads / REPS
    );
    println!("   page                     median      p95        bytes");
    for (name, path) in [
        ("today", "/".to_owned()),
        ("board", "/board".to_owned()),
        ("leads (open, first 200)", "/leads".to_owned()),
        (&*format!("lead ({followups} follow-ups)"), lead_path),
        ("my numbers", "/numbers".to_owned()),
    ] {
        let (median, p95, bytes) = served.time(&path)?;
        println!(
            "   {name:<24} {:>9}  {:>9}  {bytes:>9}",
            ms(median),
            ms(p95)
        );
    }
    println!("2. Search as you type (the results only, as the page asks)");
    let digits: String = phone.chars().filter(char::is_ascii_digit).take(8).collect();
    for typed in [
        company.chars().collect::<Vec<_>>(),
        digits.chars().collect(),
    ] {
        let mut worst = Duration::ZERO;
        let mut line = Vec::new();
        for end in 1..=typed.len().min(8) {
            let query: String = typed[..end].iter().collect();
            let (median, _, bytes) =
                served.time(&format!("/leads?q={}&partial=1", encoded(&query)))?;
            worst = worst.max(median);
            line.push(format!("'{query}' {} ({} KB)", ms(median), bytes / 1024));
        }
        println!("   {}", line.join(", "));
        println!("   slowest keystroke (median of {RUNS}): {}", ms(worst));
    }
    Ok(())
}

/// Reads the event stream of `served` on its own thread; each "changed" event is sent on.
fn listen(served: &Served) -> Result<std::sync::mpsc::Receiver<Instant>> {
    let mut stream = TcpStream::connect(("127.0.0.1", served.app.port))?;
    stream.write_all(format!("{}\r\n", served.head("GET", "/events")).as_bytes())?;
    let (tell, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if line == "event: changed" && tell.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    Ok(told)
}

fn live(runtime: &tokio::runtime::Runtime, dir: &Path, leads: usize, changes: usize) -> Result<()> {
    let relay = Relay::start(&dir.join("relay"))?;
    let (home_a, ids, _) = pushed_team(dir, &relay, "live", leads)?;
    let (home_b, store_b) = device(dir, &relay, "live", "boss2", "manager")?;
    drop(store_b);
    sync(&home_b)?;
    let a = Served::start(runtime, &home_a)?;
    let b = Served::start(runtime, &home_b)?;
    let online = |served: &Served| served.app.status().online;
    let started = Instant::now();
    while !(online(&a) && online(&b)) {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the apps did not come online");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let changed = listen(&b)?;
    let mut times = Vec::with_capacity(changes);
    for n in 0..changes {
        let id = &ids[n % ids.len()];
        let summary = format!("bench-visit-{n}");
        let form = format!("channel=visit&summary={summary}");
        let sent = Instant::now();
        let (status, _) = a.request("POST", &format!("/lead/{id}/log"), &form)?;
        if status != 303 {
            bail!("logging through the app: {status}");
        }
        loop {
            changed
                .recv_timeout(Duration::from_secs(30))
                .context("device B heard nothing within 30 s")?;
            let (_, page) = b.request("GET", &format!("/lead/{id}"), "")?;
            if page.contains(&summary) {
                break;
            }
        }
        times.push(sent.elapsed());
    }
    times.sort();
    println!(
        "3. Live: a follow-up logged in device A's app, until device B's open page shows it ({changes} changes, {leads} leads, real relay)"
    );
    println!(
        "   median {}, p95 {}, p99 {}, worst {}",
        ms(percentile(&times, 50)),
        ms(percentile(&times, 95)),
        ms(percentile(&times, 99)),
        ms(times[times.len() - 1])
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let leads: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let changes: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100);
    let scratch = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    pages(&runtime, scratch.path(), leads)?;
    live(&runtime, scratch.path(), leads, changes)?;
    Ok(())
}
