//! The store's redb tables, each declared once, and the metadata keys.

use redb::TableDefinition;

/// (filing time, lead id) -> the lead's Automerge document, saved whole. The filing time is
/// the lead's creation time in ms, or one past the last filing time if that is later, so new
/// leads append to the B-tree: random ids as the whole key left leaves half empty (2.8 KB of
/// file per sample lead against 2.0 KB in order, docs/benchmarks.md), and leads created in the
/// same millisecond (an import) slowed their writing by landing among each other at random.
pub const DOCS: TableDefinition<(u64, &str), &[u8]> = TableDefinition::new("docs");

/// Lead id -> the filing time its document is filed under in `DOCS`.
pub const DOC_KEYS: TableDefinition<&str, u64> = TableDefinition::new("doc_keys");

/// (lead id, sequence) -> an incremental change chunk not yet folded into `DOCS`.
pub const CHANGES: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("changes");

/// Lead id -> the lead's projection row (postcard-encoded `LeadRow`).
pub const ROWS: TableDefinition<&str, &[u8]> = TableDefinition::new("rows");

/// Lead id -> the document's current heads (32 bytes each), kept with every write so a sync
/// can compare documents without loading them.
pub const HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("heads");

/// Lead id -> the heads the relay has acknowledged holding.
pub const ACKED: TableDefinition<&str, &[u8]> = TableDefinition::new("acked");

/// Lead id -> nothing: the leads with changes the relay has not acknowledged yet.
pub const UNPUSHED: TableDefinition<&str, ()> = TableDefinition::new("unpushed");

/// `fieldsync_model::TEAM_DOC_ID` -> the team document, saved whole (crate::team).
pub const TEAM: TableDefinition<&str, &[u8]> = TableDefinition::new("team");

/// zstd dictionary id -> the dictionary `compact` packs documents with (crate::packing).
pub const DICTIONARIES: TableDefinition<u32, &[u8]> = TableDefinition::new("dictionaries");

/// Document id -> why the relay's copy could not be read (JSON `crate::quarantine::SetAside`).
pub const QUARANTINE: TableDefinition<&str, &[u8]> = TableDefinition::new("quarantine");

/// Metadata key -> JSON value.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Keys of the `META` table.
pub mod meta_key {
    /// Layout version of the store's tables (`STORE_SCHEMA`).
    pub const SCHEMA: &str = "schema_version";
    /// Version of the projection rows in `ROWS` (`fieldsync_model::row::ROW_VERSION`).
    pub const ROW_VERSION: &str = "row_version";
    /// This device's Automerge actor id, hex.
    pub const ACTOR: &str = "actor";
    /// The member using this device.
    pub const ME: &str = "me";
    /// The pipeline the store was made with; the team document's pipeline replaces it once
    /// the team edits it.
    pub const PIPELINE: &str = "pipeline";
    /// When the store was made.
    pub const CREATED_AT: &str = "created_at";
    /// The relay this device syncs with (`Remote`), once joined.
    pub const REMOTE: &str = "remote";
    /// The relay's changes-feed position this device has applied everything up to.
    pub const SINCE: &str = "since";
    /// The name of the relay's feed `SINCE` counts in.
    pub const FEED: &str = "feed";
    /// The sign-in ticket the relay gave this device for its next hello.
    pub const TICKET: &str = "sign_in_ticket";
    /// Per month, the last lead-number sequence this device used (`crate::numbers`).
    pub const NUMBERS: &str = "numbers";
    /// The savepoint of a staged write in progress (`crate::staged`); absent otherwise.
    pub const UNFINISHED_WRITE: &str = "unfinished_write";
}

/// Layout version of the store written by this code. Bump it, and add a migration or a clear
/// refusal, whenever a table changes meaning.
pub const STORE_SCHEMA: u32 = 4;

/// Pending incremental changes per lead before the document is re-saved whole.
pub const COMPACT_AFTER: u32 = 8;
