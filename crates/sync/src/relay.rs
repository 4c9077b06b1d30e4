//! The relay's side of the protocol: the handshake of one connection and the team it serves.
//!
//! [`Team`] merges pushed changes into its copy of each document, has its [`TeamStore`] commit
//! them with the next feed sequence numbers, and only then acknowledges them and produces the
//! announcements to forward to the team's other connected devices. It holds recently used
//! documents in a bounded cache, so memory does not grow with the number of documents ever
//! touched.
//!
//! Every lead's [`Access`] (its owner register and who may hold it) is committed with the
//! lead, so offers, answers and announcements carry only what the [`Viewer`] may see, and a
//! rep's push that takes another rep's lead, or touches a lead never shared with them, is
//! refused before anything of it is stored.

use std::sync::Arc;

use automerge::{Automerge, ReadDoc};
use fieldsync_model::lineage::check_rep_changes;
use fieldsync_model::visibility::{Access, VisibilityError, check_rep_owner_writes, owner_ops};
use fieldsync_model::well_formed::{DocumentError, check_document};
use fieldsync_model::{Member, Role, Stamp, TEAM_DOC_ID, TeamDoc};

use crate::announce::{Announcement, Viewer};
use crate::close::CloseReason;
use crate::codec;
use crate::message::{
    Ack, FeedEntry, Heads, Hello, Message, PROTOCOL_VERSION, Push, Stored, Welcome,
};

mod answer;
mod cache;
mod memory;
mod remove;

pub use answer::{Continuation, DOCS_FRAME_BYTES, OFFER_PAGE, STEP_BYTES};
pub use cache::{Budget, Loaded, MEMORY_PER_SAVED_BYTE};
pub use memory::MemoryTeamStore;

/// The largest a lead's document may be by default, stored or its new changes in memory: a
/// lead is kilobytes (a thousand follow-ups of a few hundred characters fit), so this is what
/// cannot be a lead.
pub const MAX_DOCUMENT: usize = 4 << 20;
/// Longest document id the relay accepts.
pub const MAX_ID_LEN: usize = 64;

/// A document's new changes, ready to be stored and numbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChanges {
    /// The document id.
    pub id: String,
    /// The change chunks the relay did not have before.
    pub data: Vec<u8>,
    /// The relay's heads of the document with them.
    pub heads: Heads,
    /// Who sees the document now (`None` for the team document, which everyone sees). An
    /// `owners_since` of 0 means the change moved the owner register: the store records the
    /// change's feed number there.
    pub access: Option<Access>,
}

/// A team's durable documents and changes feed, as the relay needs them.
pub trait TeamStore {
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A document's stored chunks, concatenated (loadable by `Automerge::load`).
    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// A document's access as last committed (`None` for the team document or a document the
    /// relay does not have).
    fn access(&mut self, id: &str) -> Result<Option<Access>, Self::Error>;
    /// Stores every document's new changes and access in one durable transaction and gives
    /// each the next feed sequence number, in order; records, in the same transaction, that
    /// the roles of `role_changed` changed at the new feed head. A change whose access says
    /// removed drops the document's bytes (a tombstone: its access and feed entry stay).
    /// Returns the numbers.
    fn commit(
        &mut self,
        changes: &[NewChanges],
        role_changed: &[String],
    ) -> Result<Vec<u64>, Self::Error>;
    /// Up to `limit` feed entries after `after`, in sequence order (each document appears once,
    /// at its latest number), each with the document's access.
    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, Self::Error>;
    /// The latest sequence number (0 for an empty feed).
    fn feed_head(&mut self) -> Result<u64, Self::Error>;
    /// The feed head when `member`'s role last changed (0 if it never did).
    fn role_changed_at(&mut self, member: &str) -> Result<u64, Self::Error>;
    /// Names this feed; a new name when the store is replaced (see [`Welcome::feed`]).
    fn feed_id(&mut self) -> Result<String, Self::Error>;
}

/// A boxed store is a store, so a relay can choose its storage engine at run time.
impl<S: TeamStore + ?Sized> TeamStore for Box<S> {
    type Error = S::Error;

    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, Self::Error> {
        (**self).load(id)
    }
    fn access(&mut self, id: &str) -> Result<Option<Access>, Self::Error> {
        (**self).access(id)
    }
    fn commit(
        &mut self,
        changes: &[NewChanges],
        role_changed: &[String],
    ) -> Result<Vec<u64>, Self::Error> {
        (**self).commit(changes, role_changed)
    }
    fn feed(
        &mut self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(FeedEntry, Option<Access>)>, Self::Error> {
        (**self).feed(after, limit)
    }
    fn feed_head(&mut self) -> Result<u64, Self::Error> {
        (**self).feed_head()
    }
    fn role_changed_at(&mut self, member: &str) -> Result<u64, Self::Error> {
        (**self).role_changed_at(member)
    }
    fn feed_id(&mut self) -> Result<String, Self::Error> {
        (**self).feed_id()
    }
}

/// Why the relay ends a connection while handling a message.
#[derive(Debug, thiserror::Error)]
pub enum Refusal<E: std::error::Error + 'static> {
    /// The device broke the protocol.
    #[error("{0}")]
    Protocol(String),
    /// A member who is not a manager pushed changes to the team document.
    #[error("a {0} pushed changes to the team document, which only managers may change")]
    NotManager(Role),
    /// A rep pushed changes to a lead they may not change.
    #[error("{0}")]
    Forbidden(VisibilityError),
    /// The relay's storage failed.
    #[error("storage failed: {0}")]
    Storage(E),
    /// A document larger than the relay accepts for one lead.
    #[error(
        "document {id} would be {bytes} bytes, more than the {limit} a lead may be on this relay"
    )]
    TooLarge {
        /// The document.
        id: String,
        /// Its size with the push, as stored or in memory, whichever is larger.
        bytes: usize,
        /// The relay's limit.
        limit: usize,
    },
    /// A pushed document that does not read as a lead or the team document, or names an owner
    /// who is not on the team.
    #[error("{0}")]
    Malformed(DocumentError),
    /// The relay's own copy is unusable (a stored document that does not load, a team document
    /// it cannot update): its failure, not the device's, so the device is told to try later.
    #[error("the relay's copy failed: {0}")]
    Stored(String),
}

impl<E: std::error::Error + 'static> Refusal<E> {
    /// The close reason to send.
    pub fn close_reason(&self) -> CloseReason {
        match self {
            Refusal::Protocol(_) => CloseReason::Protocol,
            Refusal::NotManager(_) => CloseReason::NotManager,
            Refusal::Forbidden(_) => CloseReason::Forbidden,
            Refusal::TooLarge { .. } => CloseReason::DocumentTooLarge,
            Refusal::Malformed(_) => CloseReason::Malformed,
            Refusal::Storage(_) | Refusal::Stored(_) => CloseReason::Storage,
        }
    }
}

/// What recording the team's members did.
#[derive(Debug, Default)]
pub struct MembersRecorded {
    /// The team document's change, if anything differed.
    pub announcements: Vec<Announcement>,
    /// Members whose role changed: what they see changed, so their connections should close.
    pub role_changed: Vec<String>,
}

/// What handling one message produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Frames for the device that sent the message, in order.
    pub reply: Vec<Vec<u8>>,
    /// Announcements for every other connected device of the team, each to be sent as its
    /// [`Announcement::frame_for`] the device's viewer.
    pub broadcast: Vec<Announcement>,
    /// Whether the device should receive broadcasts from now on (it has pulled the feed).
    pub subscribe: bool,
    /// Documents stored (for metrics).
    pub stored: usize,
    /// Where the answer continues, if it is long: [`Team::resume`] it once the device has
    /// read this step's reply.
    pub more: Option<Continuation>,
}

/// Checks a device's first frame: a hello, in this protocol version, from someone `authorize`
/// accepts (it checks the team, member and token). Returns the hello.
pub fn accept_hello(
    frame: &[u8],
    authorize: impl FnOnce(&Hello) -> Result<(), CloseReason>,
) -> Result<Hello, CloseReason> {
    // A hello is small and plain: a compressed one could make an unauthenticated connection
    // expand far more than it sent.
    if frame.first() != Some(&codec::CODEC_VERSION) {
        return Err(CloseReason::Protocol);
    }
    let Ok(Message::Hello(hello)) = codec::decode(frame) else {
        return Err(CloseReason::Protocol);
    };
    if hello.version != PROTOCOL_VERSION {
        return Err(CloseReason::Version);
    }
    if !hello.is_bounded() {
        return Err(CloseReason::Protocol);
    }
    authorize(&hello)?;
    Ok(hello)
}

/// The frame welcoming an accepted device, with the team's feed and its head, the device's
/// next sign-in ticket and the relay's clock (milliseconds since 1970-01-01 UTC).
pub fn welcome(feed: String, feed_head: u64, ticket: String, time_ms: i64) -> Vec<u8> {
    codec::encode(&Message::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        feed_head,
        feed,
        ticket,
        time_ms: Some(time_ms),
    }))
}

/// One team's documents as the relay serves them.
pub struct Team<S: TeamStore> {
    store: S,
    cache: cache::DocCache,
    max_document: usize,
}

impl<S: TeamStore> Team<S> {
    /// Serves `store`, keeping documents loaded within `budget`, which it may share with
    /// other teams.
    pub fn new(store: S, budget: Arc<Budget>) -> Team<S> {
        Team {
            store,
            cache: cache::DocCache::new(budget),
            max_document: MAX_DOCUMENT,
        }
    }

    /// Refuses documents larger than `bytes` (stored, or their new changes in memory)
    /// instead of [`MAX_DOCUMENT`].
    pub fn max_document(mut self, bytes: usize) -> Team<S> {
        self.max_document = bytes;
        self
    }

    /// The store.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Documents loaded now.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The feed's name and latest sequence number.
    pub fn feed(&mut self) -> Result<(String, u64), S::Error> {
        Ok((self.store.feed_id()?, self.store.feed_head()?))
    }

    /// Handles one frame from an authenticated device of `viewer`.
    pub fn handle(&mut self, frame: &[u8], viewer: &Viewer) -> Result<Outcome, Refusal<S::Error>> {
        let message = codec::decode(frame).map_err(|err| Refusal::Protocol(err.to_string()))?;
        match message {
            Message::Push(push) => self.push(push, viewer),
            Message::Pull(pull) => self.pull(pull.since, viewer),
            Message::Want(want) => self.answer(want.request, want.docs.into_iter(), viewer),
            Message::Remove(remove) => self.remove(remove, viewer),
            other => Err(Refusal::Protocol(format!(
                "a device may not send '{}' after hello",
                other.kind()
            ))),
        }
    }

    /// Takes a document out of the cache, or loads it (an empty one if the relay has none).
    fn take(&mut self, id: &str) -> Result<Loaded, Refusal<S::Error>> {
        if let Some(loaded) = self.cache.take(id) {
            return Ok(loaded);
        }
        match self.store.load(id).map_err(Refusal::Storage)? {
            Some(bytes) => match Automerge::load(&bytes) {
                Ok(doc) => Ok(Loaded::new(doc, bytes.len())),
                Err(err) => Err(Refusal::Stored(format!(
                    "stored document {id} does not load: {err}"
                ))),
            },
            None => Ok(Loaded::new(Automerge::new(), 0)),
        }
    }

    /// Puts a document back in the cache after use.
    fn keep(&mut self, id: String, loaded: Loaded) {
        self.cache.put(id, loaded);
    }

    fn push(&mut self, push: Push, viewer: &Viewer) -> Result<Outcome, Refusal<S::Error>> {
        let rep = viewer.role != Role::Manager;
        if rep && push.docs.iter().any(|doc| doc.id == TEAM_DOC_ID) {
            return Err(Refusal::NotManager(viewer.role));
        }
        // A member whose role ever changed was a manager once, and may hold any lead.
        let was_manager = rep
            && self
                .store
                .role_changed_at(&viewer.member)
                .map_err(Refusal::Storage)?
                > 0;
        let mut merged = Vec::with_capacity(push.docs.len());
        let mut new_changes = Vec::new();
        let mut stored = Vec::new();
        let mut resend = Vec::new();
        for pushed in push.docs {
            check_id(&pushed.id)?;
            let lead = pushed.id != TEAM_DOC_ID;
            let access = match lead {
                true => self.store.access(&pushed.id).map_err(Refusal::Storage)?,
                false => None,
            };
            if access.as_ref().is_some_and(|a| a.removed) {
                // A tombstone takes nothing more: the device is done with what it pushed, and
                // drops the document at its next pull.
                stored.push(Stored {
                    id: pushed.id,
                    heads: pushed.heads,
                });
                continue;
            }
            let never_visible = access
                .as_ref()
                .is_some_and(|a| !a.may_hold(&viewer.member, viewer.role));
            if rep && !was_manager && never_visible {
                return Err(Refusal::Forbidden(VisibilityError::NeverVisible {
                    member: viewer.member.clone(),
                    id: pushed.id,
                }));
            }
            if pushed.data.len() > self.max_document {
                return Err(Refusal::TooLarge {
                    id: pushed.id,
                    bytes: pushed.data.len(),
                    limit: self.max_document,
                });
            }
            let mut loaded = self.take(&pushed.id)?;
            let doc = &mut loaded.doc;
            let before = doc.get_heads();
            let owners_before = owner_ops(doc);
            if let Err(err) = doc.load_incremental(&pushed.data) {
                return Err(Refusal::Protocol(format!(
                    "the changes pushed for document {} do not load: {err}",
                    pushed.id
                )));
            }
            let complete = doc.get_missing_deps(&[]).is_empty()
                && pushed
                    .heads
                    .hashes()
                    .iter()
                    .all(|hash| doc.get_change_by_hash(hash).is_some());
            if !complete {
                // The document keeps no trace of the push: it is dropped and reloaded.
                resend.push(pushed.id);
                continue;
            }
            check_document(&pushed.id, doc).map_err(Refusal::Malformed)?;
            let owners_after = owner_ops(doc);
            let mut discounted = Vec::new();
            if rep && lead {
                check_rep_owner_writes(&pushed.id, &viewer.member, &owners_before, &owners_after)
                    .map_err(Refusal::Forbidden)?;
                if !was_manager {
                    let known = access.clone().unwrap_or_default();
                    let overruled = known.overruled.contains(&viewer.member);
                    let verdict =
                        check_rep_changes(&pushed.id, &viewer.member, doc, &before, overruled)
                            .map_err(Refusal::Forbidden)?;
                    if verdict.discounted {
                        discounted = owners_after
                            .iter()
                            .filter(|(_, op)| !owners_before.iter().any(|(_, b)| b == op))
                            .map(|(_, op)| op.to_string())
                            .collect();
                    }
                }
            }
            // A manager may assign leads to someone not on the team yet (an import made
            // before the reps were added); a rep may name only a member.
            if lead && rep && !was_manager {
                self.check_owners_are_members(&pushed.id, &owners_before, &owners_after)?;
            }
            // A document new to the relay is kept as pushed (a saved document is far more
            // compact than its changes one by one); otherwise only what was new is kept.
            let data = if before.is_empty() {
                pushed.data
            } else {
                doc.save_after(&before)
            };
            // What cannot be a lead is refused before it is stored: its new changes as they
            // are in memory (compression cannot hide them), and the document as stored.
            let unpacked: usize = doc
                .get_changes(&before)
                .iter()
                .map(|change| change.raw_bytes().len())
                .sum();
            let bytes = unpacked.max(loaded.saved + data.len());
            if bytes > self.max_document {
                return Err(Refusal::TooLarge {
                    id: pushed.id,
                    bytes,
                    limit: self.max_document,
                });
            }
            loaded.saved += data.len();
            let doc = &loaded.doc;
            if !data.is_empty() {
                let after = lead.then(|| {
                    let mut known = access.clone().unwrap_or_else(|| Access::of(doc));
                    known.discounted.extend(discounted);
                    known.follow(doc, Some(&viewer.member))
                });
                // The store numbers the change; a change to the owners is marked with 0 until then.
                let after = after.map(|mut after| {
                    if access
                        .as_ref()
                        .is_none_or(|before| before.owners != after.owners)
                    {
                        after.owners_since = 0;
                    }
                    after
                });
                new_changes.push((
                    NewChanges {
                        id: pushed.id.clone(),
                        data,
                        heads: Heads::new(doc.get_heads()),
                        access: after,
                    },
                    access,
                    before.is_empty(),
                ));
            }
            stored.push(Stored {
                id: pushed.id.clone(),
                heads: pushed.heads,
            });
            merged.push((pushed.id, loaded));
        }
        let broadcast = self.commit(new_changes, merged, &[])?;
        let ack = Message::Ack(Ack {
            batch: push.batch,
            stored: stored.clone(),
            resend,
        });
        Ok(Outcome {
            reply: vec![codec::encode(&ack)],
            broadcast,
            stored: stored.len(),
            ..Outcome::default()
        })
    }

    /// Refuses a rep's push that names as the lead's owner someone who has never been on the
    /// team.
    fn check_owners_are_members(
        &mut self,
        id: &str,
        before: &fieldsync_model::visibility::OwnerOps,
        after: &fieldsync_model::visibility::OwnerOps,
    ) -> Result<(), Refusal<S::Error>> {
        let named: Vec<&String> = after
            .iter()
            .filter(|(_, op)| !before.iter().any(|(_, b)| b == op))
            .filter_map(|(value, _)| value.as_ref())
            .collect();
        if named.is_empty() {
            return Ok(());
        }
        let loaded = self.take(TEAM_DOC_ID)?;
        let team = TeamDoc::from_automerge(loaded.doc);
        let members = team.members();
        let saved = loaded.saved;
        self.keep(
            TEAM_DOC_ID.to_owned(),
            Loaded::new(team.into_automerge(), saved),
        );
        // A relay that has not yet written its roster cannot judge the name.
        let stranger = named
            .into_iter()
            .find(|name| !members.is_empty() && !members.iter().any(|m| &m.name == *name));
        match stranger {
            Some(name) => Err(Refusal::Malformed(DocumentError::BadOwner {
                id: id.to_owned(),
                found: format!("'{}', who is not on the team", name.escape_debug()),
            })),
            None => Ok(()),
        }
    }

    /// Stores new changes durably (each with its access before, and whether the document is
    /// new to the relay), keeps the documents they came from cached, and returns the
    /// announcements for the team's connected devices.
    fn commit(
        &mut self,
        new_changes: Vec<(NewChanges, Option<Access>, bool)>,
        docs: Vec<(String, Loaded)>,
        role_changed: &[String],
    ) -> Result<Vec<Announcement>, Refusal<S::Error>> {
        let (changes, previous): (Vec<NewChanges>, Vec<(Option<Access>, bool)>) = new_changes
            .into_iter()
            .map(|(change, before, new)| (change, (before, new)))
            .unzip();
        let seqs = self
            .store
            .commit(&changes, role_changed)
            .map_err(Refusal::Storage)?;
        // A change that moved the owners reaches those who now see the lead whole.
        let wholes: Vec<Option<Vec<u8>>> = changes
            .iter()
            .zip(&previous)
            .map(|(change, (before, new))| {
                let moved = !new
                    && before.as_ref().map(|a| &a.owners)
                        != change.access.as_ref().map(|a| &a.owners);
                moved
                    .then(|| docs.iter().find(|(id, _)| *id == change.id))
                    .flatten()
                    .map(|(_, loaded)| loaded.doc.save())
            })
            .collect();
        for (id, loaded) in docs {
            self.keep(id, loaded);
        }
        Ok(changes
            .into_iter()
            .zip(previous)
            .zip(seqs)
            .zip(wholes)
            .map(|(((change, (before, new)), seq), whole)| {
                Announcement::new(seq, change, before, new, whole)
            })
            .collect())
    }

    /// Records the team's members (from the relay's members file, the authority on who is in
    /// the team) in the team document, as a change of its own if anything differs, and notes
    /// whose role changed.
    pub fn record_members(
        &mut self,
        roster: &[Member],
        stamp: &Stamp,
    ) -> Result<MembersRecorded, Refusal<S::Error>> {
        let loaded = self.take(TEAM_DOC_ID)?;
        let before = loaded.doc.get_heads();
        let mut team = TeamDoc::from_automerge(loaded.doc);
        let role_changed: Vec<String> = roster
            .iter()
            .filter(|member| {
                team.member(&member.name)
                    .is_some_and(|was| !was.removed && was.role != member.role)
            })
            .map(|member| member.name.clone())
            .collect();
        let changed = team
            .set_members(roster, stamp)
            .map_err(|err| Refusal::Stored(format!("the team document: {err}")))?;
        let doc = team.into_automerge();
        let data = match changed {
            true => doc.save_after(&before),
            false => Vec::new(),
        };
        let doc = Loaded::new(doc, loaded.saved + data.len());
        let new_changes = match changed {
            true => vec![(
                NewChanges {
                    id: TEAM_DOC_ID.to_owned(),
                    data,
                    heads: Heads::new(doc.doc.get_heads()),
                    access: None,
                },
                None,
                before.is_empty(),
            )],
            false => Vec::new(),
        };
        let announcements = self.commit(
            new_changes,
            vec![(TEAM_DOC_ID.to_owned(), doc)],
            &role_changed,
        )?;
        Ok(MembersRecorded {
            announcements,
            role_changed,
        })
    }
}

fn check_id<E: std::error::Error>(id: &str) -> Result<(), Refusal<E>> {
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::Protocol(format!(
            "document id '{}' is not 1 to {MAX_ID_LEN} printable ASCII characters",
            id.escape_debug()
        )));
    }
    Ok(())
}
