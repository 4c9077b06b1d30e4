//! The device's side of a sync session, as a state machine: frames in, frames out.
//!
//! The session pushes the device's unacknowledged documents in batches (a few in flight at
//! once), pulls the changes feed after the last position it applied, asks only for the
//! documents it lacks, and applies live updates. What it stores, and when, is the job of a
//! [`DeviceDocs`]: the session only decides what to say and what to ask it.

use std::collections::VecDeque;

use crate::codec::{self, DecodeError};
use crate::message::{
    Ack, DocChanges, Docs, Heads, Hello, Message, Offer, PROTOCOL_VERSION, Pull, Push, Remove,
    Revoke, Stored, Update, Want, Wanted, Welcome,
};

/// Documents per push frame.
pub const PUSH_BATCH_DOCS: usize = 256;
/// Push frames sent before the first of them is acknowledged.
pub const PUSH_WINDOW: usize = 4;

/// A device's documents and sync checkpoints, as the session needs them.
///
/// Each method that changes something must be durable when it returns: the session reports a
/// position or an acknowledgement only after it.
pub trait DeviceDocs {
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Up to `limit` documents with changes the relay has not acknowledged, in id order after
    /// `after`, each with its changes since the heads the relay acknowledged.
    fn pending(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DocChanges>, Self::Error>;
    /// A document's whole history, to push again when the relay lacks what it depends on.
    fn whole(&mut self, id: &str) -> Result<Option<DocChanges>, Self::Error>;
    /// Records that the relay durably holds these heads of these documents.
    fn acknowledged(&mut self, stored: &[Stored]) -> Result<(), Self::Error>;
    /// This device's heads of each document, `None` for a document it does not have.
    fn heads(&mut self, ids: &[&str]) -> Result<Vec<Option<Heads>>, Self::Error>;
    /// Merges changes from the relay in one transaction. Returns the ids whose changes could
    /// not be applied because they depend on changes this device lacks; those are not stored.
    fn apply(&mut self, docs: &[DocChanges]) -> Result<Vec<String>, Self::Error>;
    /// Records the changes-feed position the device has applied everything up to.
    fn set_since(&mut self, seq: u64) -> Result<(), Self::Error>;
    /// Records that the relay's feed is `feed` (empty from relays that do not name it). If the
    /// device followed another feed of the same relay and team before, or the feed is `behind`
    /// this device's position (either way the relay's copy was restored from a backup), it
    /// starts over: position 0, and every document pending, pushed whole. Returns whether it
    /// did.
    fn follow_feed(&mut self, feed: &str, behind: bool) -> Result<bool, Self::Error>;
    /// Of these documents, those with changes the relay has not acknowledged, each with its
    /// changes since the heads the relay acknowledged.
    fn pending_of(&mut self, ids: &[String]) -> Result<Vec<DocChanges>, Self::Error>;
    /// Removes these documents and everything recorded about them (the member no longer sees
    /// them), in one transaction.
    fn forget(&mut self, ids: &[String]) -> Result<(), Self::Error>;
    /// Records that these documents were set aside for `reason` (sent whole, they still did
    /// not apply), so the device neither stores nor asks for them again this session.
    fn set_aside(&mut self, ids: &[String], reason: &str) -> Result<(), Self::Error>;
    /// The ids of every lead this device holds (not the team document).
    fn held(&mut self) -> Result<Vec<String>, Self::Error>;
}

/// Why a session ended with an error on the device's side.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError<E: std::error::Error + 'static> {
    /// The relay sent a frame that could not be decoded.
    #[error("the relay sent a bad frame: {0}")]
    Decode(#[from] DecodeError),
    /// The relay sent a message that makes no sense now.
    #[error("the relay sent an unexpected '{0}' message")]
    Unexpected(&'static str),
    /// The relay speaks another protocol version.
    #[error("the relay speaks protocol version {relay}, this device {PROTOCOL_VERSION}")]
    Version {
        /// The relay's version.
        relay: u32,
    },
    /// The device's storage failed.
    #[error(transparent)]
    Storage(E),
}

/// What a session has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Documents whose changes the relay acknowledged.
    pub sent: usize,
    /// Documents changed by what the relay sent.
    pub received: usize,
    /// Bytes of frames sent.
    pub bytes_sent: usize,
    /// Bytes of frames received.
    pub bytes_received: usize,
    /// The relay's feed head when the session started.
    pub feed_head: u64,
    /// Documents the relay offered.
    pub offered: usize,
    /// Documents dropped because the member no longer sees them.
    pub revoked: usize,
    /// Documents set aside because the relay's copy, sent whole, still did not apply.
    pub set_aside: usize,
    /// The sign-in ticket the relay gave for the device's next hello (empty if none).
    pub ticket: String,
    /// The relay's clock at the welcome, in milliseconds since 1970-01-01 UTC, if it said.
    pub relay_time_ms: Option<i64>,
    /// Documents the relay removed for the team at this session's request.
    pub removed: Vec<String>,
    /// Documents of the request the relay kept because they read as leads.
    pub kept_readable: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    AwaitWelcome,
    Ready,
}

/// A feed position the device reaches once an answer (if any) has been applied and the
/// documents revoked with it are dropped.
#[derive(Debug)]
struct Checkpoint {
    /// The want still being answered, if any.
    request: Option<u64>,
    upto: u64,
    /// Documents of the answer that did not apply, to ask for whole.
    retry: Vec<Wanted>,
    /// Documents to drop once the push batches up to `batch` are acknowledged (so nothing of
    /// this device's own is lost with them).
    revoked: Vec<String>,
    /// The last push batch to wait for before dropping them.
    batch: Option<u64>,
}

/// The leads `docs` holds that a whole pull did not `named`, leaving out those with changes not
/// yet pushed (this device's own new work, pushed before it could be offered).
fn unnamed<D: DeviceDocs>(
    named: &std::collections::BTreeSet<String>,
    docs: &mut D,
) -> Result<Vec<String>, DeviceError<D::Error>> {
    let unnamed: Vec<String> = docs
        .held()
        .map_err(DeviceError::Storage)?
        .into_iter()
        .filter(|id| !named.contains(id))
        .collect();
    let pending: std::collections::BTreeSet<String> = docs
        .pending_of(&unnamed)
        .map_err(DeviceError::Storage)?
        .into_iter()
        .map(|doc| doc.id)
        .collect();
    Ok(unnamed
        .into_iter()
        .filter(|id| !pending.contains(id))
        .collect())
}

/// One device's sync session with the relay.
#[derive(Debug)]
pub struct DeviceSession {
    hello: Hello,
    phase: Phase,
    since: u64,
    offers_done: bool,
    next_batch: u64,
    next_request: u64,
    /// Push batches in flight, oldest first.
    in_flight: VecDeque<u64>,
    /// Where the next push page starts; `None` once every pending document has been sent.
    push_cursor: Option<Option<String>>,
    checkpoints: VecDeque<Checkpoint>,
    /// Documents asked for whole this session: one that still does not apply is set aside,
    /// never asked for again, so a session's work is bounded by what the relay offers.
    asked_whole: std::collections::BTreeSet<String>,
    /// Documents to remove for the team (a manager's `Remove`), sent after the welcome, and
    /// whether the relay has answered.
    removing: Vec<String>,
    removal_answered: bool,
    /// On a pull from position 0, every document offered or revoked so far: once the last
    /// offer is in, a lead this device holds that the relay did not name is one its member no
    /// longer sees (a restore, say, made the device start over), and is dropped as revoked.
    full_pull: Option<std::collections::BTreeSet<String>>,
    stats: DeviceStats,
}

impl DeviceSession {
    /// A session for `hello`'s member, whose device has applied the feed up to `since`.
    pub fn new(hello: Hello, since: u64) -> DeviceSession {
        DeviceSession {
            hello,
            phase: Phase::AwaitWelcome,
            since,
            offers_done: false,
            next_batch: 1,
            next_request: 1,
            in_flight: VecDeque::new(),
            push_cursor: Some(None),
            checkpoints: VecDeque::new(),
            asked_whole: std::collections::BTreeSet::new(),
            removing: Vec::new(),
            removal_answered: true,
            full_pull: None,
            stats: DeviceStats::default(),
        }
    }

    /// This session also removes `ids` for the team (a manager's device; see [`Remove`]): it is
    /// synced only once the relay has answered.
    pub fn removing(mut self, ids: Vec<String>) -> DeviceSession {
        self.removal_answered = ids.is_empty();
        self.removing = ids;
        self
    }

    /// The first frame to send.
    pub fn start(&mut self) -> Vec<u8> {
        let mut hello = self.hello.clone();
        hello.version = PROTOCOL_VERSION;
        // The relay takes a hello only as plain CBOR.
        let frame = codec::encode_plain(&Message::Hello(hello));
        self.stats.bytes_sent += frame.len();
        frame
    }

    /// Whether everything pending has been pushed and acknowledged and the feed is applied
    /// up to where it stood when the session began (or later).
    pub fn is_synced(&self) -> bool {
        self.phase == Phase::Ready
            && self.removal_answered
            && self.offers_done
            && self.in_flight.is_empty()
            && self.push_cursor.is_none()
            && self.checkpoints.is_empty()
    }

    /// The feed position applied so far.
    pub fn since(&self) -> u64 {
        self.since
    }

    /// What the session has done so far.
    pub fn stats(&self) -> &DeviceStats {
        &self.stats
    }

    /// Handles one frame from the relay; returns the frames to send back.
    pub fn receive<D: DeviceDocs>(
        &mut self,
        frame: &[u8],
        docs: &mut D,
    ) -> Result<Vec<Vec<u8>>, DeviceError<D::Error>> {
        self.stats.bytes_received += frame.len();
        let message = codec::decode(frame)?;
        let mut out = Vec::new();
        match (self.phase, message) {
            (Phase::AwaitWelcome, Message::Welcome(welcome)) => {
                self.welcome(&welcome)?;
                // A feed never goes back but when the relay's copy was restored.
                let behind = welcome.feed_head < self.since;
                if docs
                    .follow_feed(&welcome.feed, behind)
                    .map_err(DeviceError::Storage)?
                {
                    self.since = 0;
                }
                self.push_more(docs, &mut out)?;
                if !self.removing.is_empty() {
                    let ids = std::mem::take(&mut self.removing);
                    let request = self.next_request;
                    self.next_request += 1;
                    out.push(self.encode(&Message::Remove(Remove { request, ids })));
                }
                if self.since == 0 {
                    self.full_pull = Some(std::collections::BTreeSet::new());
                }
                out.push(self.encode(&Message::Pull(Pull { since: self.since })));
            }
            (Phase::Ready, Message::Ack(ack)) => self.ack(ack, docs, &mut out)?,
            (Phase::Ready, Message::Offer(offer)) => self.offer(offer, docs, &mut out)?,
            (Phase::Ready, Message::Docs(answer)) => self.docs(answer, docs, &mut out)?,
            (Phase::Ready, Message::Update(update)) => self.update(update, docs, &mut out)?,
            (Phase::Ready, Message::Revoke(revoke)) => self.revoke(revoke, docs, &mut out)?,
            (Phase::Ready, Message::Removed(removed)) => {
                self.removal_answered = true;
                self.stats.removed = removed.ids;
                self.stats.kept_readable = removed.readable;
            }
            (_, other) => return Err(DeviceError::Unexpected(other.kind())),
        }
        Ok(out)
    }

    /// Pushes documents changed locally since the last push, if no push is under way; for a
    /// session that stays connected.
    pub fn push_local<D: DeviceDocs>(
        &mut self,
        docs: &mut D,
    ) -> Result<Vec<Vec<u8>>, DeviceError<D::Error>> {
        let mut out = Vec::new();
        if self.phase == Phase::Ready && self.in_flight.is_empty() && self.push_cursor.is_none() {
            self.push_cursor = Some(None);
            self.push_more(docs, &mut out)?;
        }
        Ok(out)
    }

    fn welcome<E: std::error::Error>(&mut self, welcome: &Welcome) -> Result<(), DeviceError<E>> {
        if welcome.version != PROTOCOL_VERSION {
            return Err(DeviceError::Version {
                relay: welcome.version,
            });
        }
        self.stats.feed_head = welcome.feed_head;
        self.stats.ticket.clone_from(&welcome.ticket);
        self.stats.relay_time_ms = welcome.time_ms;
        self.phase = Phase::Ready;
        Ok(())
    }

    fn encode(&mut self, message: &Message) -> Vec<u8> {
        let frame = codec::encode(message);
        self.stats.bytes_sent += frame.len();
        frame
    }

    /// Sends push batches until the window is full or nothing is pending.
    fn push_more<D: DeviceDocs>(
        &mut self,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        while self.in_flight.len() < PUSH_WINDOW {
            let Some(after) = self.push_cursor.take() else {
                break;
            };
            let page = docs
                .pending(after.as_deref(), PUSH_BATCH_DOCS)
                .map_err(DeviceError::Storage)?;
            if page.len() == PUSH_BATCH_DOCS {
                self.push_cursor = Some(page.last().map(|doc| doc.id.clone()));
            }
            if page.is_empty() {
                break;
            }
            self.send_push(page, out);
        }
        Ok(())
    }

    fn send_push(&mut self, page: Vec<DocChanges>, out: &mut Vec<Vec<u8>>) {
        let batch = self.next_batch;
        self.next_batch += 1;
        self.in_flight.push_back(batch);
        let frame = self.encode(&Message::Push(Push { batch, docs: page }));
        out.push(frame);
    }

    fn ack<D: DeviceDocs>(
        &mut self,
        ack: Ack,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        if self.in_flight.front() != Some(&ack.batch) {
            return Err(DeviceError::Unexpected("ack"));
        }
        self.in_flight.pop_front();
        docs.acknowledged(&ack.stored)
            .map_err(DeviceError::Storage)?;
        for point in &mut self.checkpoints {
            if point.batch.is_some_and(|batch| batch <= ack.batch) {
                point.batch = None;
            }
        }
        self.stats.sent += ack.stored.len();
        let mut resend = Vec::new();
        for id in &ack.resend {
            if let Some(whole) = docs.whole(id).map_err(DeviceError::Storage)? {
                resend.push(whole);
            }
        }
        if !resend.is_empty() {
            self.send_push(resend, out);
        }
        self.push_more(docs, out)
    }

    fn offer<D: DeviceDocs>(
        &mut self,
        offer: Offer,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        if self.offers_done {
            return Err(DeviceError::Unexpected("offer"));
        }
        self.offers_done = offer.last;
        self.stats.offered += offer.entries.len();
        for entry in &offer.entries {
            self.still_visible(&entry.id);
        }
        let ids: Vec<&str> = offer
            .entries
            .iter()
            .map(|entry| entry.id.as_str())
            .collect();
        let mine = docs.heads(&ids).map_err(DeviceError::Storage)?;
        let wanted: Vec<Wanted> = offer
            .entries
            .iter()
            .zip(mine)
            .filter(|(entry, mine)| mine.as_ref() != Some(&entry.heads))
            .map(|(entry, mine)| Wanted {
                id: entry.id.clone(),
                have: mine.unwrap_or_default(),
            })
            .collect();
        let mut revoked = offer.revoked;
        if let Some(named) = &mut self.full_pull {
            named.extend(offer.entries.iter().map(|entry| entry.id.clone()));
            named.extend(revoked.iter().cloned());
            if offer.last {
                revoked.extend(unnamed(named, docs)?);
                self.full_pull = None;
            }
        }
        self.want(wanted, offer.upto, revoked, docs, out)
    }

    fn revoke<D: DeviceDocs>(
        &mut self,
        revoke: Revoke,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        self.want(Vec::new(), revoke.seq, revoke.ids, docs, out)
    }

    /// A document the relay offers or updates after revoking it is visible again: an earlier
    /// revoke still waiting to be applied must not drop it.
    fn still_visible(&mut self, id: &str) {
        for point in &mut self.checkpoints {
            point.revoked.retain(|revoked| revoked != id);
        }
    }

    /// Asks for `wanted` (if any), pushes what this device has not yet pushed of `revoked`, and
    /// files the feed position reached once the answer is applied and `revoked` dropped.
    fn want<D: DeviceDocs>(
        &mut self,
        wanted: Vec<Wanted>,
        upto: u64,
        revoked: Vec<String>,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        let request = self.send_want(wanted, out);
        let mut batch = None;
        if !revoked.is_empty() {
            let unpushed = docs.pending_of(&revoked).map_err(DeviceError::Storage)?;
            if !unpushed.is_empty() {
                self.send_push(unpushed, out);
            }
            batch = self.in_flight.back().copied();
        }
        self.checkpoints.push_back(Checkpoint {
            request,
            upto,
            retry: Vec::new(),
            revoked,
            batch,
        });
        self.advance(docs)
    }

    /// Sends a want for `wanted`, unless it is empty; returns its request number.
    fn send_want(&mut self, wanted: Vec<Wanted>, out: &mut Vec<Vec<u8>>) -> Option<u64> {
        if wanted.is_empty() {
            return None;
        }
        for whole in wanted
            .iter()
            .filter(|wanted| wanted.have.hashes().is_empty())
        {
            self.asked_whole.insert(whole.id.clone());
        }
        let request = self.next_request;
        self.next_request += 1;
        let frame = self.encode(&Message::Want(Want {
            request,
            docs: wanted,
        }));
        out.push(frame);
        Some(request)
    }

    fn docs<D: DeviceDocs>(
        &mut self,
        answer: Docs,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        let incomplete = self.apply(&answer.docs, docs)?;
        let Some(index) = self
            .checkpoints
            .iter()
            .position(|point| point.request == Some(answer.request))
        else {
            return Err(DeviceError::Unexpected("docs"));
        };
        // The relay's answer completes what the device has; if some of it did not apply, the
        // device asks for those documents whole before it moves its position past them.
        let (hopeless, retry): (Vec<String>, Vec<String>) = incomplete
            .into_iter()
            .partition(|id| self.asked_whole.contains(id));
        if !hopeless.is_empty() {
            docs.set_aside(&hopeless, "the relay's copy lacks changes it depends on")
                .map_err(DeviceError::Storage)?;
            self.stats.set_aside += hopeless.len();
        }
        self.checkpoints[index]
            .retry
            .extend(retry.into_iter().map(|id| Wanted {
                id,
                have: Heads::default(),
            }));
        if answer.last {
            let retry = std::mem::take(&mut self.checkpoints[index].retry);
            self.checkpoints[index].request = self.send_want(retry, out);
        }
        self.advance(docs)
    }

    fn update<D: DeviceDocs>(
        &mut self,
        update: Update,
        docs: &mut D,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<(), DeviceError<D::Error>> {
        self.still_visible(&update.doc.id);
        let incomplete = self.apply(std::slice::from_ref(&update.doc), docs)?;
        let wanted = match incomplete.is_empty() {
            true => Vec::new(),
            false => {
                let mine = docs
                    .heads(&[update.doc.id.as_str()])
                    .map_err(DeviceError::Storage)?;
                vec![Wanted {
                    id: update.doc.id,
                    have: mine.into_iter().flatten().next().unwrap_or_default(),
                }]
            }
        };
        self.want(wanted, update.seq, Vec::new(), docs, out)
    }

    fn apply<D: DeviceDocs>(
        &mut self,
        changes: &[DocChanges],
        docs: &mut D,
    ) -> Result<Vec<String>, DeviceError<D::Error>> {
        let changes: Vec<DocChanges> = changes
            .iter()
            .filter(|doc| !doc.data.is_empty())
            .cloned()
            .collect();
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let incomplete = docs.apply(&changes).map_err(DeviceError::Storage)?;
        self.stats.received += changes.len() - incomplete.len();
        Ok(incomplete)
    }

    /// Drops the revoked documents of every settled checkpoint at the front, and records the
    /// feed position they reach.
    fn advance<D: DeviceDocs>(&mut self, docs: &mut D) -> Result<(), DeviceError<D::Error>> {
        let mut reached = None;
        while let Some(point) = self.checkpoints.front() {
            if point.request.is_some() || point.batch.is_some() {
                break;
            }
            if !point.revoked.is_empty() {
                docs.forget(&point.revoked).map_err(DeviceError::Storage)?;
                self.stats.revoked += point.revoked.len();
            }
            reached = Some(reached.unwrap_or(0).max(point.upto));
            self.checkpoints.pop_front();
        }
        if let Some(upto) = reached.filter(|&upto| upto > self.since) {
            docs.set_since(upto).map_err(DeviceError::Storage)?;
            self.since = upto;
        }
        Ok(())
    }
}
