//! The relay under pressure from clients no real fieldsync would be (sockets that send half a
//! request and wait, a device that stops reading, one that pushes a document no lead could
//! be) and from its own files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw;
mod relay;
mod util;

use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldsync_sync::message::{Message, Pull, Push};
use fieldsync_sync::{CloseReason, DocChanges, Heads};
use raw::{Socket, closed_with, connect, hello, next, send};
use relay::{Relay, joined};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A signed-in manager's socket, subscribed to the team's updates.
async fn subscribed(relay: &Relay, token: &str) -> Socket {
    let mut socket = connect(relay).await;
    send(&mut socket, &hello("east", "boss", token)).await;
    assert!(matches!(
        next(&mut socket).await,
        Ok((Message::Welcome(_), _))
    ));
    send(&mut socket, &Message::Pull(Pull { since: 0 })).await;
    loop {
        if let Ok((Message::Offer(offer), _)) = next(&mut socket).await
            && offer.last
        {
            return socket;
        }
    }
}

/// A push of one new document, `lead-N`, holding `text`.
fn push_of(n: u64, text: String) -> (String, Message) {
    let id = format!("lead-{n}");
    let mut doc = AutoCommit::new();
    fieldsync_model::well_formed::put_skeleton(&mut doc, &id, "boss").unwrap();
    doc.put(ROOT, "notes", text).unwrap();
    let push = Push {
        batch: n,
        docs: vec![DocChanges {
            id: id.clone(),
            heads: Heads::new(doc.get_heads()),
            data: doc.save(),
        }],
    };
    (id, Message::Push(push))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_stops_reading_is_closed_while_the_others_keep_receiving() {
    let relay = Relay::start(&[
        "--send-queue-bytes",
        "1048576",
        "--send-timeout",
        "60s",
        "--cache-bytes",
        "8388608",
        "--store-cache-bytes",
        "4194304",
    ]);
    relay.admin(&["team", "create", "east"]);
    let token = relay.member_as("east", "boss", "manager");
    let mut stalled = subscribed(&relay, &token).await;
    let mut reading = subscribed(&relay, &token).await;
    let mut pusher = connect(&relay).await;
    send(&mut pusher, &hello("east", "boss", &token)).await;
    next(&mut pusher).await.unwrap();
    let rss_before = relay.rss();

    // 40 documents of a megabyte each: far more than the stalled device's queue and socket
    // buffers hold. The device that reads gets every one as it is stored.
    for n in 1..=40 {
        let (id, push) = push_of(n, fieldsync_sample::noise(1 << 20, n));
        send(&mut pusher, &push).await;
        assert!(matches!(next(&mut pusher).await, Ok((Message::Ack(_), _))));
        loop {
            if let (Message::Update(update), _) = next(&mut reading).await.unwrap()
                && update.doc.id == id
            {
                break;
            }
        }
    }
    let rss_after = relay.rss();

    // The stalled device, which has read nothing, is closed as too slow...
    relay.wait_for_metric(r#"fieldsync_relay_closes_total{reason="tooslow"}"#, 1.0);
    relay.wait_for_metric("fieldsync_relay_connections", 2.0);
    // ...and what the relay held for it stayed within its queue, not the 40 MB it missed.
    let grown = rss_after.saturating_sub(rss_before);
    assert!(
        grown < 32 << 20,
        "the relay grew {} MB while a device read nothing",
        grown >> 20
    );
    // Once it reads again it gets the frames already under way, then the reason.
    assert_eq!(
        closed_with(&mut stalled).await,
        Some(CloseReason::TooSlow.code())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_no_lead_could_be_is_refused_and_stored_nowhere() {
    let relay = Relay::start(&["--max-document", "1000000"]);
    relay.admin(&["team", "create", "east"]);
    let token = relay.member_as("east", "boss", "manager");
    // Too large as sent, and too large once unpacked although it compresses to almost
    // nothing.
    for (n, text) in [
        (1, fieldsync_sample::noise(2_000_000, 1)),
        (2, "好".repeat(2_000_000)),
    ] {
        let mut socket = connect(&relay).await;
        send(&mut socket, &hello("east", "boss", &token)).await;
        next(&mut socket).await.unwrap();
        let (_, push) = push_of(n, text);
        send(&mut socket, &push).await;
        assert_eq!(
            closed_with(&mut socket).await,
            Some(CloseReason::DocumentTooLarge.code())
        );
    }
    assert_eq!(relay.metric("fieldsync_relay_documents_stored_total"), 0.0);
    // A device pulling the whole feed is offered only the team document.
    let mut socket = subscribed(&relay, &token).await;
    let (_, push) = push_of(3, "a lead's worth of notes".into());
    send(&mut socket, &push).await;
    assert!(matches!(next(&mut socket).await, Ok((Message::Ack(_), _))));
    assert_eq!(relay.metric("fieldsync_relay_documents_stored_total"), 1.0);
}

/// A socket that sends half an HTTP request and then waits.
async fn half_request(relay: &Relay) -> TcpStream {
    let mut socket = TcpStream::connect(&relay.addr).await.unwrap();
    socket
        .write_all(b"GET /sync HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n")
        .await
        .unwrap();
    socket
}

/// Reads what the relay says until it closes the socket, for at most `limit`; gives back the
/// socket if it is still open then.
async fn until_closed(mut socket: TcpStream, limit: Duration) -> Result<String, TcpStream> {
    let mut said = Vec::new();
    match tokio::time::timeout(limit, socket.read_to_end(&mut said)).await {
        Ok(_) => Ok(String::from_utf8_lossy(&said).into_owned()),
        Err(_) => Err(socket),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn half_open_sockets_are_counted_shed_and_closed_at_the_deadline() {
    let deadline = Duration::from_secs(5);
    let relay = Relay::start(&["--max-connections", "100", "--hello-timeout", "5s"]);
    relay.admin(&["team", "create", "east"]);
    let device = joined(&relay, "east", "lina");
    device.add(&["--company", "Still Syncs", "--contact", "S"]);

    // 90 sockets that never finish their request are counted, and a device still syncs.
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..90 {
        stalled.push(half_request(&relay).await);
    }
    // Counted once the relay has accepted them, which may come a moment after they connect.
    relay.wait_for_metric_at_least("fieldsync_relay_sockets", 90.0);
    assert!(device.ok(&["sync"]).contains("sent 1"));

    // Twenty more pass the limit: those over it are told so at once, not left hanging.
    let mut answers = Vec::new();
    for _ in 0..20 {
        let socket = half_request(&relay).await;
        answers.push(tokio::spawn(until_closed(socket, Duration::from_secs(1))));
    }
    let mut refused = 0;
    for answer in answers {
        match answer.await.unwrap() {
            Ok(said) => {
                assert!(said.starts_with("HTTP/1.1 503"), "{said:?}");
                assert!(said.contains("the relay is at its connection limit"));
                refused += 1;
            }
            Err(open) => stalled.push(open),
        }
    }
    assert!(refused >= 10, "{refused} of 20 refused");
    // A device that comes now is told why it cannot sync.
    let full = device.fails(&["sync"]);
    assert!(full.contains("at its connection limit"), "{full}");

    // Every stalled socket is closed by the relay at the deadline.
    let closing: Vec<_> = stalled
        .into_iter()
        .map(|socket| tokio::spawn(until_closed(socket, deadline * 2)))
        .collect();
    for closed in closing {
        assert!(
            closed.await.unwrap().is_ok(),
            "a socket outlived the deadline"
        );
    }
    assert!(opened.elapsed() < deadline * 2);
    device.add(&["--company", "Syncs Again", "--contact", "A"]);
    assert!(device.ok(&["sync"]).contains("sent 1"));
}

#[test]
fn readyz_says_what_stops_the_relay_and_recovers_with_it() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    assert_eq!(relay.get("/readyz"), (200, "ready\n".into()));
    let members = relay.data.path().join("members.json");
    let good = std::fs::read(&members).unwrap();
    std::fs::write(&members, b"{ half a file").unwrap();
    let (status, body) = relay.get("/readyz");
    assert_eq!(status, 503);
    assert!(body.contains("cannot read the members file"), "{body}");
    // Liveness is another question: the process is up.
    assert_eq!(relay.get("/healthz").0, 200);
    std::fs::write(&members, good).unwrap();
    assert_eq!(relay.get("/readyz").0, 200);
}

#[test]
fn an_idle_teams_file_closes_and_opens_again_when_a_device_comes() {
    let relay = Relay::start(&["--team-idle", "2s"]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    lina.add(&["--company", "First", "--contact", "F"]);
    assert!(lina.ok(&["sync"]).contains("sent 1"));
    assert_eq!(relay.metric("fieldsync_relay_team_workers"), 1.0);
    // Nobody is connected: the team's worker stops and its file closes.
    relay.wait_for_metric("fieldsync_relay_team_workers", 0.0);
    lina.add(&["--company", "Second", "--contact", "S"]);
    assert!(lina.ok(&["sync"]).contains("sent 1"));
    let boss = relay::joined_as(&relay, "east", "boss", "manager");
    boss.ok(&["sync"]);
    assert_eq!(boss.list(&[]).len(), 2);
}
