//! Sync benchmarks against the real relay on 127.0.0.1; prints figures, asserts nothing.
//!
//! ```text
//! cargo build --release -p fieldsync -p fieldsync-relay -p fieldsync-bench
//! target/release/fieldsync-sync-bench [LEADS] [LIVE_DEVICES] [IDLE_CONNECTIONS]
//! #                                    defaults: 10000 200 10000
//! ```
//! 1. Bootstrap: a manager's device pushes a LEADS-lead sample team whose leads are spread over
//!    ten reps; a fresh manager's device runs `fieldsync sync` (the whole process) and fetches
//!    it all, and a fresh rep's device fetches the rep's tenth and the pool. Automerge's own
//!    sync protocol, one document after another in one process, is timed on the same documents
//!    for comparison. At LEADS leads the manager's bootstrap is also run against a relay
//!    serving TLS (a certificate made by the benchmark), beside the plain one.
//! 2. Catch-up: 200 leads changed elsewhere and 50 changed on the device, then `fieldsync
//!    sync`; at 1,000 leads and at LEADS leads. A rep's device catches up after 200 changes to
//!    other reps' leads. Bytes on the wire come from the relay's metrics.
//! 3. Handover: the manager hands one rep's tenth (every lead of theirs) to another; the time
//!    for the manager's sync, for the new owner's device to receive them, and for the old
//!    owner's to drop them.
//! 4. Live propagation: LIVE_DEVICES raw protocol clients subscribed to a team; one client
//!    pushes a change 200 times; the time from push to each client's update.
//! 5. Memory: the relay's resident memory with IDLE_CONNECTIONS authenticated idle connections.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use chrono::Utc;
use fieldsync_bench::relay::{Relay, device, pushed_team, sync};
use fieldsync_bench::{ms, percentile};
use fieldsync_model::{Action, ContactChannel, FollowUpDraft, LeadId, Stamp};
use fieldsync_store::{Store, StoreOptions};
use fieldsync_sync::message::{Message, Pull, Push};
use fieldsync_sync::{DocChanges, Heads, Hello, PROTOCOL_VERSION, codec};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Leads on the device at `home`.
fn held(home: &Path) -> Result<usize> {
    Ok(
        Store::open(&home.join("store.redb"), StoreOptions::default())?
            .rows()?
            .len(),
    )
}

/// Logs a follow-up on each of `ids`.
fn touch(store: &mut Store, ids: &[LeadId], who: &str) -> Result<()> {
    let now = Utc::now();
    let stamp = Stamp {
        by: who.to_owned(),
        now,
    };
    for id in ids {
        let log = Action::Log(FollowUpDraft {
            at: now,
            channel: ContactChannel::Phone,
            summary: format!("{who} called about the quote"),
            feedback: None,
            next: None,
            due: None,
            zone: chrono::Offset::fix(&chrono::Utc),
        });
        store.update_lead(id, &[log], &stamp)?;
    }
    Ok(())
}

/// Bootstrap, catch-up and handover for a team of `leads` leads; with `tls`, the manager's
/// bootstrap again against that relay.
fn team_figures(
    dir: &Path,
    relay: &Relay,
    leads: usize,
    compare: bool,
    tls: Option<&Relay>,
) -> Result<()> {
    let team = format!("team{leads}");
    let (source_home, ids, push) = pushed_team(dir, relay, &team, leads)?;
    // Three fresh manager devices in turn, to show the spread; the last one goes on to the
    // catch-up.
    let mut bootstraps = Vec::new();
    let mut fresh_home = PathBuf::new();
    let mut bootstrap_bytes = 0.0;
    for n in 1..=3 {
        let (home, fresh) = device(dir, relay, &team, &format!("fresh{n}"), "manager")?;
        drop(fresh);
        let bytes_before = relay.wire_bytes()?;
        bootstraps.push(sync(&home)?);
        bootstrap_bytes = relay.wire_bytes()? - bytes_before;
        fresh_home = home;
    }
    println!(
        "{leads:>6} leads: first push {:.2} s; bootstrap of a fresh manager's device {} s ({:.0} B/lead on the wire)",
        push.as_secs_f64(),
        seconds(&bootstraps),
        bootstrap_bytes / leads as f64
    );
    if let Some(tls) = tls {
        let tls_dir = dir.join("tls");
        pushed_team(&tls_dir, tls, &team, leads)?;
        let mut over_tls = Vec::new();
        for n in 1..=3 {
            let (home, fresh) = device(&tls_dir, tls, &team, &format!("fresh{n}"), "manager")?;
            drop(fresh);
            over_tls.push(sync(&home)?);
        }
        println!(
            "{leads:>6} leads: the same bootstrap over wss:// (TLS 1.3, rustls) {} s, against {} s over ws://",
            seconds(&over_tls),
            seconds(&bootstraps)
        );
    }
    // A rep's device: the rep's tenth and the pool.
    let (rep_home, rep) = device(dir, relay, &team, "rep0", "rep")?;
    drop(rep);
    let bytes_before = relay.wire_bytes()?;
    let rep_bootstrap = sync(&rep_home)?;
    let rep_bytes = relay.wire_bytes()? - bytes_before;
    let rep_leads = held(&rep_home)?;
    println!(
        "{leads:>6} leads: bootstrap of a rep's device holding {rep_leads} of them (own and pool) {} ({:.0} B/lead held on the wire)",
        ms(rep_bootstrap),
        rep_bytes / rep_leads.max(1) as f64
    );
    if compare {
        automerge_one_by_one(&source_home, &ids)?;
    }
    // 200 changed elsewhere, 50 on this device.
    let mut source = Store::open(&source_home.join("store.redb"), StoreOptions::default())?;
    touch(&mut source, &ids[..200], "boss")?;
    drop(source);
    sync(&source_home)?;
    let mut fresh = Store::open(&fresh_home.join("store.redb"), StoreOptions::default())?;
    touch(&mut fresh, &ids[ids.len() - 50..], "fresh3")?;
    drop(fresh);
    let bytes_before = relay.wire_bytes()?;
    let catch_up = sync(&fresh_home)?;
    let catch_up_bytes = relay.wire_bytes()? - bytes_before;
    println!(
        "{leads:>6} leads: catch-up after 200 remote + 50 local changes {} ({:.0} B on the wire per changed lead)",
        ms(catch_up),
        catch_up_bytes / 250.0
    );
    // 200 changes to other reps' leads: the rep's device, up to date before them, gets only
    // the feed position.
    sync(&rep_home)?;
    let source = Store::open(&source_home.join("store.redb"), StoreOptions::default())?;
    let others: Vec<LeadId> = source
        .rows()?
        .into_iter()
        .filter(|row| row.owner.as_deref().is_some_and(|owner| owner != "rep0"))
        .map(|row| row.id)
        .take(200)
        .collect();
    drop(source);
    let mut source = Store::open(&source_home.join("store.redb"), StoreOptions::default())?;
    touch(&mut source, &others, "boss")?;
    drop(source);
    sync(&source_home)?;
    let bytes_before = relay.wire_bytes()?;
    let rep_catch_up = sync(&rep_home)?;
    let rep_catch_up_bytes = relay.wire_bytes()? - bytes_before;
    println!(
        "{leads:>6} leads: a rep's catch-up after 200 changes to other reps' leads {} ({:.0} B on the wire in all)",
        ms(rep_catch_up),
        rep_catch_up_bytes
    );
    handover_figures(dir, relay, &team, &source_home, &rep_home)
}

/// The manager hands every lead of rep1's to rep0: the manager's sync, rep0's device receiving
/// them, rep1's device dropping them.
fn handover_figures(
    dir: &Path,
    relay: &Relay,
    team: &str,
    manager_home: &Path,
    new_owner_home: &Path,
) -> Result<()> {
    let (old_owner_home, old_owner) = device(dir, relay, team, "rep1", "rep")?;
    drop(old_owner);
    sync(&old_owner_home)?;
    sync(manager_home)?;
    let before_old = held(&old_owner_home)?;
    let before_new = held(new_owner_home)?;
    let mut manager = Store::open(&manager_home.join("store.redb"), StoreOptions::default())?;
    let stamp = Stamp {
        by: "boss".to_owned(),
        now: Utc::now(),
    };
    // Every lead of rep1's, closed ones included (`handover` moves the open ones).
    let assign = Action::Assign {
        owner: Some("rep0".to_owned()),
        at: stamp.now,
    };
    let updates: Vec<(LeadId, Vec<Action>)> = manager
        .rows()?
        .into_iter()
        .filter(|row| row.owner.as_deref() == Some("rep1"))
        .map(|row| (row.id, vec![assign.clone()]))
        .collect();
    let started = Instant::now();
    let moved = manager.update_leads(&updates, &stamp)?;
    let handed = started.elapsed();
    drop(manager);
    let manager_sync = sync(manager_home)?;
    let arrive = sync(new_owner_home)?;
    let leave = sync(&old_owner_home)?;
    println!(
        "handover of {moved} leads: on the manager's device {}, its sync {}; the new owner's device receives them in {} ({before_new} -> {} leads), the old owner's drops them in {} ({before_old} -> {} leads)",
        ms(handed),
        ms(manager_sync),
        ms(arrive),
        held(new_owner_home)?,
        ms(leave),
        held(&old_owner_home)?
    );
    Ok(())
}

fn seconds(durations: &[Duration]) -> String {
    durations
        .iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Automerge's own sync protocol, one document after another, in one process.
fn automerge_one_by_one(home: &Path, ids: &[LeadId]) -> Result<()> {
    let store = Store::open(&home.join("store.redb"), StoreOptions::default())?;
    let docs: Vec<Automerge> = ids
        .iter()
        .map(|id| Ok(Automerge::load(&store.load(id)?.save())?))
        .collect::<Result<_>>()?;
    let started = Instant::now();
    let mut rounds = 0;
    for doc in &docs {
        let mut fresh = Automerge::new();
        let (mut ours, mut theirs) = (automerge::sync::State::new(), automerge::sync::State::new());
        loop {
            let mut moved = false;
            if let Some(message) = doc.generate_sync_message(&mut ours) {
                fresh.receive_sync_message(&mut theirs, message)?;
                moved = true;
            }
            if let Some(message) = fresh.generate_sync_message(&mut theirs) {
                let mut doc = doc.clone();
                doc.receive_sync_message(&mut ours, message)?;
                moved = true;
            }
            rounds += 1;
            if !moved {
                break;
            }
        }
    }
    println!(
        "{:>6} leads: automerge's sync protocol one document at a time, in memory, no network: {:.2} s ({rounds} message rounds)",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(relay: &Relay, team: &str, member: &str, token: &str) -> Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(relay.url()).await?;
    let hello = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        team: team.into(),
        member: member.into(),
        device: member.into(),
        token: token.into(),
        ticket: String::new(),
    });
    socket
        .send(Ws::Binary(codec::encode(&hello).into()))
        .await?;
    match socket.next().await {
        Some(Ok(Ws::Binary(frame))) if matches!(codec::decode(&frame), Ok(Message::Welcome(_))) => {
            Ok(socket)
        }
        other => bail!("no welcome: {other:?}"),
    }
}

/// The next protocol message on `socket`.
async fn receive(socket: &mut Socket) -> Result<Message> {
    loop {
        match socket.next().await {
            Some(Ok(Ws::Binary(frame))) => return Ok(codec::decode(&frame)?),
            Some(Ok(_)) => {}
            other => bail!("connection ended: {other:?}"),
        }
    }
}

async fn live_propagation(relay: &Relay, devices: usize) -> Result<()> {
    relay.admin(&["team", "create", "live"])?;
    let token = relay.member("live", "device", "manager")?;
    let mut listeners = Vec::with_capacity(devices);
    for _ in 0..devices {
        let mut socket = connect(relay, "live", "device", &token).await?;
        socket
            .send(Ws::Binary(
                codec::encode(&Message::Pull(Pull { since: 0 })).into(),
            ))
            .await?;
        while !matches!(receive(&mut socket).await?, Message::Offer(offer) if offer.last) {}
        listeners.push(socket);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for mut socket in listeners {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(message) = receive(&mut socket).await {
                if let Message::Update(update) = message {
                    let _ = tx.send((update.seq, Instant::now()));
                }
            }
        });
    }
    let mut pusher = connect(relay, "live", "device", &token).await?;
    let mut doc = fieldsync_bench::lead_doc("live-lead")?;
    let mut latencies = Vec::new();
    let rounds = 200;
    // The first push carries the lead's creation too.
    let mut before = Vec::new();
    for round in 0..rounds {
        doc.put(ROOT, "phone", format!("1380000{round:04}"))?;
        doc.commit();
        let push = Message::Push(Push {
            batch: round + 1,
            docs: vec![DocChanges {
                id: "live-lead".into(),
                heads: Heads::new(doc.get_heads()),
                data: doc.save_after(&before),
            }],
        });
        before = doc.get_heads();
        let sent = Instant::now();
        pusher.send(Ws::Binary(codec::encode(&push).into())).await?;
        for _ in 0..devices {
            let (_, at) = rx.recv().await.context("listener gone")?;
            latencies.push(at - sent);
        }
        while !matches!(receive(&mut pusher).await?, Message::Ack(_)) {}
    }
    latencies.sort();
    println!(
        "live propagation to {devices} connected devices, {rounds} changes: p50 {}, p99 {}, max {}",
        ms(percentile(&latencies, 50)),
        ms(percentile(&latencies, 99)),
        ms(percentile(&latencies, 100))
    );
    Ok(())
}

async fn idle_memory(relay: &Relay, connections: usize) -> Result<()> {
    relay.admin(&["team", "create", "idle"])?;
    let token = relay.member("idle", "device", "manager")?;
    let before = relay.rss_mb()?;
    let mut sockets = Vec::with_capacity(connections);
    let started = Instant::now();
    while sockets.len() < connections {
        let batch = (connections - sockets.len()).min(500);
        let opened = futures_util::future::join_all(
            (0..batch).map(|_| connect(relay, "idle", "device", &token)),
        )
        .await;
        for socket in opened {
            sockets.push(socket?);
        }
    }
    let after = relay.rss_mb()?;
    println!(
        "relay memory: {before:.0} MB before, {after:.0} MB with {} idle authenticated connections ({:.1} KB each; opened in {:.1} s)",
        sockets.len(),
        (after - before) * 1024.0 / sockets.len() as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .context("arguments are numbers: LEADS LIVE_DEVICES IDLE")
        })
        .collect::<Result<_>>()?;
    let leads = args.first().copied().unwrap_or(10_000);
    let live = args.get(1).copied().unwrap_or(200);
    let idle = args.get(2).copied().unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let relay = Relay::start(&dir.path().join("relay"))?;
    println!("relay {} (pid {})", relay.url(), relay.pid());
    team_figures(dir.path(), &relay, 1_000.min(leads), false, None)?;
    if leads > 1_000 {
        let tls = Relay::start_tls(&dir.path().join("relay-tls"))?;
        team_figures(dir.path(), &relay, leads, true, Some(&tls))?;
    }
    println!(
        "relay memory after the teams above: {:.0} MB",
        relay.rss_mb()?
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(live_propagation(&relay, live))?;
    runtime.block_on(idle_memory(&relay, idle))?;
    Ok(())
}
