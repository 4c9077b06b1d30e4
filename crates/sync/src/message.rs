//! The protocol's messages: what a device and the relay say to each other.
//!
//! docs/protocol.md specifies each one on the wire; the comments here say what each is for.

use automerge::ChangeHash;
use fieldsync_model::heads;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The protocol version this code speaks, sent in [`Hello`].
pub const PROTOCOL_VERSION: u32 = 2;

/// A document's heads: the hashes of its latest changes, as 32-byte CBOR byte strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Heads(pub Vec<ChangeHash>);

impl Heads {
    /// Heads from a document's `get_heads()`, sorted so equal sets compare equal.
    pub fn new(mut hashes: Vec<ChangeHash>) -> Heads {
        hashes.sort_unstable();
        Heads(hashes)
    }

    /// The heads as a slice of hashes.
    pub fn hashes(&self) -> &[ChangeHash] {
        &self.0
    }

    /// The heads concatenated, 32 bytes each (the form stores keep them in).
    pub fn to_bytes(&self) -> Vec<u8> {
        heads::to_bytes(&self.0)
    }

    /// Heads from [`Heads::to_bytes`]; `None` if the length is not a multiple of 32.
    pub fn from_bytes(bytes: &[u8]) -> Option<Heads> {
        heads::from_bytes(bytes).map(Heads)
    }
}

impl Serialize for Heads {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<&serde_bytes::Bytes> = self
            .0
            .iter()
            .map(|hash| serde_bytes::Bytes::new(&hash.0))
            .collect();
        bytes.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Heads {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: Vec<serde_bytes::ByteBuf> = Vec::deserialize(deserializer)?;
        raw.iter()
            .map(|bytes| {
                ChangeHash::try_from(bytes.as_slice()).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "a change hash must be 32 bytes, got {}",
                        bytes.len()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Heads::new)
    }
}

/// The first frame a device sends: who it is and what it speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the device.
    pub version: u32,
    /// The team whose documents the device syncs.
    pub team: String,
    /// The member using the device.
    pub member: String,
    /// A name for the device (its Automerge actor id), for logs.
    pub device: String,
    /// The member's bearer token.
    pub token: String,
    /// The sign-in ticket the relay gave this device at its last sign-in ([`Welcome::ticket`]),
    /// or empty: it exempts the device from the throttle on failed sign-ins of its member.
    #[serde(default)]
    pub ticket: String,
}

impl Hello {
    /// The most bytes a hello's team, member or device name may hold (a member's name is 1 to
    /// 64 characters, so at most 256 bytes); longer is refused before anything is kept.
    pub const MAX_NAME_BYTES: usize = 256;
    /// The most bytes a hello's token or ticket may hold.
    pub const MAX_SECRET_BYTES: usize = 512;

    /// Whether every name and secret is within its bound.
    pub fn is_bounded(&self) -> bool {
        [&self.team, &self.member, &self.device]
            .iter()
            .all(|name| name.len() <= Self::MAX_NAME_BYTES)
            && self.token.len() <= Self::MAX_SECRET_BYTES
            && self.ticket.len() <= Self::MAX_SECRET_BYTES
    }
}

/// The relay's answer to a valid [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The relay's protocol version.
    pub version: u32,
    /// The latest sequence number in the team's changes feed.
    pub feed_head: u64,
    /// Names the feed the sequence numbers count in. It changes only when the relay's copy of
    /// the team is replaced (restored from a backup): a device that followed another feed of
    /// the team starts over, pushing everything it has. Empty from relays before it existed.
    #[serde(default)]
    pub feed: String,
    /// A secret for this device's next [`Hello::ticket`]; empty from relays before it existed.
    #[serde(default)]
    pub ticket: String,
    /// The relay's clock when it welcomed the device, in milliseconds since 1970-01-01 UTC, so
    /// a device can tell its own clock is wrong; absent from relays before it existed.
    #[serde(default)]
    pub time_ms: Option<i64>,
}

/// Changes to one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    /// The document id.
    pub id: String,
    /// The sender's heads of the document once these changes are applied.
    pub heads: Heads,
    /// Automerge change chunks (the output of `save_after` or `save`).
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A device's changes the relay has not acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    /// Numbers the push so its [`Ack`] can be matched to it.
    pub batch: u64,
    /// The changed documents.
    pub docs: Vec<DocChanges>,
}

/// The relay's answer to a [`Push`], sent once its storage committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The [`Push::batch`] answered.
    pub batch: u64,
    /// Documents stored durably, with the heads the device pushed.
    pub stored: Vec<Stored>,
    /// Documents whose changes depend on changes the relay does not have: the device
    /// should push them again whole.
    pub resend: Vec<String>,
}

/// One document of an [`Ack`] that the relay has stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The document id.
    pub id: String,
    /// The heads the device pushed, now held by the relay.
    pub heads: Heads,
}

/// A device asks for the team's changes feed after `since`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    /// The last feed sequence number the device has applied (0 for a new device).
    pub since: u64,
}

/// One entry of the changes feed: a document and its heads as of `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The document id.
    pub id: String,
    /// The document's latest sequence number in the feed.
    pub seq: u64,
    /// The relay's heads of the document.
    pub heads: Heads,
}

/// A page of the changes feed, answering a [`Pull`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The entries, in sequence order.
    pub entries: Vec<FeedEntry>,
    /// The feed position this page brings the device to once it has every entry.
    pub upto: u64,
    /// Whether this is the last page; live [`Update`]s follow it.
    pub last: bool,
    /// Documents changed in this page's part of the feed that the member no longer sees: the
    /// device drops them (after pushing any change of its own to them).
    #[serde(default)]
    pub revoked: Vec<String>,
}

/// One document a device asks for, with the heads it already has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    /// The document id.
    pub id: String,
    /// The device's heads of it (empty if it has none of it).
    pub have: Heads,
}

/// A device asks for documents it lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    /// Numbers the request; its [`Docs`] answers carry the same number.
    pub request: u64,
    /// The documents.
    pub docs: Vec<Wanted>,
}

/// The relay's changes for a [`Want`]; a large answer spans several frames.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Docs {
    /// The [`Want::request`] answered.
    pub request: u64,
    /// The documents' changes the device lacks.
    pub docs: Vec<DocChanges>,
    /// Whether this is the last frame of the answer.
    pub last: bool,
}

/// A document changed on the relay while the device is connected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The document's new sequence number in the feed.
    pub seq: u64,
    /// The new changes (relative to the relay's previous state of the document).
    pub doc: DocChanges,
}

/// Documents the member stopped seeing while the device is connected (a lead handed to
/// someone else): the device drops them, after pushing any change of its own to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    /// The feed number of the change that hid them.
    pub seq: u64,
    /// The documents.
    pub ids: Vec<String>,
}

/// A manager removes documents no device can read (set aside everywhere): the relay keeps a
/// tombstone for each, tells every device to drop it, and stores nothing more pushed to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remove {
    /// Numbers the request; its [`Removed`] answer carries the same number.
    pub request: u64,
    /// The documents.
    pub ids: Vec<String>,
}

/// The relay's answer to a [`Remove`], once the tombstones are durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// The [`Remove::request`] answered.
    pub request: u64,
    /// The documents removed now (those already removed, or unknown to the relay, are left out).
    pub ids: Vec<String>,
    /// The documents kept because they read as leads: a lead is deleted as a change of its own.
    #[serde(default)]
    pub readable: Vec<String>,
}

/// Every frame of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Message {
    /// Device to relay, first.
    Hello(Hello),
    /// Relay to device, answering `Hello`.
    Welcome(Welcome),
    /// Device to relay.
    Push(Push),
    /// Relay to device, answering `Push`.
    Ack(Ack),
    /// Device to relay.
    Pull(Pull),
    /// Relay to device, answering `Pull`.
    Offer(Offer),
    /// Device to relay.
    Want(Want),
    /// Relay to device, answering `Want`.
    Docs(Docs),
    /// Relay to device, unasked.
    Update(Update),
    /// Relay to device, unasked.
    Revoke(Revoke),
    /// Device (a manager's) to relay.
    Remove(Remove),
    /// Relay to device, answering `Remove`.
    Removed(Removed),
}

impl Message {
    /// The message's name on the wire, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Welcome(_) => "welcome",
            Message::Push(_) => "push",
            Message::Ack(_) => "ack",
            Message::Pull(_) => "pull",
            Message::Offer(_) => "offer",
            Message::Want(_) => "want",
            Message::Docs(_) => "docs",
            Message::Update(_) => "update",
            Message::Revoke(_) => "revoke",
            Message::Remove(_) => "remove",
            Message::Removed(_) => "removed",
        }
    }
}
