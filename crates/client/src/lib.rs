//! fieldsync-client: the device's side of sync, used by every front end (the command line
//! today, the web app next), so none of them speaks the protocol itself.
//!
//! - [`clock`]: whether this device's clock agrees with the relay's.
//! - [`pass`]: who this device is on the relay, and one sync pass.
//! - [`replica`]: the store seen as the protocol's [`fieldsync_sync::DeviceDocs`].
//! - [`session`]: one websocket session with the relay, until synced or, watching, until it
//!   ends; a removed member's data is wiped here.
//! - [`watch`]: staying synced, reconnecting with backoff, reporting what happens as events.
//! - [`tls`]: TLS for `wss://` relays: the trusted roots and one clear line for a certificate
//!   the device does not trust.

pub mod clock;
pub mod pass;
pub mod replica;
pub mod session;
pub mod tls;
pub mod watch;
