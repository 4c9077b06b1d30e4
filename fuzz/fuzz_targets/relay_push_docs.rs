//! Documents made with automerge, as a hostile member would make them, pushed to the relay:
//! `id`, `schema`, `created_at` and `created_by` missing, of the wrong type or naming another
//! document; owners of every type automerge has, written once or by two actors at once; new
//! documents and changes with or without their dependencies to a lead the relay holds (the
//! sender's, another rep's, or in the pool), from a manager or a rep. The relay refuses or
//! stores each without a panic, and whatever it acknowledges reads as a lead.

#![no_main]

mod push;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ScalarValue};
use fieldsync_model::Role;
use fieldsync_model::well_formed::{check_document, put_skeleton};
use fieldsync_sync::message::{Message, Want, Wanted};
use fieldsync_sync::relay::{Budget, MemoryTeamStore};
use fieldsync_sync::{Heads, Team, Viewer, codec};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use push::push;

/// A value of any kind automerge stores.
#[derive(Arbitrary, Debug)]
enum Value {
    Str(String),
    Int(i64),
    Uint(u64),
    F64(f64),
    Bool(bool),
    Null,
    Bytes(Vec<u8>),
    Counter(i64),
    Timestamp(i64),
    Map,
    List,
    Text,
}

impl Value {
    fn put(&self, doc: &mut AutoCommit, key: &str) {
        let scalar = match self {
            Value::Str(s) => ScalarValue::Str(s.as_str().into()),
            Value::Int(n) => ScalarValue::Int(*n),
            Value::Uint(n) => ScalarValue::Uint(*n),
            Value::F64(n) => ScalarValue::F64(*n),
            Value::Bool(b) => ScalarValue::Boolean(*b),
            Value::Null => ScalarValue::Null,
            Value::Bytes(b) => ScalarValue::Bytes(b.clone()),
            Value::Counter(n) => ScalarValue::counter(*n),
            Value::Timestamp(n) => ScalarValue::Timestamp(*n),
            Value::Map | Value::List | Value::Text => {
                let kind = match self {
                    Value::Map => ObjType::Map,
                    Value::List => ObjType::List,
                    _ => ObjType::Text,
                };
                let _ = doc.put_object(ROOT, key, kind);
                return;
            }
        };
        let _ = doc.put(ROOT, key, scalar);
    }
}

/// A register of the root: left alone (as the skeleton has it), removed, or set to a value.
#[derive(Arbitrary, Debug)]
enum Register {
    Kept,
    Removed,
    Set(Value),
}

/// The lead the relay holds before the push.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Held {
    Senders,
    Another,
    Pool,
}

/// One push to try.
#[derive(Arbitrary, Debug)]
struct Case {
    manager: bool,
    /// Changes to the held lead (else a new document).
    to_held: bool,
    held: Held,
    /// Whether the changes carry their dependencies (a change built on the held state).
    with_dependencies: bool,
    /// The document names another document in `id` (else the one it is pushed as).
    id: Register,
    schema: Register,
    created_at: Register,
    created_by: Register,
    owner: Register,
    /// A second actor's owner written concurrently.
    concurrent_owner: Option<Value>,
    other: Vec<(String, Value)>,
}

fn apply(register: &Register, doc: &mut AutoCommit, key: &str) {
    match register {
        Register::Kept => {}
        Register::Removed => drop(doc.delete(ROOT, key)),
        Register::Set(value) => value.put(doc, key),
    }
}

fuzz_target!(|case: Case| {
    let sender = Viewer {
        member: "lina".into(),
        role: if case.manager {
            Role::Manager
        } else {
            Role::Rep
        },
    };
    let boss = Viewer {
        member: "boss".into(),
        role: Role::Manager,
    };
    let mut team =
        Team::new(MemoryTeamStore::default(), Budget::new(64 << 20)).max_document(1 << 20);
    // The held lead, pushed by a manager.
    let mut held = AutoCommit::new().with_actor(ActorId::from(b"held".as_slice()));
    put_skeleton(&mut held, "held", "boss").unwrap();
    match case.held {
        Held::Senders => held.put(ROOT, "owner", "lina").unwrap(),
        Held::Another => held.put(ROOT, "owner", "wang").unwrap(),
        Held::Pool => held.put(ROOT, "owner", ScalarValue::Null).unwrap(),
    }
    held.put(ROOT, "company", "Held Co").unwrap();
    let held_heads = held.get_heads();
    team.handle(
        &push("held", held.save(), Heads::new(held_heads.clone())),
        &boss,
    )
    .expect("a manager's well-formed lead is stored");

    let id = if case.to_held { "held" } else { "new" };
    let mut doc = if case.to_held && case.with_dependencies {
        held.fork().with_actor(ActorId::from(b"lina".as_slice()))
    } else {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(b"lina".as_slice()));
        put_skeleton(&mut doc, id, "lina").unwrap();
        doc
    };
    let base = if case.to_held && case.with_dependencies {
        held_heads
    } else {
        Vec::new()
    };
    apply(&case.id, &mut doc, "id");
    apply(&case.schema, &mut doc, "schema");
    apply(&case.created_at, &mut doc, "created_at");
    apply(&case.created_by, &mut doc, "created_by");
    apply(&case.owner, &mut doc, "owner");
    for (key, value) in case.other.iter().take(8) {
        value.put(&mut doc, key);
    }
    if let Some(value) = &case.concurrent_owner {
        let mut other = doc.fork().with_actor(ActorId::from(b"wang".as_slice()));
        value.put(&mut other, "owner");
        let _ = doc.merge(&mut other);
    }
    let heads = doc.get_heads();
    let data = doc.save_after(&base);
    if team
        .handle(&push(id, data, Heads::new(heads)), &sender)
        .is_ok()
    {
        // Acknowledged: the relay's copy reads as a lead.
        let answer = team.handle(
            &codec::encode(&Message::Want(Want {
                request: 1,
                docs: vec![Wanted {
                    id: id.into(),
                    have: Heads::default(),
                }],
            })),
            &boss,
        );
        if let Ok(outcome) = answer {
            for frame in &outcome.reply {
                if let Ok(Message::Docs(docs)) = codec::decode(frame) {
                    for doc in docs.docs {
                        let loaded =
                            automerge::Automerge::load(&doc.data).expect("the relay's copy loads");
                        check_document(&doc.id, &loaded).expect("the relay's copy reads as a lead");
                    }
                }
            }
        }
    }
});
