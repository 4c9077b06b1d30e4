//! Property: random edits on 3-5 devices, with random partitions, broken, duplicated and
//! reordered frames and restarts of either side, always converge once everyone syncs
//! cleanly, and no follow-up written anywhere is lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use proptest::prelude::*;
use support::{Net, NetOp};

#[derive(Clone, Debug)]
enum Op {
    Edit {
        device: usize,
        lead: usize,
        value: u8,
    },
    /// The network moves.
    Net(NetOp),
    RestartRelay,
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..devices, 0..6usize, any::<u8>())
            .prop_map(|(device, lead, value)| Op::Edit { device, lead, value }),
        15 => NetOp::strategy(devices).prop_map(Op::Net),
        1 => Just(Op::RestartRelay),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (3..=5usize)
        .prop_flat_map(|devices| (Just(devices), prop::collection::vec(op(devices), 1..120)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn devices_converge_and_lose_no_followup((devices, ops) in scenario()) {
        let mut net = Net::new(devices, 3);
        let mut written = BTreeSet::new();
        for (n, op) in ops.into_iter().enumerate() {
            match op {
                Op::Edit { device, lead, value } => {
                    let followup = format!("{device}-{n}");
                    net.devices[device].edit(
                        &format!("lead{lead}"),
                        "phone",
                        &value.to_string(),
                        Some(&followup),
                    );
                    written.insert(followup);
                }
                Op::Net(event) => event.apply(&mut net),
                Op::RestartRelay => net.restart_relay(),
            }
        }
        net.sync_all();
        let expected = net.devices[0].all_heads();
        for device in &mut net.devices {
            prop_assert_eq!(&device.all_heads(), &expected);
            prop_assert_eq!(&device.followups(), &written);
        }
    }
}
