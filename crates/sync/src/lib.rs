//! fieldsync's sync protocol, with no sockets in it: the messages, their codec, the
//! handshake, and the per-document bookkeeping on each side. The relay and the command line
//! plug a websocket into it; tests plug in-memory pipes.
//!
//! - [`message`]: every message and its fields.
//! - [`codec`]: one message per frame, a format byte then CBOR, compressed when that pays.
//! - [`close`]: why the relay closes a connection, and what the user is told.
//! - [`device`]: a device's session: push what the relay lacks, pull what the device lacks.
//! - [`relay`]: the relay's handshake and the team it serves: merge, commit, acknowledge, forward.
//! - [`announce`]: what each connected device is told of a stored change, as its member sees it.
//!
//! docs/protocol.md describes the exchange for implementers in other languages.

pub mod announce;
pub mod close;
pub mod codec;
pub mod device;
pub mod message;
pub mod relay;

pub use announce::{Announcement, Reach, Viewer};
pub use close::CloseReason;
pub use device::{DeviceDocs, DeviceError, DeviceSession, DeviceStats};
pub use message::{DocChanges, FeedEntry, Heads, Hello, Message, PROTOCOL_VERSION, Stored};
pub use relay::{
    MembersRecorded, NewChanges, Outcome, Refusal, Team, TeamStore, accept_hello, welcome,
};
