//! Any bytes as a document pushed to the relay, by a manager or a rep, new to the relay or
//! changes to a lead it holds: the relay refuses or stores it and never panics, and a frame of
//! any bytes after hello is refused or handled the same way.

#![no_main]

mod push;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldsync_model::Role;
use fieldsync_sync::relay::{Budget, MemoryTeamStore};
use fieldsync_sync::{Heads, Team, Viewer};
use libfuzzer_sys::fuzz_target;
use push::push;

fuzz_target!(|input: &[u8]| {
    let Some((&choice, data)) = input.split_first() else {
        return;
    };
    let viewer = Viewer {
        member: "lina".into(),
        role: if choice & 1 == 0 {
            Role::Manager
        } else {
            Role::Rep
        },
    };
    let mut team =
        Team::new(MemoryTeamStore::default(), Budget::new(64 << 20)).max_document(1 << 20);
    // A lead the relay holds, owned by the sender.
    let mut lead = AutoCommit::new();
    fieldsync_model::well_formed::put_skeleton(&mut lead, "held", "lina").unwrap();
    lead.put(ROOT, "owner", "lina").unwrap();
    lead.put(ROOT, "company", "Held Co").unwrap();
    let _ = team.handle(
        &push("held", lead.save(), Heads::new(lead.get_heads())),
        &viewer,
    );
    match choice >> 1 & 3 {
        0 => drop(team.handle(&push("new", data.to_vec(), Heads::default()), &viewer)),
        1 => drop(team.handle(
            &push("held", data.to_vec(), Heads::new(lead.get_heads())),
            &viewer,
        )),
        _ => drop(team.handle(data, &viewer)),
    }
});
