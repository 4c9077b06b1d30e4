//! Property: with random owners, reassignments by a manager, claims and give-backs by reps,
//! role changes and partitions on 3-5 peers, every device ends holding exactly the documents
//! its member sees, identical to the relay's copies; nothing a rep may not see reaches them;
//! and no follow-up written anywhere is lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, ReadDoc};
use fieldsync_model::{Role, TEAM_DOC_ID};
use fieldsync_sync::{CloseReason, Heads, TeamStore};
use proptest::prelude::*;
use support::{Fault, Net, NetOp};

#[derive(Clone, Debug)]
enum Op {
    /// Device makes a new lead, owned by its member or (if `pool`) the pool.
    Create { device: usize, pool: bool },
    /// Device logs a follow-up on the `pick`th lead it holds.
    FollowUp { device: usize, pick: usize },
    /// The manager (device 0) gives its `pick`th lead to member `to` (the pool if out of range).
    Assign { pick: usize, to: usize },
    /// A rep device claims the `pick`th pool lead it holds, or gives back its `pick`th own lead.
    Claim { device: usize, pick: usize },
    /// Device `device`'s member (not device 0's) switches between rep and manager.
    ToggleRole(usize),
    /// The network moves.
    Net(NetOp),
    /// Every device syncs cleanly (so leads travel far enough to be handed on).
    SyncAll,
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..devices, any::<bool>()).prop_map(|(device, pool)| Op::Create { device, pool }),
        3 => (0..devices, any::<usize>()).prop_map(|(device, pick)| Op::FollowUp { device, pick }),
        2 => (any::<usize>(), 0..devices + 1).prop_map(|(pick, to)| Op::Assign { pick, to }),
        2 => (1..devices, any::<usize>()).prop_map(|(device, pick)| Op::Claim { device, pick }),
        1 => (1..devices).prop_map(Op::ToggleRole),
        15 => NetOp::strategy(devices).prop_map(Op::Net),
        1 => Just(Op::SyncAll),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (3..=5usize)
        .prop_flat_map(|devices| (Just(devices), prop::collection::vec(op(devices), 1..150)))
}

/// The leads device `i` holds, in id order.
fn leads(net: &Net, i: usize) -> Vec<String> {
    net.devices[i]
        .docs
        .keys()
        .filter(|id| *id != TEAM_DOC_ID)
        .cloned()
        .collect()
}

fn pick(list: &[String], n: usize) -> Option<&String> {
    (!list.is_empty()).then(|| &list[n % list.len()])
}

/// The owner register's values in the relay's copy of lead `id`, read from the document.
fn owners_on_relay(net: &mut Net, id: &str, discounted: &BTreeSet<String>) -> Vec<Option<String>> {
    let bytes = net.team.store_mut().load(id).unwrap().unwrap();
    let doc = Automerge::load(&bytes).unwrap();
    doc.get_all(automerge::ROOT, "owner")
        .unwrap()
        .into_iter()
        .filter(|(_, op)| !discounted.contains(&op.to_string()))
        .map(|(value, _)| value.as_str().map(str::to_owned))
        .collect()
}

/// The relay's leads with their heads.
fn relay_leads(net: &mut Net) -> BTreeMap<String, Heads> {
    let ids: Vec<String> = net
        .team
        .store_mut()
        .docs
        .keys()
        .filter(|id| *id != TEAM_DOC_ID)
        .cloned()
        .collect();
    ids.into_iter()
        .map(|id| {
            let bytes = net.team.store_mut().load(&id).unwrap().unwrap();
            let heads = Heads::new(Automerge::load(&bytes).unwrap().get_heads());
            (id, heads)
        })
        .collect()
}

fn run(devices: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut net = Net::new(devices, 3);
    net.roles[0] = Role::Manager;
    net.record_roster();
    let names: Vec<String> = net.devices.iter().map(|d| d.actor.clone()).collect();
    let mut written = BTreeSet::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Create { device, pool } => {
                let owner = (!pool).then(|| names[device].clone());
                net.devices[device].set_owner(&format!("lead{n}"), owner.as_deref());
            }
            Op::FollowUp { device, pick: p } => {
                let held = leads(&net, device);
                if let Some(id) = pick(&held, p) {
                    let followup = format!("{device}-{n}");
                    net.devices[device].edit(id, "phone", &n.to_string(), Some(&followup));
                    written.insert(followup);
                }
            }
            Op::Assign { pick: p, to } => {
                let held = leads(&net, 0);
                if let Some(id) = pick(&held, p) {
                    net.devices[0].set_owner(id, names.get(to).map(String::as_str));
                }
            }
            Op::Claim { device, pick: p } => {
                if net.roles[device] != Role::Rep {
                    continue;
                }
                let me = names[device].clone();
                let held = leads(&net, device);
                let Some(id) = pick(&held, p).cloned() else {
                    continue;
                };
                let owners = net.devices[device].owners(&id);
                if owners == [None] {
                    net.devices[device].set_owner(&id, Some(&me));
                } else if owners == [Some(me)] {
                    net.devices[device].set_owner(&id, None);
                }
            }
            Op::ToggleRole(device) => {
                net.roles[device] = match net.roles[device] {
                    Role::Rep => Role::Manager,
                    Role::Manager => Role::Rep,
                };
                net.record_roster();
            }
            Op::Net(event) => event.apply(&mut net),
            Op::SyncAll => net.sync_all(),
        }
    }
    // Two clean passes: the first may move leads (pushed reassignments), the second delivers
    // what those moved.
    net.sync_all();
    net.sync_all();
    prop_assert!(
        !net.closes.contains(&CloseReason::Forbidden),
        "an honest device was refused: {:?}",
        net.closes
    );
    let relay = relay_leads(&mut net);
    for (i, me) in names.iter().enumerate() {
        let role = net.roles[i];
        let visible: BTreeMap<String, Heads> = relay
            .iter()
            .filter(|(id, _)| {
                // The register as read from the document, less the values that count for no
                // one's view (an overruled rep's giving back: fieldsync_model::lineage).
                let discounted = net.team.store_mut().access(id).unwrap().unwrap().discounted;
                let owners = owners_on_relay(&mut net, id, &discounted);
                role == Role::Manager
                    || owners.is_empty()
                    || owners.iter().any(|o| o.is_none() || o.as_ref() == Some(me))
            })
            .map(|(id, heads)| (id.clone(), heads.clone()))
            .collect();
        let mut held = net.devices[i].all_heads();
        held.remove(TEAM_DOC_ID);
        prop_assert_eq!(&held, &visible, "device {} ({:?})", i, role);
    }
    // The manager holds every lead, so every follow-up written anywhere is on it.
    let on_manager = net.devices[0].followups();
    prop_assert!(
        written.is_subset(&on_manager),
        "lost: {:?}",
        written.difference(&on_manager).collect::<Vec<_>>()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn each_device_holds_what_its_member_sees_and_no_followup_is_lost((devices, ops) in scenario()) {
        run(devices, ops)?;
    }
}

/// A manager (device 0) and two reps (devices 1 and 2), with the roster recorded.
fn team_of_three() -> Net {
    let mut net = Net::new(3, 16);
    net.roles[0] = Role::Manager;
    net.record_roster();
    net
}

fn ids(net: &Net, i: usize) -> Vec<String> {
    leads(net, i)
}

/// Every frame device `i` received, decompressed (as plain CBOR), as text to look for ids and
/// values in.
fn wire_text(net: &Net, i: usize) -> String {
    net.wire[i]
        .iter()
        .map(|frame| {
            let message = fieldsync_sync::codec::decode(frame).unwrap();
            String::from_utf8_lossy(&fieldsync_sync::codec::encode_plain(&message)).into_owned()
        })
        .collect()
}

#[test]
fn a_handover_moves_a_lead_off_the_old_owners_device_keeping_their_offline_followup() {
    let mut net = team_of_three();
    net.devices[1].set_owner("lead-a", Some("device1"));
    net.devices[1].edit("lead-a", "phone", "13800000000", Some("first visit"));
    net.devices[2].set_owner("lead-b", Some("device2"));
    net.sync_all();
    assert_eq!(ids(&net, 0), ["lead-a", "lead-b"]);
    assert_eq!(ids(&net, 1), ["lead-a"]);
    assert_eq!(ids(&net, 2), ["lead-b"]);
    for i in 0..3 {
        net.disconnect(i);
    }
    // Device 1 logs a visit offline while the manager hands the lead to device 2.
    net.devices[1].edit("lead-a", "phone", "13800000000", Some("offline visit"));
    net.devices[0].set_owner("lead-a", Some("device2"));
    net.connect(0);
    net.settle();
    net.sync_all();
    assert_eq!(
        ids(&net, 1),
        Vec::<String>::new(),
        "the old owner's device dropped it"
    );
    assert_eq!(ids(&net, 2), ["lead-a", "lead-b"]);
    assert!(net.devices[2].followups().contains("offline visit"));
    assert!(net.devices[0].followups().contains("offline visit"));
    assert!(!net.closes.contains(&CloseReason::Forbidden));
}

#[test]
fn a_live_device_drops_a_lead_handed_away_and_receives_one_handed_to_it() {
    let mut net = team_of_three();
    net.devices[1].set_owner("lead-a", Some("device1"));
    net.sync_all();
    // Everyone stays connected: the handover reaches them live.
    net.devices[0].set_owner("lead-a", Some("device2"));
    push_now(&mut net, 0);
    net.settle();
    assert_eq!(ids(&net, 1), Vec::<String>::new());
    assert_eq!(ids(&net, 2), ["lead-a"]);
    assert_eq!(net.devices[1].since, net.devices[2].since);
}

#[test]
fn nothing_of_another_reps_lead_crosses_the_wire_to_a_rep() {
    let mut net = team_of_three();
    net.devices[1].set_owner("secret-lead", Some("device1"));
    net.devices[1].edit("secret-lead", "phone", "13912345678", Some("visit"));
    net.devices[0].set_owner("pool-lead", None);
    // Device 2 watches live while device 1 pushes, then bootstraps again from nothing.
    net.connect(2);
    net.settle();
    net.sync_all();
    net.devices[1].edit("secret-lead", "phone", "13912345678", Some("second visit"));
    net.sync_all();
    net.devices[2] = support::MemoryDevice::new("device2");
    net.sync_all();
    let seen = wire_text(&net, 2);
    assert!(!seen.contains("secret-lead"), "device 2 saw the lead's id");
    assert!(
        !seen.contains("13912345678"),
        "device 2 saw the phone number"
    );
    assert!(seen.contains("pool-lead"));
    assert_eq!(ids(&net, 2), ["pool-lead"]);
}

#[test]
fn a_rep_taking_another_reps_lead_is_refused_and_nothing_of_it_stored() {
    let mut net = team_of_three();
    net.devices[1].set_owner("lead-a", Some("device1"));
    net.devices[1].set_owner("pool-lead", None);
    net.sync_all();
    let before = net.team.store_mut().head;
    // Device 2 got the pool lead; it forges a takeover of device 1's lead from a copy.
    let stolen = net.devices[1].docs["lead-a"].clone();
    net.devices[2].docs.insert("lead-a".into(), stolen);
    net.devices[2].set_owner("lead-a", Some("device2"));
    net.connect(2);
    net.settle();
    assert!(net.closes.contains(&CloseReason::Forbidden));
    assert_eq!(net.team.store_mut().head, before, "nothing was stored");
    let owners = owners_on_relay(&mut net, "lead-a", &BTreeSet::new());
    assert_eq!(owners, [Some("device1".to_owned())]);
}

#[test]
fn two_reps_claiming_one_pool_lead_offline_end_with_one_owner_and_a_conflict() {
    let mut net = team_of_three();
    net.devices[0].set_owner("pool-lead", None);
    net.sync_all();
    for i in 0..3 {
        net.disconnect(i);
    }
    net.devices[1].set_owner("pool-lead", Some("device1"));
    net.devices[2].set_owner("pool-lead", Some("device2"));
    net.sync_all();
    net.sync_all();
    assert!(!net.closes.contains(&CloseReason::Forbidden));
    let owners = owners_on_relay(&mut net, "pool-lead", &BTreeSet::new());
    assert_eq!(
        owners.len(),
        2,
        "both claims stay, as a conflict: {owners:?}"
    );
    for i in 0..3 {
        assert_eq!(net.devices[i].owners("pool-lead"), owners, "device {i}");
    }
}

#[test]
fn a_manager_lowered_to_rep_drops_other_reps_leads_and_a_rep_raised_receives_them() {
    let mut net = team_of_three();
    net.devices[1].set_owner("lead-1", Some("device1"));
    net.devices[2].set_owner("lead-2", Some("device2"));
    net.sync_all();
    net.roles[0] = Role::Rep;
    net.roles[1] = Role::Manager;
    net.record_roster();
    net.sync_all();
    assert_eq!(ids(&net, 0), Vec::<String>::new());
    assert_eq!(ids(&net, 1), ["lead-1", "lead-2"]);
    assert_eq!(ids(&net, 2), ["lead-2"]);
}

#[test]
fn a_reps_catch_up_after_changes_to_other_reps_leads_carries_only_the_feed_position() {
    let mut net = team_of_three();
    net.devices[0].set_owner("pool-then-2", None);
    net.devices[2].set_owner("lead-2", Some("device2"));
    net.sync_all();
    // Device 2 claims the pool lead; device 1 drops it at its next sync.
    net.devices[2].set_owner("pool-then-2", Some("device2"));
    net.sync_all();
    net.sync_all();
    assert_eq!(ids(&net, 1), Vec::<String>::new());
    for i in 0..3 {
        net.disconnect(i);
    }
    // Later changes to device 2's leads, one of which device 1 could once see.
    net.devices[2].edit("lead-2", "phone", "1", Some("a"));
    net.devices[2].edit("pool-then-2", "phone", "2", Some("b"));
    net.connect(2);
    net.settle();
    let before = net.wire[1].len();
    net.connect(1);
    net.settle();
    let received: Vec<fieldsync_sync::message::Message> = net.wire[1][before..]
        .iter()
        .map(|frame| fieldsync_sync::codec::decode(frame).unwrap())
        .collect();
    assert_eq!(received.len(), 2, "a welcome and one offer: {received:?}");
    let fieldsync_sync::message::Message::Offer(offer) = &received[1] else {
        panic!("{received:?}")
    };
    assert!(
        offer.entries.is_empty() && offer.revoked.is_empty(),
        "{offer:?}"
    );
    assert_eq!(net.devices[1].since, offer.upto);
}

/// Sends what device `i` has not pushed yet over its open connection.
fn push_now(net: &mut Net, i: usize) {
    let link = net.links[i].as_mut().unwrap();
    let frames = link.session.push_local(&mut net.devices[i]).unwrap();
    link.to_relay.extend(frames);
}

#[test]
fn a_rep_giving_back_a_lead_a_manager_handed_away_keeps_their_visit_and_does_not_see_it_again() {
    let mut net = team_of_three();
    net.devices[1].set_owner("lead-a", Some("device1"));
    net.sync_all();
    // All stay connected. Device 1 logs a visit and gives the lead back to the pool, not yet
    // pushed, while the manager hands it to device 2, which logs a visit of its own.
    net.devices[1].edit("lead-a", "phone", "1", Some("device1's visit"));
    net.devices[1].set_owner("lead-a", None);
    net.devices[0].set_owner("lead-a", Some("device2"));
    push_now(&mut net, 0);
    net.settle();
    net.devices[2].edit("lead-a", "phone", "2", Some("device2's visit"));
    push_now(&mut net, 2);
    // Device 1 gets the revoke and pushes its own change first. Its giving back comes from
    // before the manager's decision: it stays in the register, as a conflict for the manager
    // to settle, but brings the lead back into no one's view (before, it put the lead in the
    // pool for every rep, device 2's visit included).
    net.settle();
    net.devices[0].set_owner("lead-b", None);
    push_now(&mut net, 0);
    net.settle();
    net.sync_all();
    let on_device1 = net.devices[1].followups();
    assert!(!on_device1.contains("device2's visit"), "{on_device1:?}");
    assert!(!net.devices[1].docs.contains_key("lead-a"));
    let on_manager = net.devices[0].followups();
    assert!(on_manager.contains("device1's visit"), "{on_manager:?}");
    assert!(on_manager.contains("device2's visit"), "{on_manager:?}");
    assert_eq!(
        net.devices[0].owners("lead-a").len(),
        2,
        "the conflict shows"
    );
    assert!(net.devices[2].docs.contains_key("lead-a"));
}

#[test]
fn a_lead_that_comes_back_into_view_arrives_whole_on_a_device_holding_an_old_copy() {
    let mut net = Net::new(4, 16);
    net.roles[0] = Role::Manager;
    net.record_roster();
    net.devices[0].set_owner("lead-a", None);
    net.devices[0].set_owner("lead-b", None);
    net.sync_all();
    // All stay connected. Device 1 has an edit of the pool lead not pushed yet; the manager,
    // not having heard of what comes next, gives the lead to device 1.
    net.devices[1].edit("lead-a", "phone", "1", Some("device1's visit"));
    net.devices[0].set_owner("lead-a", Some("device1"));
    // Device 3 claims the lead and logs a visit: device 1 is told to drop it, and first pushes
    // its edit (not delivered yet).
    net.devices[3].set_owner("lead-a", Some("device3"));
    net.devices[3].edit("lead-a", "phone", "3", Some("device3's visit"));
    push_now(&mut net, 3);
    while net.step(3, true, Fault::None) {}
    while net.step(1, false, Fault::None) {}
    // The manager's change reaches the relay: the owners are now device 3 and device 1, so
    // device 1 sees the lead again, while still holding its copy from before the claim.
    push_now(&mut net, 0);
    while net.step(0, true, Fault::None) {}
    net.settle();
    // A later change elsewhere moves device 1's feed position past all of it.
    net.devices[0].edit("lead-b", "phone", "0", Some("later"));
    push_now(&mut net, 0);
    net.settle();
    net.sync_all();
    let on_device1 = net.devices[1].followups();
    assert!(on_device1.contains("device3's visit"), "{on_device1:?}");
    assert!(on_device1.contains("device1's visit"), "{on_device1:?}");
}

#[test]
fn a_demoted_managers_device_drops_a_lead_changed_after_the_demotion() {
    let mut net = team_of_three();
    net.devices[2].set_owner("lead-2", Some("device2"));
    net.sync_all();
    assert_eq!(ids(&net, 0), ["lead-2"]);
    for i in 0..3 {
        net.disconnect(i);
    }
    net.roles[0] = Role::Rep;
    net.record_roster();
    // The lead changes after the demotion, before the old manager's device syncs again.
    net.devices[2].edit("lead-2", "phone", "2", Some("after the demotion"));
    net.connect(2);
    net.settle();
    net.sync_all();
    assert_eq!(ids(&net, 0), Vec::<String>::new());
}

/// A case the property test found: a rep claims a pool lead offline while the manager assigns
/// it to them and then to itself, the manager's frames faulted on the way; the rep's device,
/// overruled, must still sync (its claim is kept as a conflict and widens no view).
#[test]
fn a_claim_crossing_two_assignments_over_a_faulty_link_converges() {
    let deliver = |up, fault| {
        Op::Net(NetOp::Deliver {
            device: 0,
            up,
            fault,
        })
    };
    run(
        5,
        vec![
            Op::Create {
                device: 0,
                pool: true,
            },
            Op::SyncAll,
            Op::Net(NetOp::Connect(0)),
            Op::Claim { device: 2, pick: 0 },
            Op::Assign { pick: 0, to: 2 },
            deliver(true, 34),
            deliver(false, 2),
            deliver(true, 1),
            Op::Assign { pick: 0, to: 0 },
            Op::Create {
                device: 0,
                pool: false,
            },
        ],
    )
    .unwrap();
}
