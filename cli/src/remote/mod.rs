//! The device's side of sync: the store seen as the protocol's [`DeviceDocs`], one
//! websocket session with the relay, and TLS for `wss://` relays.
//!
//! [`DeviceDocs`]: fieldsync_sync::DeviceDocs

pub mod replica;
pub mod session;
pub mod tls;
