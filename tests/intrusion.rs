//! Hand-made changes from a raw websocket client (the project's codec, documents made with
//! Automerge) that try to read another rep's customers or stall the team: a claim with no
//! dependencies, an owner that is not a name, a claim after a settled conflict, the ids of
//! leads never sent, and a document that is not a lead. Each is refused, and honest offline
//! claims still converge. A document no device can read, planted in the relay's own store,
//! is set aside by the device that meets it, and the sync ends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raw;
mod relay;
mod util;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ScalarValue};
use fieldsync_sync::message::{Message, Pull, Push, Want, Wanted};
use fieldsync_sync::{CloseReason, DocChanges, Heads};
use raw::{Socket, connect, hello, next, send};
use relay::{Relay, joined, joined_as};
use util::Device;

/// A raw client signed in as `member`, past the welcome.
async fn signed_in(relay: &Relay, member: &str, token: &str) -> Socket {
    let mut socket = connect(relay).await;
    send(&mut socket, &hello("east", member, token)).await;
    assert!(matches!(
        next(&mut socket).await,
        Ok((Message::Welcome(_), _))
    ));
    socket
}

/// The token a joined device signs in with.
fn token_of(device: &Device) -> String {
    fieldsync_store::Store::open(&device.store_path(), Default::default())
        .unwrap()
        .remote()
        .unwrap()
        .unwrap()
        .token
}

/// A lead's document as `device` holds it.
fn doc_on(device: &Device, id: &str) -> AutoCommit {
    let store = fieldsync_store::Store::open(&device.store_path(), Default::default()).unwrap();
    AutoCommit::load(&store.whole(id).unwrap().unwrap().data).unwrap()
}

/// Pushes `doc`'s changes since `base` as lead `id`; returns the close code, or `None` if
/// the relay acknowledged them.
async fn push(
    socket: &mut Socket,
    id: &str,
    doc: &mut AutoCommit,
    base: &[automerge::ChangeHash],
) -> Option<u16> {
    let data = match base.is_empty() {
        true => doc.save(),
        false => doc.save_after(base),
    };
    let push = Push {
        batch: 1,
        docs: vec![DocChanges {
            id: id.to_owned(),
            heads: Heads::new(doc.get_heads()),
            data,
        }],
    };
    send(socket, &Message::Push(push)).await;
    match next(socket).await {
        Ok((Message::Ack(ack), _)) => {
            assert_eq!(ack.stored.len(), 1, "{ack:?}");
            None
        }
        Ok((other, _)) => panic!("unexpected {other:?}"),
        Err(code) => code,
    }
}

/// Everything a pull from the start and a want of every offered document (and of `also`)
/// brings, as the frames' bytes; and the revoked ids.
async fn everything(socket: &mut Socket, also: &[&str]) -> (Vec<u8>, Vec<String>) {
    send(socket, &Message::Pull(Pull { since: 0 })).await;
    let mut bytes = Vec::new();
    let mut revoked = Vec::new();
    let mut wanted: Vec<Wanted> = also
        .iter()
        .map(|id| Wanted {
            id: (*id).to_owned(),
            have: Heads::default(),
        })
        .collect();
    loop {
        let (message, frame) = next(socket).await.unwrap();
        bytes.extend(frame);
        if let Message::Offer(offer) = message {
            revoked.extend(offer.revoked);
            wanted.extend(offer.entries.into_iter().map(|entry| Wanted {
                id: entry.id,
                have: Heads::default(),
            }));
            if offer.last {
                break;
            }
        }
    }
    send(
        socket,
        &Message::Want(Want {
            request: 1,
            docs: wanted,
        }),
    )
    .await;
    loop {
        let (message, frame) = next(socket).await.unwrap();
        bytes.extend(frame);
        if matches!(message, Message::Docs(docs) if docs.last) {
            return (bytes, revoked);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// A manager, lina (who claims a pool lead and logs a private visit on it) and wang, who
/// received the lead while it was in the pool.
struct Team {
    relay: Relay,
    manager: Device,
    lina: Device,
    wang: Device,
    lead: String,
    /// The lead as wang's device held it in the pool.
    pooled: AutoCommit,
}

fn team() -> Team {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    let lead = manager.add(&["--company", "Pool Works", "--contact", "P"]);
    manager.ok(&["lead", "edit", &lead, "--unassign"]);
    manager.ok(&["sync"]);
    wang.ok(&["sync"]);
    lina.ok(&["sync"]);
    let pooled = doc_on(&wang, &lead);
    lina.ok(&["lead", "edit", &lead, "--owner", "lina"]);
    lina.ok(&[
        "log",
        &lead,
        "--channel",
        "visit",
        "--summary",
        "lina private visit",
    ]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    assert!(wang.list(&[]).is_empty(), "wang dropped the claimed lead");
    Team {
        relay,
        manager,
        lina,
        wang,
        lead,
        pooled,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_with_no_dependencies_is_refused_and_nothing_of_the_lead_reaches_the_rep() {
    let team = team();
    let mut socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    let mut forged = AutoCommit::new().with_actor(ActorId::random());
    forged.put(ROOT, "owner", "wang").unwrap();
    forged.commit();
    assert_eq!(
        push(&mut socket, &team.lead, &mut forged, &[]).await,
        Some(CloseReason::Forbidden.code())
    );
    let mut socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    let (bytes, _) = everything(&mut socket, &[&team.lead]).await;
    assert!(!contains(&bytes, "lina private visit"));
    team.manager.ok(&["sync"]);
    assert_eq!(team.manager.show(&team.lead)["owner"], "lina");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_that_is_not_a_members_name_is_refused() {
    let mut team = team();
    let mut socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    let base = team.pooled.get_heads();
    for owner in [
        ScalarValue::Int(7),
        ScalarValue::Boolean(false),
        ScalarValue::Str("nobody-here".into()),
    ] {
        let mut doc = team.pooled.fork().with_actor(ActorId::random());
        doc.put(ROOT, "owner", owner.clone()).unwrap();
        doc.commit();
        let code = push(&mut socket, &team.lead, &mut doc, &base).await;
        assert!(
            code == Some(CloseReason::Malformed.code())
                || code == Some(CloseReason::Forbidden.code()),
            "{owner:?}: {code:?}"
        );
        socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    }
    // A manager's device may not set one either.
    let mut socket = signed_in(&team.relay, "boss", &token_of(&team.manager)).await;
    let mut doc = doc_on(&team.manager, &team.lead);
    let base = doc.get_heads();
    doc.put(ROOT, "owner", 42).unwrap();
    doc.commit();
    assert_eq!(
        push(&mut socket, &team.lead, &mut doc, &base).await,
        Some(CloseReason::Malformed.code())
    );
    let (bytes, _) = everything(
        &mut signed_in(&team.relay, "wang", &token_of(&team.wang)).await,
        &[],
    )
    .await;
    assert!(!contains(&bytes, "lina private visit"));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_settled_conflict_a_claim_again_is_refused_and_two_honest_claims_converged() {
    let relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let lina = joined(&relay, "east", "lina");
    let wang = joined(&relay, "east", "wang");
    let lead = manager.add(&["--company", "Both Want It", "--contact", "B"]);
    manager.ok(&["lead", "edit", &lead, "--unassign"]);
    manager.ok(&["sync"]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    let mut pooled = doc_on(&wang, &lead);
    // Both claim offline; both syncs are taken and both see the conflict.
    lina.ok(&["lead", "edit", &lead, "--owner", "lina"]);
    wang.ok(&["lead", "edit", &lead, "--owner", "wang"]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    lina.ok(&["sync"]);
    manager.ok(&["sync"]);
    for device in [&lina, &wang, &manager] {
        let owners = device.ok(&["conflicts"]);
        assert!(
            owners.contains("lina") && owners.contains("wang"),
            "{owners}"
        );
    }
    let mut conflict = doc_on(&wang, &lead);
    // The manager settles for lina; lina logs a visit wang must never read.
    manager.ok(&["resolve", &lead[..8], "owner", "lina"]);
    manager.ok(&["sync"]);
    lina.ok(&["sync"]);
    lina.ok(&[
        "log",
        &lead,
        "--channel",
        "visit",
        "--summary",
        "after the decision",
    ]);
    lina.ok(&["sync"]);
    wang.ok(&["sync"]);
    assert!(wang.list(&[]).is_empty(), "wang dropped the lead");
    for device in [&lina, &manager] {
        device.ok(&["sync"]);
        assert_eq!(device.show(&lead)["owner"], "lina");
        assert_eq!(device.ok(&["conflicts"]).trim(), "no conflicts");
    }

    let token = token_of(&wang);
    // From the conflict wang held: replacing lina's claim.
    let mut again = conflict.fork().with_actor(ActorId::random());
    again.put(ROOT, "owner", "wang").unwrap();
    again.commit();
    let mut socket = signed_in(&relay, "wang", &token).await;
    assert_eq!(
        push(&mut socket, &lead, &mut again, &conflict.get_heads()).await,
        Some(CloseReason::Forbidden.code())
    );
    // From the pool wang once held: a claim after the decision is kept, a conflict for the
    // manager, but shows wang nothing (it could be an honest offline claim: refusing it would
    // refuse that device's every sync).
    let mut again = pooled.fork().with_actor(ActorId::random());
    again.put(ROOT, "owner", "wang").unwrap();
    again.commit();
    let mut socket = signed_in(&relay, "wang", &token).await;
    assert_eq!(
        push(&mut socket, &lead, &mut again, &pooled.get_heads()).await,
        None
    );
    let (bytes, _) = everything(&mut signed_in(&relay, "wang", &token).await, &[&lead]).await;
    assert!(!contains(&bytes, "after the decision"));
    assert!(!contains(&bytes, "lina private visit"));
    lina.ok(&["sync"]);
    assert_eq!(lina.list(&[]).len(), 1, "the lead stays lina's to see");
    manager.ok(&["sync"]);
    assert!(
        manager.ok(&["conflicts"]).contains("wang"),
        "shown to the manager"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_names_no_lead_a_new_device_was_never_sent() {
    let team = team();
    let private = team
        .lina
        .add(&["--company", "Never Pooled", "--contact", "N"]);
    team.lina.ok(&["sync"]);
    let newcomer = team.relay.member("east", "zhao");
    let mut socket = signed_in(&team.relay, "zhao", &newcomer).await;
    let (bytes, revoked) = everything(&mut socket, &[]).await;
    assert!(revoked.is_empty(), "{revoked:?}");
    for id in [&team.lead, &private] {
        assert!(!contains(&bytes, id), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_that_is_not_a_lead_is_refused_and_stored_nowhere() {
    let mut team = team();
    let stored = team.relay.metric("fieldsync_relay_documents_stored_total");
    let mut socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    let mut poison = AutoCommit::new();
    poison.put(ROOT, "company", "Poison Co").unwrap();
    poison.commit();
    let id = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        push(&mut socket, id, &mut poison, &[]).await,
        Some(CloseReason::Malformed.code())
    );
    assert_eq!(
        team.relay.metric("fieldsync_relay_documents_stored_total"),
        stored
    );
    // A lead document under another lead's id is no better.
    let mut socket = signed_in(&team.relay, "wang", &token_of(&team.wang)).await;
    let mut renamed = team.pooled.fork();
    assert_eq!(
        push(&mut socket, id, &mut renamed, &[]).await,
        Some(CloseReason::Malformed.code())
    );
    team.manager.ok(&["sync"]);
    assert_eq!(team.manager.list(&[]).len(), 1);
}

#[test]
fn a_device_sets_aside_an_unreadable_document_from_the_relay_and_its_sync_ends() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let rep = joined(&relay, "east", "lina");
    let good = manager.add(&["--company", "Good Co", "--contact", "G"]);
    manager.ok(&["lead", "edit", &good, "--unassign"]);
    manager.ok(&["sync"]);
    // Planted in the relay's own store, as a relay before this check could have taken it: a
    // pool document with no id, and one that does not load at all.
    relay.kill();
    let nameless = "0123456789abcdef0123456789abcdef";
    let garbage = "fedcba9876543210fedcba9876543210";
    {
        let gauge = prometheus::IntGauge::new("planted", "planted").unwrap();
        let path = relay.data.path().join("teams/1.redb");
        let mut store =
            fieldsync_relay::team_store::RedbTeamStore::open(&path, 1 << 20, gauge).unwrap();
        let mut poison = AutoCommit::new();
        poison.put(ROOT, "company", "Poison Co").unwrap();
        poison.commit();
        let change = |id: &str, data: Vec<u8>, heads| fieldsync_sync::NewChanges {
            id: id.to_owned(),
            data,
            heads,
            access: Some(fieldsync_model::Access::default()),
        };
        use fieldsync_sync::TeamStore;
        store
            .commit(
                &[
                    change(nameless, poison.save(), Heads::new(poison.get_heads())),
                    change(garbage, b"not automerge at all".to_vec(), Heads::default()),
                ],
                &[],
            )
            .unwrap();
    }
    relay.restart();
    for device in [&rep, &manager] {
        let said = device.ok(&["sync"]);
        assert!(said.contains("set aside 2 documents"), "{said}");
        assert!(said.contains(nameless) && said.contains(garbage), "{said}");
        // The next sync ends too, and still says so.
        let said = device.ok(&["sync"]);
        assert!(said.contains("set aside 2 documents"), "{said}");
    }
    assert_eq!(rep.list(&[]).len(), 1, "the good lead arrived");

    // A rep cannot remove them; the manager does, for the whole team.
    let refused = rep.fails(&["discard", nameless]);
    assert!(refused.contains("manager"), "{refused}");
    let said = manager.ok(&["discard", nameless, garbage, &good]);
    assert!(said.contains("removed 2 documents for the team"), "{said}");
    assert!(
        said.contains(&format!("kept {good}, which the relay reads as leads")),
        "{said}"
    );
    for device in [&rep, &manager] {
        let said = device.ok(&["sync"]);
        assert!(!said.contains("set aside"), "{said}");
    }
    let fresh = joined_as(&relay, "east", "audit", "manager");
    let said = fresh.ok(&["sync"]);
    assert!(
        !said.contains("set aside"),
        "a new device is not sent them: {said}"
    );
    assert_eq!(fresh.list(&[]).len(), 1);
    let said = manager.ok(&["discard", nameless]);
    assert!(said.contains("nothing to remove"), "{said}");
    // The tombstone takes nothing more: a push to it is acknowledged and stored nowhere.
    let token = token_of(&rep);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut socket = signed_in(&relay, "lina", &token).await;
        let mut doc = AutoCommit::new();
        fieldsync_model::well_formed::put_skeleton(&mut doc, nameless, "lina").unwrap();
        doc.put(ROOT, "company", "Sneaky Co").unwrap();
        assert_eq!(push(&mut socket, nameless, &mut doc, &[]).await, None);
    });
    let late = joined_as(&relay, "east", "late", "manager");
    late.ok(&["sync"]);
    assert_eq!(late.list(&[]).len(), 1, "nothing of the push was stored");
    // The tombstones hold no bytes of the documents.
    relay.kill();
    let gauge = prometheus::IntGauge::new("opened", "opened").unwrap();
    let path = relay.data.path().join("teams/1.redb");
    let mut store =
        fieldsync_relay::team_store::RedbTeamStore::open(&path, 1 << 20, gauge).unwrap();
    use fieldsync_sync::TeamStore;
    for id in [nameless, garbage] {
        assert_eq!(store.load(id).unwrap(), None, "{id}");
        assert!(
            store
                .access(id)
                .unwrap()
                .is_some_and(|access| access.removed)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_member_keeps_her_own_devices_by_their_tickets_not_their_names() {
    let relay = Relay::start(&["--connects-per-minute", "3"]);
    relay.admin(&["team", "create", "east"]);
    let lina = joined(&relay, "east", "lina");
    lina.ok(&["sync"]);
    let (ticket, device) = {
        let store = fieldsync_store::Store::open(&lina.store_path(), Default::default()).unwrap();
        (
            store.sign_in_ticket().unwrap(),
            store.actor().to_hex_string(),
        )
    };
    assert_eq!(ticket.len(), 32, "the device kept its ticket: {ticket:?}");
    // Her device's name is in every change she pushed: a guesser uses it, from her address.
    let mut refused = Vec::new();
    for _ in 0..6 {
        let mut socket = connect(&relay).await;
        let mut guess = hello("east", "lina", "wrong");
        if let Message::Hello(hello) = &mut guess {
            hello.device.clone_from(&device);
        }
        send(&mut socket, &guess).await;
        refused.push(next(&mut socket).await.err().flatten());
    }
    let throttled = Some(CloseReason::Throttled.code());
    assert_eq!(refused[3..], [throttled; 3], "{refused:?}");
    // Her device, with its ticket, still syncs.
    let said = lina.ok(&["sync"]);
    assert!(said.contains("synced with"), "{said}");
}

#[test]
fn a_rep_starting_over_after_a_restore_drops_a_pool_lead_handed_to_another_rep_meanwhile() {
    let mut relay = Relay::start(&[]);
    relay.admin(&["team", "create", "east"]);
    let manager = joined_as(&relay, "east", "boss", "manager");
    let lina = joined(&relay, "east", "lina");
    relay.member("east", "wang");
    let pooled = manager.add(&["--company", "Pooled Then Wang's", "--contact", "P"]);
    manager.ok(&["lead", "edit", &pooled, "--unassign"]);
    manager.ok(&["sync"]);
    lina.ok(&["sync"]);
    assert_eq!(lina.list(&[]).len(), 1, "lina holds the pool lead");
    // Handed to wang while lina is offline; the relay is backed up, then restored from it.
    manager.ok(&["lead", "edit", &pooled, "--owner", "wang"]);
    manager.ok(&["sync"]);
    manager.ok(&[
        "log",
        &pooled,
        "--channel",
        "call",
        "--summary",
        "wang's private notes",
    ]);
    manager.ok(&["sync"]);
    let backup = relay
        .data
        .path()
        .parent()
        .unwrap()
        .join("intrusion-restore.zip");
    relay.admin(&["backup", "--out", backup.to_str().unwrap()]);
    relay.terminate();
    relay.admin(&["restore", "--from", backup.to_str().unwrap()]);
    relay.restart();
    std::fs::remove_file(&backup).unwrap();
    // Lina's device starts over from position 0: the lead is not hers, and goes.
    lina.ok(&["sync"]);
    assert!(lina.list(&[]).is_empty(), "{:?}", lina.list(&[]));
    manager.ok(&["sync"]);
    assert_eq!(manager.list(&[]).len(), 1);
}
