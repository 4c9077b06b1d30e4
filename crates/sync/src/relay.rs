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

use std::num::NonZeroUsize;

use automerge::{Automerge, ReadDoc};
use fieldsync_model::visibility::{Access, VisibilityError, check_rep_owner_writes, owner_ops};
use fieldsync_model::{Member, Role, Stamp, TEAM_DOC_ID, TeamDoc};
use lru::LruCache;

use crate::announce::{Announcement, Viewer};
use crate::close::CloseReason;
use crate::codec;
use crate::message::{
    Ack, DocChanges, Docs, FeedEntry, Heads, Hello, Message, Offer, PROTOCOL_VERSION, Push, Stored,
    Want, Welcome,
};

/// Feed entries per offer frame.
pub const OFFER_PAGE: usize = 512;
/// Bytes of document data per docs frame, before the answer continues in another frame.
pub const DOCS_FRAME_BYTES: usize = 1 << 20;
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
    /// the roles of `role_changed` changed at the new feed head. Returns the numbers.
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
    authorize(&hello)?;
    Ok(hello)
}

/// The frame welcoming an accepted device, with the team's feed head.
pub fn welcome(feed_head: u64) -> Vec<u8> {
    codec::encode(&Message::Welcome(Welcome {
        version: PROTOCOL_VERSION,
        feed_head,
    }))
}

/// One team's documents as the relay serves them.
pub struct Team<S: TeamStore> {
    store: S,
    cache: LruCache<String, Automerge>,
}

impl<S: TeamStore> Team<S> {
    /// Serves `store`, keeping at most `cached_docs` documents loaded.
    pub fn new(store: S, cached_docs: NonZeroUsize) -> Team<S> {
        Team {
            store,
            cache: LruCache::new(cached_docs),
        }
    }

    /// The store.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Documents loaded now.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The latest feed sequence number.
    pub fn feed_head(&mut self) -> Result<u64, S::Error> {
        self.store.feed_head()
    }

    /// Handles one frame from an authenticated device of `viewer`.
    pub fn handle(&mut self, frame: &[u8], viewer: &Viewer) -> Result<Outcome, Refusal<S::Error>> {
        let message = codec::decode(frame).map_err(|err| Refusal::Protocol(err.to_string()))?;
        match message {
            Message::Push(push) => self.push(push, viewer),
            Message::Pull(pull) => self.pull(pull.since, viewer),
            Message::Want(want) => self.want(want, viewer),
            other => Err(Refusal::Protocol(format!(
                "a device may not send '{}' after hello",
                other.kind()
            ))),
        }
    }

    /// Takes a document out of the cache, or loads it (an empty one if the relay has none).
    fn take(&mut self, id: &str) -> Result<Automerge, Refusal<S::Error>> {
        if let Some(doc) = self.cache.pop(id) {
            return Ok(doc);
        }
        match self.store.load(id).map_err(Refusal::Storage)? {
            Some(bytes) => Automerge::load(&bytes).map_err(|err| {
                Refusal::Stored(format!("stored document {id} does not load: {err}"))
            }),
            None => Ok(Automerge::new()),
        }
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
            let never_visible = access
                .as_ref()
                .is_some_and(|a| !a.may_hold(&viewer.member, viewer.role));
            if rep && !was_manager && never_visible {
                return Err(Refusal::Forbidden(VisibilityError::NeverVisible {
                    member: viewer.member.clone(),
                    id: pushed.id,
                }));
            }
            let mut doc = self.take(&pushed.id)?;
            let before = doc.get_heads();
            let owners_before = owner_ops(&doc);
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
            if rep && lead {
                check_rep_owner_writes(
                    &pushed.id,
                    &viewer.member,
                    &owners_before,
                    &owner_ops(&doc),
                )
                .map_err(Refusal::Forbidden)?;
            }
            // A document new to the relay is kept as pushed (a saved document is far more
            // compact than its changes one by one); otherwise only what was new is kept.
            let data = if before.is_empty() {
                pushed.data
            } else {
                doc.save_after(&before)
            };
            if !data.is_empty() {
                let after = lead.then(|| {
                    access
                        .clone()
                        .unwrap_or_else(|| Access::of(&doc))
                        .follow(&doc, Some(&viewer.member))
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
            merged.push((pushed.id, doc));
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
            subscribe: false,
            stored: stored.len(),
        })
    }

    /// Stores new changes durably (each with its access before, and whether the document is
    /// new to the relay), keeps the documents they came from cached, and returns the
    /// announcements for the team's connected devices.
    fn commit(
        &mut self,
        new_changes: Vec<(NewChanges, Option<Access>, bool)>,
        docs: Vec<(String, Automerge)>,
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
                    .map(|(_, doc)| doc.save())
            })
            .collect();
        for (id, doc) in docs {
            self.cache.put(id, doc);
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
        let doc = self.take(TEAM_DOC_ID)?;
        let before = doc.get_heads();
        let mut team = TeamDoc::from_automerge(doc);
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
        let new_changes = match changed {
            true => vec![(
                NewChanges {
                    id: TEAM_DOC_ID.to_owned(),
                    data: doc.save_after(&before),
                    heads: Heads::new(doc.get_heads()),
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

    /// Offers the feed after `since` as `viewer` sees it: the documents they see, and, as
    /// revoked, those they may hold and no longer see. A device whose member's role changed
    /// since its position is offered the whole feed again, so what the new role sees arrives
    /// and everything else is revoked (as a manager it could have held any lead).
    fn pull(&mut self, since: u64, viewer: &Viewer) -> Result<Outcome, Refusal<S::Error>> {
        let head = self.store.feed_head().map_err(Refusal::Storage)?;
        let role_changed_at = self
            .store
            .role_changed_at(&viewer.member)
            .map_err(Refusal::Storage)?;
        let rescan = since < role_changed_at;
        let mut after = if rescan { 0 } else { since };
        let mut reply = Vec::new();
        let mut offer = Offer {
            entries: Vec::new(),
            upto: 0,
            last: false,
            revoked: Vec::new(),
        };
        loop {
            let chunk = self
                .store
                .feed(after, OFFER_PAGE)
                .map_err(Refusal::Storage)?;
            let end = chunk.len() < OFFER_PAGE;
            for (entry, access) in chunk {
                after = entry.seq;
                if viewer.sees(access.as_ref()) {
                    offer.entries.push(entry);
                } else if rescan
                    || access.is_some_and(|access| {
                        access.may_hold_since(&viewer.member, viewer.role, since)
                    })
                {
                    offer.revoked.push(entry.id);
                }
                if offer.entries.len() + offer.revoked.len() >= OFFER_PAGE {
                    offer.upto = after;
                    reply.push(codec::encode(&Message::Offer(std::mem::replace(
                        &mut offer,
                        Offer {
                            entries: Vec::new(),
                            upto: 0,
                            last: false,
                            revoked: Vec::new(),
                        },
                    ))));
                }
            }
            if end {
                break;
            }
        }
        offer.upto = head.max(since);
        offer.last = true;
        reply.push(codec::encode(&Message::Offer(offer)));
        Ok(Outcome {
            reply,
            broadcast: Vec::new(),
            subscribe: true,
            stored: 0,
        })
    }

    /// Answers a want with the changes the device lacks, leaving out the documents `viewer`
    /// does not see.
    fn want(&mut self, want: Want, viewer: &Viewer) -> Result<Outcome, Refusal<S::Error>> {
        let mut reply = Vec::new();
        let mut frame_docs = Vec::new();
        let mut frame_bytes = 0;
        for wanted in want.docs {
            check_id(&wanted.id)?;
            if wanted.id != TEAM_DOC_ID {
                let access = self.store.access(&wanted.id).map_err(Refusal::Storage)?;
                if !viewer.sees(access.as_ref()) {
                    continue;
                }
            }
            let data = if wanted.have.hashes().is_empty() {
                // A document the device lacks entirely goes as stored (compact, and without
                // loading it).
                self.store.load(&wanted.id).map_err(Refusal::Storage)?
            } else {
                let doc = self.take(&wanted.id)?;
                let data = doc.save_after(wanted.have.hashes());
                self.cache.put(wanted.id.clone(), doc);
                Some(data)
            };
            let Some(data) = data.filter(|data| !data.is_empty()) else {
                continue;
            };
            frame_bytes += data.len();
            frame_docs.push(DocChanges {
                id: wanted.id,
                heads: Heads::default(),
                data,
            });
            if frame_bytes >= DOCS_FRAME_BYTES {
                reply.push(codec::encode(&Message::Docs(Docs {
                    request: want.request,
                    docs: std::mem::take(&mut frame_docs),
                    last: false,
                })));
                frame_bytes = 0;
            }
        }
        reply.push(codec::encode(&Message::Docs(Docs {
            request: want.request,
            docs: frame_docs,
            last: true,
        })));
        Ok(Outcome {
            reply,
            ..Outcome::default()
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
