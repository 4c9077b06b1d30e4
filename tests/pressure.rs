//! The relay under pressure from devices no real fieldsync would be: one that stops reading,
//! one that pushes a document no lead could be.

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
use relay::Relay;

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

/// `len` characters no compressor can shrink much, different for each `seed`.
fn noise(len: usize, mut seed: u64) -> String {
    seed |= 1;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'!' + (seed % 90) as u8)
        })
        .collect()
}

/// A push of one new document, `lead-N`, holding `text`.
fn push_of(n: u64, text: String) -> (String, Message) {
    let id = format!("lead-{n}");
    let mut doc = AutoCommit::new();
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

/// Waits, at most 10 s, until `metric` reads `value`.
fn wait_for_metric(relay: &Relay, metric: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.metric(metric) != value {
        assert!(Instant::now() < deadline, "{metric} never reached {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
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
        let (id, push) = push_of(n, noise(1 << 20, n));
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
    wait_for_metric(
        &relay,
        r#"fieldsync_relay_closes_total{reason="tooslow"}"#,
        1.0,
    );
    wait_for_metric(&relay, "fieldsync_relay_connections", 2.0);
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
    for (n, text) in [(1, noise(2_000_000, 1)), (2, "好".repeat(2_000_000))] {
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
