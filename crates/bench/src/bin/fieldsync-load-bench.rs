//! One relay's limits, driven by raw protocol clients on 127.0.0.1; prints figures, asserts
//! nothing.
//!
//! ```text
//! cargo build --release -p fieldsync-relay -p fieldsync-bench
//! target/release/fieldsync-load-bench [MAX_CONNECTIONS] [STAGE_SECONDS] [FAILED_HELLOS]
//! #                                    defaults: 19000 5 100000
//! ```
//! 1. Throughput: for teams x devices of 1x10, 10x10, 50x10 and 10x50, every device a
//!    manager's device subscribed to its team's updates and pushing a change to a lead of its
//!    own. The offered rate doubles each stage (50, 100, 200... pushes a second across all
//!    devices) until the relay falls behind (acknowledged under 90 % of offered) or a push's
//!    p99 time to its acknowledgement passes 1 s. Each stage prints pushes offered and
//!    acknowledged a second, acknowledgement p50/p99, the p99 from a push to its teammates'
//!    updates, and the relay's resident memory.
//! 2. A large document: a device pushes leads as large as the relay accepts (just under
//!    `--max-document`, 4 MiB, of text no compressor shrinks) while a teammate pushes small
//!    changes; the teammate's acknowledgement times, against the same without the large pushes.
//! 3. Failed sign-ins, at a relay of their own with the default throttle (the others allow any
//!    number of sign-ins): FAILED_HELLOS hellos that fail, from 200 source addresses, half with
//!    16 KiB names, half with made-up member names at the length bound or a real member's name
//!    and a wrong token; the relay's memory before and after, and the throttle's windows.
//! 4. Connections: idle authenticated connections over 100 teams, opened 1,000 at a time until
//!    MAX_CONNECTIONS or the relay's memory passes 500 MB, with its memory at each step (the
//!    clients bind 127.0.0.x source addresses so they are not limited to one address's ports).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldsync_bench::relay::Relay;
use fieldsync_bench::{lead_doc, ms, percentile};
use fieldsync_sync::message::{Message, Pull, Push};
use fieldsync_sync::{DocChanges, Heads, Hello, PROTOCOL_VERSION, codec};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message as Ws;

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Memory the connection count is measured up to.
const MEMORY_MB: f64 = 500.0;

/// A signed-in, subscribed socket of `member` in `team`, from source address `source`.
async fn connect(relay: &Relay, source: Ipv4Addr, team: &str, token: &str) -> Result<Socket> {
    let addr: SocketAddr = relay.addr.parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(addr).await?;
    // As fieldsync's own client does (tokio-tungstenite's `disable_nagle`).
    stream.set_nodelay(true)?;
    let (mut socket, _) = tokio_tungstenite::client_async(relay.url(), stream).await?;
    let hello = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        team: team.into(),
        member: "boss".into(),
        device: format!("load-{}", rand_id()),
        token: token.into(),
        ticket: String::new(),
    });
    socket
        .send(Ws::Binary(codec::encode(&hello).into()))
        .await?;
    match receive(&mut socket).await? {
        Message::Welcome(_) => Ok(socket),
        other => bail!("no welcome: {}", other.kind()),
    }
}

fn rand_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Pulls the team's feed and reads it to its last offer: the socket then gets live updates.
async fn subscribe(socket: &mut Socket) -> Result<()> {
    let pull = Message::Pull(Pull { since: 0 });
    socket.send(Ws::Binary(codec::encode(&pull).into())).await?;
    while !matches!(receive(socket).await?, Message::Offer(offer) if offer.last) {}
    Ok(())
}

/// The next protocol message on `socket`.
async fn receive(socket: &mut Socket) -> Result<Message> {
    loop {
        match socket.next().await {
            Some(Ok(Ws::Binary(frame))) => return Ok(codec::decode(&frame)?),
            Some(Ok(Ws::Close(frame))) => bail!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            other => bail!("connection ended: {other:?}"),
        }
    }
}

/// What one stage measured.
#[derive(Default)]
struct Stage {
    acks: Vec<Duration>,
    updates: Vec<Duration>,
    failures: usize,
}

/// One stage: every device pushes at `rate / devices` a second for `length`; returns what was
/// measured. `sent` holds each lead's last push time, for its teammates' update latency.
async fn stage(
    devices: &mut [Option<Device>],
    rate: f64,
    length: Duration,
    sent: &Arc<Mutex<HashMap<String, Instant>>>,
) -> Stage {
    let count = devices.len();
    let each = Duration::from_secs_f64(count as f64 / rate);
    let stage = Arc::new(Mutex::new(Stage::default()));
    let mut tasks = Vec::new();
    for (n, slot) in devices.iter_mut().enumerate() {
        let Some(mut device) = slot.take() else {
            continue;
        };
        let stage = stage.clone();
        let sent = sent.clone();
        // Spread the devices' first pushes over one period.
        let offset = each.mul_f64(n as f64 / count as f64);
        tasks.push(tokio::spawn(async move {
            let outcome = device.run(each, offset, length, &sent, &stage).await;
            if outcome.is_err() {
                lock(&stage).failures += 1;
            }
            (n, outcome.ok().map(|()| device))
        }));
    }
    for task in tasks {
        if let Ok((n, device)) = task.await {
            devices[n] = device;
        }
    }
    Arc::try_unwrap(stage)
        .map(|stage| stage.into_inner().unwrap_or_default())
        .unwrap_or_default()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One device: its socket and the lead it edits.
struct Device {
    socket: Socket,
    lead: String,
    doc: AutoCommit,
    /// The heads of the lead the relay was sent (none at first: the first push carries the
    /// lead's creation).
    pushed: Vec<automerge::ChangeHash>,
    batch: u64,
}

impl Device {
    /// Pushes a follow-up-sized change to its lead.
    async fn push_change(&mut self) -> Result<()> {
        let before = std::mem::take(&mut self.pushed);
        self.batch += 1;
        self.doc
            .put(ROOT, "notes", format!("visit {} on the quote", self.batch))?;
        self.doc.commit();
        let push = Message::Push(Push {
            batch: self.batch,
            docs: vec![DocChanges {
                id: self.lead.clone(),
                heads: Heads::new(self.doc.get_heads()),
                data: self.doc.save_after(&before),
            }],
        });
        self.pushed = self.doc.get_heads();
        self.socket
            .send(Ws::Binary(codec::encode(&push).into()))
            .await?;
        Ok(())
    }

    /// Pushes every `each` (starting after `offset`) for `length`, reading acks and updates;
    /// then waits for its last acknowledgement.
    async fn run(
        &mut self,
        each: Duration,
        offset: Duration,
        length: Duration,
        sent: &Mutex<HashMap<String, Instant>>,
        stage: &Mutex<Stage>,
    ) -> Result<()> {
        let started = Instant::now();
        let end = started + length;
        let mut next = started + offset;
        let mut waiting: HashMap<u64, Instant> = HashMap::new();
        loop {
            // The last push is the last one due before the stage's end.
            let pushing = next < end;
            if !pushing && waiting.is_empty() {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)), if pushing => {
                    next += each;
                    let now = Instant::now();
                    waiting.insert(self.batch + 1, now);
                    lock(sent).insert(self.lead.clone(), now);
                    self.push_change().await?;
                }
                message = receive(&mut self.socket) => match message? {
                    Message::Ack(ack) => {
                        if let Some(at) = waiting.remove(&ack.batch) {
                            lock(stage).acks.push(at.elapsed());
                        }
                    }
                    Message::Update(update) => {
                        // An update of the last stage's push, read only now, is not timed.
                        let at = lock(sent).get(&update.doc.id).copied();
                        if let Some(at) = at.filter(|at| *at >= started) {
                            lock(stage).updates.push(at.elapsed());
                        }
                    }
                    _ => {}
                },
            }
        }
    }
}

/// Teams x devices, each device subscribed; the rate doubles each stage until the relay
/// falls behind.
async fn throughput(relay: &Relay, teams: usize, per_team: usize, length: Duration) -> Result<()> {
    let mut devices = Vec::new();
    for t in 0..teams {
        let team = format!("load-{teams}x{per_team}-{t}");
        relay.admin(&["team", "create", &team])?;
        let token = relay.member(&team, "boss", "manager")?;
        for d in 0..per_team {
            let mut socket = connect(relay, Ipv4Addr::LOCALHOST, &team, &token).await?;
            subscribe(&mut socket).await?;
            let lead = format!("{team}-lead-{d}");
            devices.push(Some(Device {
                socket,
                doc: lead_doc(&lead)?,
                lead,
                pushed: Vec::new(),
                batch: 0,
            }));
        }
    }
    let sent = Arc::new(Mutex::new(HashMap::new()));
    let mut rate = 50.0;
    let mut best = 0.0f64;
    loop {
        let mut measured = stage(&mut devices, rate, length, &sent).await;
        // Every push is made within the stage's length; those acknowledged late count, and
        // show in the latencies.
        let took = length.as_secs_f64();
        measured.acks.sort();
        measured.updates.sort();
        let acked = measured.acks.len() as f64 / took;
        let p99 = percentile(&measured.acks, 99);
        println!(
            "  {teams:>3} teams x {per_team:>2} devices, offered {rate:>5.0}/s: acknowledged {acked:>6.0}/s, ack p50 {} p99 {}, teammates' update p99 {}, relay {:.0} MB{}",
            ms(percentile(&measured.acks, 50)),
            ms(p99),
            ms(percentile(&measured.updates, 99)),
            relay.rss_mb()?,
            match measured.failures {
                0 => String::new(),
                n => format!(", {n} devices failed"),
            }
        );
        let behind = acked < rate * 0.9 || p99 > Duration::from_secs(1) || measured.failures > 0;
        if !behind {
            best = best.max(acked);
        }
        if behind || rate >= 25_600.0 {
            break;
        }
        rate *= 2.0;
    }
    println!(
        "  => {teams} teams x {per_team} devices: {best:.0} pushes/s sustained ({} devices receiving each push's update)",
        per_team - 1
    );
    Ok(())
}

/// A teammate's small pushes, one after another, at least `rounds` of them and until `done`;
/// their acknowledgement times.
async fn small_pushes(
    device: &mut Device,
    rounds: usize,
    done: impl Fn() -> bool,
) -> Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(rounds);
    while times.len() < rounds || !done() {
        let sent = Instant::now();
        device.push_change().await?;
        while !matches!(receive(&mut device.socket).await?, Message::Ack(_)) {}
        times.push(sent.elapsed());
    }
    times.sort();
    Ok(times)
}

/// A teammate's small pushes, alone and while another device pushes the largest leads.
async fn large_document(relay: &Relay) -> Result<()> {
    relay.admin(&["team", "create", "large"])?;
    let token = relay.member("large", "boss", "manager")?;
    let mut teammate = Device {
        socket: connect(relay, Ipv4Addr::LOCALHOST, "large", &token).await?,
        lead: "small-lead".into(),
        doc: lead_doc("small-lead")?,
        pushed: Vec::new(),
        batch: 0,
    };
    let alone = small_pushes(&mut teammate, 100, || true).await?;
    let mut large = connect(relay, Ipv4Addr::LOCALHOST, "large", &token).await?;
    let pushing = tokio::spawn(async move {
        let mut took = Vec::new();
        for n in 0..5u64 {
            let mut doc = lead_doc(&format!("large-lead-{n}"))?;
            doc.put(ROOT, "notes", fieldsync_sample::noise(4_000_000, n + 1))?;
            let push = Message::Push(Push {
                batch: n + 1,
                docs: vec![DocChanges {
                    id: format!("large-lead-{n}"),
                    heads: Heads::new(doc.get_heads()),
                    data: doc.save(),
                }],
            });
            let sent = Instant::now();
            large.send(Ws::Binary(codec::encode(&push).into())).await?;
            while !matches!(receive(&mut large).await?, Message::Ack(_)) {}
            took.push(sent.elapsed());
        }
        anyhow::Ok(took)
    });
    let during = small_pushes(&mut teammate, 100, || pushing.is_finished()).await?;
    let large = pushing.await??;
    println!(
        "  a teammate's small push, acknowledged: alone p50 {} p99 {}; while 5 leads of 4 MB are pushed ({} pushes) p50 {} p99 {} max {}",
        ms(percentile(&alone, 50)),
        ms(percentile(&alone, 99)),
        during.len(),
        ms(percentile(&during, 50)),
        ms(percentile(&during, 99)),
        ms(percentile(&during, 100)),
    );
    println!(
        "  each 4 MB lead took {} to be acknowledged; relay {:.0} MB",
        large.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", "),
        relay.rss_mb()?
    );
    Ok(())
}

/// One hello that fails: its close code, or `None` if the relay let it in.
async fn failed_hello(relay: &Relay, source: Ipv4Addr, hello: Hello) -> Result<Option<u16>> {
    let addr: SocketAddr = relay.addr.parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(addr).await?;
    let (mut socket, _) = tokio_tungstenite::client_async(relay.url(), stream).await?;
    socket
        .send(Ws::Binary(codec::encode(&Message::Hello(hello)).into()))
        .await?;
    loop {
        match socket.next().await {
            Some(Ok(Ws::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
            Some(Ok(Ws::Binary(_))) => return Ok(None),
            Some(Ok(_)) => {}
            _ => return Ok(Some(0)),
        }
    }
}

/// `count` failed sign-ins, 200 at a time from 200 source addresses, at a relay of its own with
/// the default throttle: half with 16 KiB names (refused before anything is kept), half with
/// made-up member names at the length bound or a real member's name with wrong tokens; the
/// relay's memory before and after.
async fn failed_sign_ins(data: &std::path::Path, count: usize) -> Result<()> {
    let relay = &Relay::start_with(data, &["--connects-per-minute", "120"])?;
    relay.admin(&["team", "create", "guessed"])?;
    relay.member("guessed", "lina", "rep")?;
    let before = relay.rss_mb()?;
    let long = "名".repeat(5_400);
    let started = Instant::now();
    let mut codes: HashMap<Option<u16>, usize> = HashMap::new();
    let mut sent = 0;
    while sent < count {
        let batch = (count - sent).min(200);
        let tried = futures_util::future::join_all((0..batch).map(|n| {
            let k = sent + n;
            let member = match k % 4 {
                0 | 1 => long.clone(),
                2 => format!("{k:0>250}"),
                _ => "lina".to_owned(),
            };
            let hello = Hello {
                version: PROTOCOL_VERSION,
                team: "guessed".into(),
                member,
                device: if k % 4 == 1 {
                    long.clone()
                } else {
                    format!("guess-{k}")
                },
                token: format!("wrong-{k}"),
                ticket: String::new(),
            };
            failed_hello(
                relay,
                Ipv4Addr::new(127, 0, 1, 1 + ((k / 4) % 200) as u8),
                hello,
            )
        }))
        .await;
        for code in tried {
            *codes.entry(code?).or_default() += 1;
        }
        sent += batch;
    }
    let mut codes: Vec<_> = codes.into_iter().collect();
    codes.sort();
    println!(
        "  {count} failed hellos in {:.1} s, closed with {}",
        started.elapsed().as_secs_f64(),
        codes
            .iter()
            .map(|(code, n)| format!("{n}x {}", code.map_or("welcome".into(), |c| c.to_string())))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  relay {before:.0} MB before, {:.0} MB after; the throttle keeps {} windows",
        relay.rss_mb()?,
        relay.metric("fieldsync_relay_sign_in_windows")?
    );
    Ok(())
}

/// Idle connections until `most` or the relay's memory passes [`MEMORY_MB`].
async fn connections(relay: &Relay, most: usize) -> Result<()> {
    let teams = 100;
    let mut tokens = Vec::new();
    for t in 0..teams {
        let team = format!("idle-{t}");
        relay.admin(&["team", "create", &team])?;
        tokens.push((team.clone(), relay.member(&team, "boss", "manager")?));
    }
    let before = relay.rss_mb()?;
    println!("  relay before: {before:.0} MB");
    let mut sockets = Vec::with_capacity(most);
    while sockets.len() < most {
        let batch = (most - sockets.len()).min(1_000);
        let opened = futures_util::future::join_all((0..batch).map(|n| {
            let k = sockets.len() + n;
            let (team, token) = &tokens[k % teams];
            // 20,000 connections per source address at most: its ephemeral ports.
            let source = Ipv4Addr::new(127, 0, 0, 2 + (k / 20_000) as u8);
            connect(relay, source, team, token)
        }))
        .await;
        let mut failed = None;
        for socket in opened {
            match socket {
                Ok(socket) => sockets.push(socket),
                Err(err) => failed = Some(err),
            }
        }
        let rss = relay.rss_mb()?;
        println!(
            "  {:>6} connections: relay {rss:.0} MB ({:.1} KB each)",
            sockets.len(),
            (rss - before) * 1024.0 / sockets.len().max(1) as f64
        );
        if let Some(err) = failed {
            println!("  stopped: a connection failed: {err:#}");
            break;
        }
        if rss > MEMORY_MB {
            println!("  stopped: past {MEMORY_MB:.0} MB");
            break;
        }
    }
    let rss = relay.rss_mb()?;
    let each = (rss - before) / sockets.len().max(1) as f64;
    println!(
        "  => {} connections in {rss:.0} MB; at {:.1} KB each, {MEMORY_MB:.0} MB holds about {:.0} (extrapolated when the count stopped first)",
        sockets.len(),
        each * 1024.0,
        (MEMORY_MB - before) / each.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .context("arguments are numbers: MAX_CONNECTIONS STAGE_SECONDS FAILED_HELLOS")
        })
        .collect::<Result<_>>()?;
    let most = args.first().copied().unwrap_or(19_000) as usize;
    let length = Duration::from_secs(args.get(1).copied().unwrap_or(5));
    let hellos = args.get(2).copied().unwrap_or(100_000) as usize;
    let open_files = fieldsync_relay::sockets::raise_fd_limit();
    let dir = tempfile::tempdir()?;
    let relay = Relay::start_with(
        &dir.path().join("relay"),
        &["--max-connections", "1000000", "--team-idle", "1h"],
    )?;
    println!(
        "relay {} (pid {}), this machine: {} cores, {} open files allowed per process",
        relay.url(),
        relay.pid(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        open_files.map_or("unlimited".to_owned(), |n| n.to_string())
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "1. Throughput (pushes of one follow-up-sized change, each acknowledged once durable)"
    );
    for (teams, per_team) in [(1, 10), (10, 10), (50, 10), (10, 50)] {
        runtime.block_on(throughput(&relay, teams, per_team, length))?;
    }
    println!("2. A large document beside a teammate's small changes");
    runtime.block_on(large_document(&relay))?;
    println!("3. Failed sign-ins, half of them with 16 KiB names");
    runtime.block_on(failed_sign_ins(&dir.path().join("guessed"), hellos))?;
    println!("4. Idle authenticated connections, up to {most} or {MEMORY_MB:.0} MB");
    runtime.block_on(connections(&relay, most))?;
    Ok(())
}
