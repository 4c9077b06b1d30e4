//! The relay's side of the protocol: the handshake of one connection and the team it serves.
//!
//! [`Team`] merges pushed changes into its copy of each document, has its [`TeamStore`] commit
//! them with the next feed sequence numbers, and only then acknowledges them and produces the
//! updates to forward to the team's other connected devices. It holds recently used documents
//! in a bounded cache, so memory does not grow with the number of documents ever touched.

use std::num::NonZeroUsize;

use automerge::{Automerge, ReadDoc};
use fieldsync_model::{Member, Role, Stamp, TEAM_DOC_ID, TeamDoc};
use lru::LruCache;

use crate::close::CloseReason;
use crate::codec;
use crate::message::{
    Ack, DocChanges, Docs, FeedEntry, Heads, Hello, Message, Offer, PROTOCOL_VERSION, Push, Stored,
    Update, Want, Welcome,
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
}

/// A team's durable documents and changes feed, as the relay needs them.
pub trait TeamStore {
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A document's stored chunks, concatenated (loadable by `Automerge::load`).
    fn load(&mut self, id: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Stores every document's new changes in one durable transaction and gives each the next
    /// feed sequence number, in order. Returns the numbers.
    fn commit(&mut self, changes: &[NewChanges]) -> Result<Vec<u64>, Self::Error>;
    /// Up to `limit` feed entries after `after`, in sequence order (each document appears once,
    /// at its latest number).
    fn feed(&mut self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, Self::Error>;
    /// The latest sequence number (0 for an empty feed).
    fn feed_head(&mut self) -> Result<u64, Self::Error>;
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
    /// The relay's storage failed.
    #[error("storage failed: {0}")]
    Storage(E),
}

impl<E: std::error::Error + 'static> Refusal<E> {
    /// The close reason to send.
    pub fn close_reason(&self) -> CloseReason {
        match self {
            Refusal::Protocol(_) => CloseReason::Protocol,
            Refusal::NotManager(_) => CloseReason::NotManager,
            Refusal::Storage(_) => CloseReason::Storage,
        }
    }
}

/// What handling one message produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Frames for the device that sent the message, in order.
    pub reply: Vec<Vec<u8>>,
    /// Frames for every other connected device of the team.
    pub broadcast: Vec<Vec<u8>>,
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

    /// Handles one frame from an authenticated device of a member with `role`.
    pub fn handle(&mut self, frame: &[u8], role: Role) -> Result<Outcome, Refusal<S::Error>> {
        let message = codec::decode(frame).map_err(|err| Refusal::Protocol(err.to_string()))?;
        match message {
            Message::Push(push) => self.push(push, role),
            Message::Pull(pull) => self.pull(pull.since),
            Message::Want(want) => self.want(want),
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
                Refusal::Protocol(format!("stored document {id} does not load: {err}"))
            }),
            None => Ok(Automerge::new()),
        }
    }

    fn push(&mut self, push: Push, role: Role) -> Result<Outcome, Refusal<S::Error>> {
        if role != Role::Manager && push.docs.iter().any(|doc| doc.id == TEAM_DOC_ID) {
            return Err(Refusal::NotManager(role));
        }
        let mut merged = Vec::with_capacity(push.docs.len());
        let mut new_changes = Vec::new();
        let mut stored = Vec::new();
        let mut resend = Vec::new();
        for pushed in push.docs {
            check_id(&pushed.id)?;
            let mut doc = self.take(&pushed.id)?;
            let before = doc.get_heads();
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
            // A document new to the relay is kept as pushed (a saved document is far more
            // compact than its changes one by one); otherwise only what was new is kept.
            let data = if before.is_empty() {
                pushed.data
            } else {
                doc.save_after(&before)
            };
            if !data.is_empty() {
                new_changes.push(NewChanges {
                    id: pushed.id.clone(),
                    data,
                    heads: Heads::new(doc.get_heads()),
                });
            }
            stored.push(Stored {
                id: pushed.id.clone(),
                heads: pushed.heads,
            });
            merged.push((pushed.id, doc));
        }
        let broadcast = self.commit(new_changes, merged)?;
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

    /// Stores new changes durably, keeps the documents they came from cached, and returns the
    /// updates that announce them to the team's connected devices.
    fn commit(
        &mut self,
        new_changes: Vec<NewChanges>,
        docs: Vec<(String, Automerge)>,
    ) -> Result<Vec<Vec<u8>>, Refusal<S::Error>> {
        let seqs = self.store.commit(&new_changes).map_err(Refusal::Storage)?;
        for (id, doc) in docs {
            self.cache.put(id, doc);
        }
        Ok(new_changes
            .into_iter()
            .zip(seqs)
            .map(|(change, seq)| {
                codec::encode(&Message::Update(Update {
                    seq,
                    doc: DocChanges {
                        id: change.id,
                        heads: change.heads,
                        data: change.data,
                    },
                }))
            })
            .collect())
    }

    /// Records the team's members (from the relay's members file, the authority on who is in
    /// the team) in the team document, as a change of its own if anything differs. Returns the
    /// updates for the team's connected devices (none if nothing changed).
    pub fn record_members(
        &mut self,
        roster: &[Member],
        stamp: &Stamp,
    ) -> Result<Vec<Vec<u8>>, Refusal<S::Error>> {
        let doc = self.take(TEAM_DOC_ID)?;
        let before = doc.get_heads();
        let mut team = TeamDoc::from_automerge(doc);
        let changed = team
            .set_members(roster, stamp)
            .map_err(|err| Refusal::Protocol(format!("the team document: {err}")))?;
        let doc = team.into_automerge();
        let new_changes = match changed {
            true => vec![NewChanges {
                id: TEAM_DOC_ID.to_owned(),
                data: doc.save_after(&before),
                heads: Heads::new(doc.get_heads()),
            }],
            false => Vec::new(),
        };
        self.commit(new_changes, vec![(TEAM_DOC_ID.to_owned(), doc)])
    }

    fn pull(&mut self, since: u64) -> Result<Outcome, Refusal<S::Error>> {
        let head = self.store.feed_head().map_err(Refusal::Storage)?;
        let mut reply = Vec::new();
        let mut after = since;
        loop {
            let entries = self
                .store
                .feed(after, OFFER_PAGE)
                .map_err(Refusal::Storage)?;
            let last = entries.len() < OFFER_PAGE;
            let upto = match entries.last() {
                Some(entry) if !last => entry.seq,
                _ => head.max(since),
            };
            after = upto;
            reply.push(codec::encode(&Message::Offer(Offer {
                entries,
                upto,
                last,
            })));
            if last {
                break;
            }
        }
        Ok(Outcome {
            reply,
            broadcast: Vec::new(),
            subscribe: true,
            stored: 0,
        })
    }

    fn want(&mut self, want: Want) -> Result<Outcome, Refusal<S::Error>> {
        let mut reply = Vec::new();
        let mut frame_docs = Vec::new();
        let mut frame_bytes = 0;
        for wanted in want.docs {
            check_id(&wanted.id)?;
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
