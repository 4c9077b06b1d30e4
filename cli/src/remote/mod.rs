//! The device's side of sync: the store seen as the protocol's [`DeviceDocs`], and one
//! websocket session with the relay.
//!
//! [`DeviceDocs`]: fieldsync_sync::DeviceDocs

pub mod replica;
pub mod session;
