//! A push frame of one document, as the relay targets send it.

use fieldsync_sync::message::{Message, Push};
use fieldsync_sync::{DocChanges, Heads, codec};

/// The frame pushing `data` as document `id` with `heads`, batch 1.
pub fn push(id: &str, data: Vec<u8>, heads: Heads) -> Vec<u8> {
    codec::encode(&Message::Push(Push {
        batch: 1,
        docs: vec![DocChanges {
            id: id.into(),
            heads,
            data,
        }],
    }))
}
