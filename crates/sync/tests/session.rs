//! The protocol core driven through in-memory pipes: convergence, acknowledgements, the
//! feed position, faults and restarts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fieldsync_sync::codec;
use fieldsync_sync::message::Message;
use support::{Fault, Net};

fn assert_converged(net: &mut Net) {
    let expected = net.devices[0].all_heads();
    for device in &mut net.devices[1..] {
        assert_eq!(device.all_heads(), expected, "{} differs", device.actor);
    }
}

#[test]
fn offline_edits_on_three_devices_converge() {
    let mut net = Net::new(3, 16);
    for lead in 0..40 {
        let id = format!("lead{lead:03}");
        net.devices[lead % 3].edit(
            &id,
            "company",
            &format!("公司{lead}"),
            Some(&format!("f{lead}")),
        );
    }
    net.sync_all();
    // The first device synced before the others pushed; their updates reached it live.
    assert_converged(&mut net);
    assert_eq!(net.devices[0].docs.len(), 40);
    assert_eq!(net.devices[2].followups().len(), 40);
}

#[test]
fn concurrent_edits_keep_both_followups_and_settle_one_value() {
    let mut net = Net::new(2, 16);
    net.devices[0].edit("lead", "phone", "1", Some("first visit"));
    net.sync_all();
    net.disconnect(0);
    net.disconnect(1);
    net.devices[0].edit("lead", "phone", "2", Some("a from device0"));
    net.devices[1].edit("lead", "phone", "3", Some("b from device1"));
    net.sync_all();
    assert_converged(&mut net);
    for device in &net.devices {
        assert_eq!(
            device.followups(),
            ["a from device0", "b from device1", "first visit"]
                .map(String::from)
                .into()
        );
    }
}

#[test]
fn nothing_is_pending_once_acknowledged_and_a_reconnect_sends_nothing() {
    let mut net = Net::new(2, 16);
    for lead in 0..300 {
        net.devices[0].edit(&format!("lead{lead:03}"), "company", "x", None);
    }
    net.sync_all();
    assert!(net.devices[0].pending.is_empty());
    assert_eq!(net.devices[1].since, 300);
    assert_eq!(net.team.store_mut().head, 300);
    // A reconnect with nothing changed moves no document at all.
    net.disconnect(1);
    net.connect(1);
    net.wire[1].clear();
    net.settle();
    let docs_frames = net.wire[1]
        .iter()
        .filter(|frame| matches!(codec::decode(frame), Ok(Message::Docs(_))))
        .count();
    assert_eq!(docs_frames, 0);
    // Pushes are batched: 300 documents took two push frames and one commit each.
    assert_eq!(net.team.store_mut().commits, 2);
}

#[test]
fn a_reconnect_costs_what_changed() {
    let mut net = Net::new(2, 16);
    for lead in 0..1000 {
        net.devices[0].edit(&format!("lead{lead:04}"), "company", "x", None);
    }
    net.sync_all();
    net.disconnect(1);
    for lead in 0..5 {
        net.devices[0].edit(&format!("lead{lead:04}"), "company", "y", None);
    }
    net.sync_all();
    net.disconnect(1);
    net.wire[1].clear();
    net.connect(1);
    net.settle();
    let offered: usize = net.wire[1]
        .iter()
        .filter_map(|frame| match codec::decode(frame) {
            Ok(Message::Offer(offer)) => Some(offer.entries.len()),
            _ => None,
        })
        .sum();
    // device1 was connected (and got the five updates live) or not; either way at most the
    // five changed documents are offered, never the thousand.
    assert!(offered <= 5, "offered {offered}");
    assert_converged(&mut net);
}

#[test]
fn a_bad_token_is_refused_before_any_document_flows() {
    let mut net = Net::new(2, 16);
    net.devices[0].edit("lead", "company", "secret co", None);
    net.sync_all();
    let hello = fieldsync_sync::Hello {
        version: fieldsync_sync::PROTOCOL_VERSION,
        team: "team".into(),
        member: "device1".into(),
        device: "device1".into(),
        token: "guess".into(),
        ticket: String::new(),
    };
    net.devices[1] = support::MemoryDevice::new("device1");
    let mut session = fieldsync_sync::DeviceSession::new(hello, 0);
    let first = session.start();
    net.connect(1);
    let link = net.links[1].as_mut().unwrap();
    link.to_relay.clear();
    link.to_relay.push_back(first);
    net.wire[1].clear();
    net.settle();
    assert!(net.links[1].is_none());
    assert_eq!(net.closes, [fieldsync_sync::CloseReason::Unauthorized]);
    assert!(net.wire[1].is_empty());
    assert!(net.devices[1].docs.is_empty());
}

#[test]
fn faults_then_a_clean_pass_converge() {
    for fault in [Fault::Drop, Fault::Duplicate, Fault::Reorder] {
        let mut net = Net::new(3, 2);
        for lead in 0..30 {
            net.devices[lead % 3].edit(
                &format!("l{lead}"),
                "stage",
                "new",
                Some(&format!("f{lead}")),
            );
        }
        for i in 0..3 {
            net.connect(i);
        }
        // Every fifth delivery goes wrong.
        let mut count = 0;
        loop {
            let mut moved = false;
            for i in 0..3 {
                for up in [true, false] {
                    count += 1;
                    let f = if count % 5 == 0 { fault } else { Fault::None };
                    moved |= net.step(i, up, f);
                }
            }
            if !moved {
                break;
            }
        }
        net.restart_relay();
        net.sync_all();
        assert_converged(&mut net);
        assert_eq!(net.devices[0].followups().len(), 30, "{fault:?}");
    }
}

#[test]
fn a_push_whose_history_the_relay_lacks_is_sent_again_whole() {
    let mut net = Net::new(2, 16);
    net.devices[0].edit("lead", "phone", "1", None);
    net.sync_all();
    // The relay loses the document (restored from an old backup, say).
    let store = net.team.store_mut();
    store.docs.clear();
    store.positions.clear();
    store.feed.clear();
    net.restart_relay();
    net.devices[0].edit("lead", "phone", "2", Some("after the restore"));
    net.sync_all();
    assert_converged(&mut net);
    assert_eq!(net.devices[1].followups().len(), 1);
}

#[test]
fn a_stored_document_that_does_not_load_is_the_relays_failure_not_the_devices() {
    let mut net = Net::new(1, 16);
    let mut store = support::MemoryTeamStore::default();
    store
        .docs
        .insert("lead".into(), b"not an automerge document".to_vec());
    net.team = fieldsync_sync::Team::new(store, support::small_documents(16));
    net.devices[0].edit("lead", "company", "A Tech Co.", None);
    net.connect(0);
    net.settle();
    // "Try again later" (4500), never "update fieldsync" (a protocol error stops a watching
    // device for good).
    assert_eq!(net.closes, [fieldsync_sync::CloseReason::Storage]);
}

#[test]
fn a_long_answer_goes_in_steps_and_the_device_still_gets_everything() {
    let mut net = Net::new(2, 16);
    // 60 leads of 100 KB of hex each: about 3 MB stored, more than one step of an answer.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for lead in 0..60 {
        let notes: String = (0..6_250)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                format!("{:016x}", seed)
            })
            .collect();
        net.devices[0].edit(&format!("lead{lead:02}"), "notes", &notes, None);
    }
    net.connect(0);
    net.settle();
    net.connect(1);
    net.settle();
    assert!(net.resumed > 0, "the answer came in one step");
    assert_eq!(net.devices[1].docs.len(), 60);
    assert_converged(&mut net);
}

#[test]
fn devices_start_over_and_converge_on_a_relay_restored_from_an_older_backup() {
    let mut net = Net::new(2, 16);
    net.team.store_mut().feed_id = "first".into();
    for lead in 0..5 {
        net.devices[lead % 2].edit(&format!("lead{lead}"), "company", "Before", None);
    }
    net.sync_all();
    let backup = net.team.store_mut().clone();
    // After the backup: both devices push more, acknowledged by the relay.
    for lead in 5..9 {
        net.devices[lead % 2].edit(&format!("lead{lead}"), "company", "After", None);
    }
    net.devices[0].edit("lead0", "phone", "13800000000", Some("after the backup"));
    net.sync_all();
    assert!(net.devices.iter().all(|device| device.pending.is_empty()));

    // The relay is restored from the backup: its copy lacks what came after, under a new
    // feed name.
    net.disconnect(0);
    net.disconnect(1);
    *net.team.store_mut() = restored(backup);
    net.restart_relay();
    net.sync_all();
    net.sync_all();
    assert_converged(&mut net);
    assert_eq!(net.devices[1].docs.len(), 9);
    assert!(net.devices[1].followups().contains("after the backup"));
    // The relay has everything again: a new device gets it all.
    let fresh = net.team.store_mut().docs.len();
    assert_eq!(fresh, 9);
}

/// The backup, as restored: the same documents and feed, named anew.
fn restored(mut backup: support::MemoryTeamStore) -> support::MemoryTeamStore {
    backup.feed_id = "restored".into();
    backup
}
