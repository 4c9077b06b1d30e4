//! What crosses the wire, seen by a raw websocket client speaking the protocol: a team's
//! documents never reach another team, a rep receives no byte of another rep's lead, a rep's
//! push that takes another rep's lead is refused and stored nowhere, and bad input closes only
//! the connection that sent it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw;
mod relay;
mod util;

use std::collections::BTreeSet;
use std::time::Duration;

use fieldsync_model::TEAM_DOC_ID;
use fieldsync_sync::message::{Message, Pull, Want, Wanted};
use fieldsync_sync::{CloseReason, Heads, Hello, PROTOCOL_VERSION, codec};
use futures_util::SinkExt;
use raw::{Socket, closed_with, connect, hello, next, send};
use relay::{Relay, joined, joined_as};
use tokio_tungstenite::tungstenite::Message as Ws;

/// Pulls everything from the start and asks for every offered document; returns the
/// offered ids and every frame's bytes.
async fn pull_everything(socket: &mut Socket) -> (BTreeSet<String>, Vec<Vec<u8>>) {
    send(socket, &Message::Pull(Pull { since: 0 })).await;
    let mut offered = BTreeSet::new();
    let mut frames = Vec::new();
    loop {
        let (message, bytes) = next(socket).await.unwrap();
        frames.push(bytes);
        let Message::Offer(offer) = message else {
            panic!("expected an offer")
        };
        offered.extend(offer.entries.iter().map(|e| e.id.clone()));
        if offer.last {
            break;
        }
    }
    let docs = offered
        .iter()
        .map(|id| Wanted {
            id: id.clone(),
            have: Heads::default(),
        })
        .collect();
    send(socket, &Message::Want(Want { request: 1, docs })).await;
    loop {
        let (message, bytes) = next(socket).await.unwrap();
        frames.push(bytes);
        if let Message::Docs(docs) = message
            && docs.last
        {
            break;
        }
    }
    (offered, frames)
}

fn contains(frames: &[Vec<u8>], needle: &[u8]) -> bool {
    frames
        .iter()
        .any(|frame| frame.windows(needle.len()).any(|w| w == needle))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_never_receives_another_teams_documents() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "alpha"]);
    relay.admin(&["team", "create", "beta"]);
    let alpha = joined(&relay, "alpha", "ann");
    let beta = joined(&relay, "beta", "bob");
    let alpha_lead = alpha.add(&["--company", "Alpha Works", "--contact", "A"]);
    let beta_lead = beta.add(&["--company", "Beta Secret Co", "--contact", "B"]);
    alpha.ok(&["sync"]);
    beta.ok(&["sync"]);
    // A manager of alpha sees every lead of alpha, and nothing of beta.
    let token = relay.member_as("alpha", "raw", "manager");

    // Claiming the other team with this token is refused before anything flows.
    let mut socket = connect(&relay).await;
    send(&mut socket, &hello("beta", "raw", &token)).await;
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Unauthorized.code())
    );

    let mut socket = connect(&relay).await;
    send(&mut socket, &hello("alpha", "raw", &token)).await;
    let (welcome, _) = next(&mut socket).await.unwrap();
    assert!(matches!(welcome, Message::Welcome(_)));
    let (offered, mut frames) = pull_everything(&mut socket).await;
    assert_eq!(
        offered,
        BTreeSet::from([alpha_lead.clone(), TEAM_DOC_ID.to_owned()])
    );
    assert!(contains(&frames, b"Alpha Works"));
    // The team document lists alpha's members, never beta's.
    assert!(!contains(&frames, b"bob"));

    // Live: both teams change something; only alpha's change reaches this connection.
    beta.ok(&[
        "log",
        &beta_lead,
        "--channel",
        "visit",
        "--summary",
        "beta only",
    ]);
    beta.ok(&["sync"]);
    alpha.ok(&[
        "log",
        &alpha_lead,
        "--channel",
        "visit",
        "--summary",
        "alpha live",
    ]);
    alpha.ok(&["sync"]);
    loop {
        let (message, bytes) = next(&mut socket).await.unwrap();
        frames.push(bytes);
        if let Message::Update(update) = message {
            assert_eq!(update.doc.id, alpha_lead);
            break;
        }
    }
    assert!(!contains(&frames, beta_lead.as_bytes()));
    assert!(!contains(&frames, b"Beta Secret Co"));
    assert!(!contains(&frames, b"beta only"));
}

/// A raw client authenticated as a rep, past the welcome.
async fn rep_socket(relay: &Relay, team: &str, member: &str, token: &str) -> Socket {
    let mut socket = connect(relay).await;
    send(&mut socket, &hello(team, member, token)).await;
    assert!(matches!(
        next(&mut socket).await,
        Ok((Message::Welcome(_), _))
    ));
    socket
}

/// Pulls after `since` and collects the frames up to the last offer; returns the offered ids,
/// the last offer's position and the frames.
async fn offers_after(socket: &mut Socket, since: u64) -> (BTreeSet<String>, u64, Vec<Vec<u8>>) {
    send(socket, &Message::Pull(Pull { since })).await;
    let mut offered = BTreeSet::new();
    let mut frames = Vec::new();
    loop {
        let (message, bytes) = next(socket).await.unwrap();
        frames.push(bytes);
        if let Message::Offer(offer) = message {
            offered.extend(offer.entries.iter().map(|e| e.id.clone()));
            if offer.last {
                return (offered, offer.upto, frames);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rep_receives_no_byte_of_another_reps_lead_on_bootstrap_catch_up_or_live() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let lina = joined(&relay, "east", "lina");
    let secret = lina.add(&[
        "--company",
        "Lina Secret Co",
        "--contact",
        "Zhou",
        "--phone",
        "13912345678",
    ]);
    let pooled = manager.add(&["--company", "Pool Works", "--contact", "P"]);
    manager.ok(&["lead", "edit", &pooled, "--unassign"]);
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    let token = relay.member("east", "raw");
    let secret_bytes: [&[u8]; 3] = [secret.as_bytes(), b"Lina Secret Co", b"13912345678"];

    // Bootstrap: the pool lead and the team document, nothing of lina's.
    let mut socket = rep_socket(&relay, "east", "raw", &token).await;
    let (offered, frames) = pull_everything(&mut socket).await;
    assert_eq!(
        offered,
        BTreeSet::from([pooled.clone(), TEAM_DOC_ID.to_owned()])
    );
    assert!(contains(&frames, b"Pool Works"));
    for bytes in secret_bytes {
        assert!(
            !contains(&frames, bytes),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    // Asking for lina's lead by id gets nothing of it.
    let want = Want {
        request: 2,
        docs: vec![Wanted {
            id: secret.clone(),
            have: Heads::default(),
        }],
    };
    send(&mut socket, &Message::Want(want)).await;
    let (answer, bytes) = next(&mut socket).await.unwrap();
    assert!(
        matches!(&answer, Message::Docs(docs) if docs.docs.is_empty()),
        "{answer:?}"
    );
    assert!(!contains(&[bytes], b"Lina Secret Co"));
    drop(socket);

    // Catch-up: lina changes her lead; a reconnect from the last position offers nothing.
    let (_, upto, _) = offers_after(&mut rep_socket(&relay, "east", "raw", &token).await, 0).await;
    lina.ok(&[
        "log",
        &secret,
        "--channel",
        "visit",
        "--summary",
        "lina only",
    ]);
    lina.ok(&["sync"]);
    let mut socket = rep_socket(&relay, "east", "raw", &token).await;
    let (offered, _, mut frames) = offers_after(&mut socket, upto).await;
    assert!(offered.is_empty(), "{offered:?}");

    // Live: lina changes her lead again, then the manager changes the pool lead; the pool
    // lead's update arrives and nothing of lina's came before it.
    lina.ok(&[
        "log",
        &secret,
        "--channel",
        "phone",
        "--summary",
        "lina live",
    ]);
    lina.ok(&["sync"]);
    manager.ok(&[
        "log",
        &pooled,
        "--channel",
        "visit",
        "--summary",
        "pool live",
    ]);
    manager.ok(&["sync"]);
    loop {
        let (message, bytes) = next(&mut socket).await.unwrap();
        frames.push(bytes);
        if let Message::Update(update) = message {
            assert_eq!(update.doc.id, pooled);
            break;
        }
    }
    for bytes in secret_bytes
        .iter()
        .chain([&b"lina only"[..], b"lina live"].iter())
    {
        assert!(
            !contains(&frames, bytes),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reps_push_taking_another_reps_lead_is_refused_and_stored_nowhere() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    // A pool lead both reps received; lina claims it.
    let lead = manager.add(&["--company", "Claimed Co", "--contact", "C"]);
    manager.ok(&["lead", "edit", &lead, "--unassign"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);
    lina.ok(&["sync"]);
    lina.ok(&["lead", "edit", &lead, "--owner", "lina"]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    assert!(
        wang.list(&[]).is_empty(),
        "wang's device dropped the claimed lead"
    );

    // A copy of the lead as the relay has it now, changed to make wang its owner.
    manager.ok(&["sync"]);
    let store = fieldsync_store::Store::open(&manager.store_path(), Default::default()).unwrap();
    let current = store.whole(&lead).unwrap().unwrap();
    drop(store);
    let mut doc = automerge::AutoCommit::load(&current.data).unwrap();
    let relay_heads = doc.get_heads();
    doc.set_actor(automerge::ActorId::random());
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "owner", "wang").unwrap();
    doc.commit();
    let stored_before = relay.metric("fieldsync_relay_documents_stored_total");

    let wang_token = fieldsync_store::Store::open(&wang.store_path(), Default::default())
        .unwrap()
        .remote()
        .unwrap()
        .unwrap()
        .token;
    let mut socket = rep_socket(&relay, "east", "wang", &wang_token).await;
    let push = fieldsync_sync::message::Push {
        batch: 1,
        docs: vec![fieldsync_sync::DocChanges {
            id: lead.clone(),
            heads: Heads::new(doc.get_heads()),
            data: doc.save_after(&relay_heads),
        }],
    };
    send(&mut socket, &Message::Push(push)).await;
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Forbidden.code())
    );
    assert_eq!(
        relay.metric("fieldsync_relay_documents_stored_total"),
        stored_before
    );
    manager.ok(&["sync"]);
    assert_eq!(
        manager.show(&lead)["owner"],
        "lina",
        "nothing of the push was stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_closes_only_the_connection_that_sent_it() {
    let relay = Relay::start(&["--max-frame", "65536", "--hello-timeout", "500ms"]);
    relay.admin(&["team", "create", "east"]);
    let device = joined(&relay, "east", "lina");
    device.add(&["--company", "Keeps Syncing", "--contact", "K"]);
    let token = relay.member_as("east", "raw", "manager");

    // A device that stays connected throughout, and must not be disturbed.
    let mut bystander = connect(&relay).await;
    send(&mut bystander, &hello("east", "raw", &token)).await;
    next(&mut bystander).await.unwrap();
    send(&mut bystander, &Message::Pull(Pull { since: 0 })).await;
    next(&mut bystander).await.unwrap();

    let authenticated = || async {
        let mut socket = connect(&relay).await;
        send(&mut socket, &hello("east", "raw", &token)).await;
        assert!(matches!(
            next(&mut socket).await,
            Ok((Message::Welcome(_), _))
        ));
        socket
    };

    // Garbage bytes after hello.
    let mut socket = authenticated().await;
    socket
        .send(Ws::Binary(vec![0xff, 0x00, 0x13, 0x37].into()))
        .await
        .unwrap();
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Protocol.code())
    );

    // A well-formed message a device may not send.
    let mut socket = authenticated().await;
    send(&mut socket, &hello("east", "raw", &token)).await;
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Protocol.code())
    );

    // An oversized frame.
    let mut socket = authenticated().await;
    let _ = socket.send(Ws::Binary(vec![1u8; 200_000].into())).await;
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::FrameTooLarge.code())
    );

    // Text instead of a binary hello.
    let mut socket = connect(&relay).await;
    socket.send(Ws::Text("hello?".into())).await.unwrap();
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Protocol.code())
    );

    // A hello larger than the pre-authentication cap.
    let mut socket = connect(&relay).await;
    let big_hello = codec::encode_plain(&hello("east", "raw", &"x".repeat(20_000)));
    socket.send(Ws::Binary(big_hello.into())).await.unwrap();
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::HelloTimeout.code())
    );

    // Silence: closed at the hello deadline.
    let mut socket = connect(&relay).await;
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::HelloTimeout.code())
    );

    // A compressed hello (it could expand far past what an unauthenticated peer sent).
    let mut socket = connect(&relay).await;
    let mut packed = vec![codec::CODEC_ZSTD];
    packed.extend(
        zstd::bulk::compress(&codec::encode_plain(&hello("east", "raw", &token))[1..], 3).unwrap(),
    );
    socket.send(Ws::Binary(packed.into())).await.unwrap();
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::Protocol.code())
    );

    // Another protocol version: a newer one, and version 1, which would keep leads its
    // member no longer sees.
    for version in [99, 1] {
        let mut socket = connect(&relay).await;
        let mut old = hello("east", "raw", &token);
        if let Message::Hello(hello) = &mut old {
            hello.version = version;
        }
        send(&mut socket, &old).await;
        assert_eq!(
            closed_with(&mut socket).await,
            Some(CloseReason::Version.code())
        );
    }

    // Meanwhile the others sync, and the bystander gets the update live.
    assert!(device.ok(&["sync"]).contains("sent 1"));
    loop {
        if let (Message::Update(update), _) = next(&mut bystander).await.unwrap() {
            // Feed entry 1 is the roster the relay wrote into the team document when the
            // team's first connection arrived; the lead comes next.
            assert_ne!(update.doc.id, TEAM_DOC_ID);
            assert_eq!(update.seq, 2);
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_device_is_closed_by_the_heartbeat() {
    let relay = Relay::start(&["--ping-interval", "100ms", "--ping-timeout", "300ms"]);
    relay.admin(&["team", "create", "east"]);
    let token = relay.member("east", "raw");
    let mut socket = connect(&relay).await;
    send(&mut socket, &hello("east", "raw", &token)).await;
    next(&mut socket).await.unwrap();
    // The device stops reading, so it answers no pings: this silence is the scenario itself.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The close frame may be lost behind the pings the device answers too late; the relay's
    // count of heartbeat closes says why it ended.
    let code = closed_with(&mut socket).await;
    assert!(matches!(code, None | Some(4011)), "{code:?}");
    let heartbeat_closes = r#"fieldsync_relay_closes_total{reason="heartbeat"}"#;
    assert_eq!(relay.metric(heartbeat_closes), 1.0);
}

/// Signs in as `member` from `device` with `token`; the close code, or `None` if welcomed.
/// Signs in as `member` on `device`, presenting `ticket`: the ticket for the next sign-in, or
/// the close code.
async fn sign_in(
    relay: &Relay,
    member: &str,
    device: &str,
    token: &str,
    ticket: &str,
) -> Result<String, Option<u16>> {
    let mut socket = connect(relay).await;
    let mut hello = hello("east", member, token);
    if let Message::Hello(hello) = &mut hello {
        hello.device = device.into();
        hello.ticket = ticket.into();
    }
    send(&mut socket, &hello).await;
    match next(&mut socket).await {
        Ok((Message::Welcome(welcome), _)) => Ok(welcome.ticket),
        Ok((other, _)) => panic!("unexpected {other:?}"),
        Err(code) => Err(code),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_from_one_address_do_not_lock_out_good_devices_behind_it() {
    let relay = Relay::start(&["--connects-per-minute", "3"]);
    relay.admin(&["team", "create", "east"]);
    let lina = relay.member("east", "lina");
    let wang = relay.member("east", "wang");
    let phone = sign_in(&relay, "lina", "lina-phone", &lina, "")
        .await
        .unwrap();
    assert_eq!(phone.len(), 32, "a ticket: {phone}");
    // Someone on the same network guesses lina's token.
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(sign_in(&relay, "lina", "guesser", "wrong", "").await.err());
    }
    assert_eq!(&codes[..3], [Some(Some(4001)); 3]);
    assert!(
        codes[3..].iter().all(|code| *code == Some(Some(4029))),
        "{codes:?}"
    );
    // A device name is no secret (it is in every change): naming lina's phone, even with her
    // right token, has the guess refused unchecked, as is another device's ticket.
    assert_eq!(
        sign_in(&relay, "lina", "lina-phone", &lina, "").await.err(),
        Some(Some(4029))
    );
    assert_eq!(
        sign_in(&relay, "lina", "guesser", &lina, &phone)
            .await
            .err(),
        Some(Some(4029))
    );
    // Her colleague and her own phone, with its ticket, still sign in behind the same address.
    sign_in(&relay, "wang", "wang-laptop", &wang, "")
        .await
        .unwrap();
    sign_in(&relay, "lina", "lina-phone", &lina, &phone)
        .await
        .unwrap();
    // A device reconnecting in a loop is slowed alone, with a reason it can show.
    sign_in(&relay, "wang", "wang-laptop", &wang, "")
        .await
        .unwrap();
    sign_in(&relay, "wang", "wang-laptop", &wang, "")
        .await
        .unwrap();
    assert_eq!(
        sign_in(&relay, "wang", "wang-laptop", &wang, "")
            .await
            .err(),
        Some(Some(4029))
    );
    sign_in(&relay, "wang", "wang-tablet", &wang, "")
        .await
        .unwrap();
    assert!(
        fieldsync_sync::CloseReason::Throttled
            .explain()
            .contains("wait a minute")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hello_with_names_longer_than_a_member_name_is_refused_before_anything_is_kept() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let lina = relay.member("east", "lina");
    let long = "名".repeat(5_000);
    for (team, member, device) in [
        (long.as_str(), "lina", "d"),
        ("east", long.as_str(), "d"),
        ("east", "lina", long.as_str()),
    ] {
        let mut socket = connect(&relay).await;
        let mut message = hello(team, member, &lina);
        if let Message::Hello(hello) = &mut message {
            hello.device = device.into();
        }
        send(&mut socket, &message).await;
        assert_eq!(
            next(&mut socket).await.err(),
            Some(Some(CloseReason::Protocol.code()))
        );
    }
    assert_eq!(relay.metric("fieldsync_relay_sign_in_windows"), 0.0);
    sign_in(&relay, "lina", "phone", &lina, "").await.unwrap();
    assert_eq!(relay.metric("fieldsync_relay_sign_in_windows"), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_connections_with_a_reason_and_exits_cleanly() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let token = relay.member("east", "raw");
    let mut socket = connect(&relay).await;
    send(&mut socket, &hello("east", "raw", &token)).await;
    next(&mut socket).await.unwrap();
    let status = tokio::task::spawn_blocking(move || relay.terminate())
        .await
        .unwrap();
    assert_eq!(
        closed_with(&mut socket).await,
        Some(CloseReason::ShuttingDown.code())
    );
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_newline_in_a_device_name_does_not_forge_a_log_line() {
    let relay = Relay::start_logged(&[]);
    relay.admin(&["team", "create", "east"]);
    let token = relay.member("east", "lina");
    let mut socket = connect(&relay).await;
    let forged =
        "raw-test-client\n2026-11-29T00:00:00Z  INFO fieldsync_relay: member removed by the admin";
    send(
        &mut socket,
        &Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            team: "east".into(),
            member: "lina".into(),
            device: forged.into(),
            token,
            ticket: String::new(),
        }),
    )
    .await;
    let (welcome, _) = next(&mut socket).await.unwrap();
    assert!(matches!(welcome, Message::Welcome(_)), "{welcome:?}");
    // The relay logs the connection before it sends the welcome.
    let log = relay.log();
    assert!(log.contains("authenticated"), "{log}");
    assert!(
        log.lines()
            .all(|line| !line.contains("member removed by the admin")
                || line.contains("authenticated")),
        "a forged line: {log}"
    );
    assert!(
        log.contains("raw-test-client\\n2026"),
        "the name is logged escaped: {log}"
    );
}
