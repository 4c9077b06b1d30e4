//! Answers that can be long, a step at a time: the feed offered on a pull, and the documents
//! of a want.
//!
//! Each step yields at most about [`STEP_BYTES`] of frames and, unless it is the last, a
//! [`Continuation`] to resume from once the device has read them. One connection's answer
//! then neither fills the relay's memory with a whole team's documents nor holds the team's
//! worker while its teammates wait. A pull subscribes the device in its last step, with the
//! last offer, so no update falls between the feed it read and the updates it is sent.

use crate::announce::Viewer;
use crate::codec;
use crate::message::{DocChanges, Docs, Heads, Message, Offer, Wanted};
use fieldsync_model::TEAM_DOC_ID;

use super::{Outcome, Refusal, Team, TeamStore, check_id};

/// Feed entries per offer frame.
pub const OFFER_PAGE: usize = 512;
/// Bytes of document data per docs frame, before the answer continues in another frame.
pub const DOCS_FRAME_BYTES: usize = 1 << 20;
/// Bytes of frames one step of an answer yields before it stops to let the device read them.
pub const STEP_BYTES: usize = 2 << 20;

/// Where a long answer resumes, once the device has read what the last step yielded.
#[derive(Debug)]
pub struct Continuation(Step);

#[derive(Debug)]
enum Step {
    /// Offering the feed after `after`, to a device that pulled `since` (`rescan`: its
    /// member's role changed since, so everything it may hold is offered or revoked).
    Pull {
        since: u64,
        after: u64,
        rescan: bool,
    },
    /// Answering want `request`; `docs` are still to be sent.
    Want {
        request: u64,
        docs: std::vec::IntoIter<Wanted>,
    },
}

fn empty_offer() -> Offer {
    Offer {
        entries: Vec::new(),
        upto: 0,
        last: false,
        revoked: Vec::new(),
    }
}

impl<S: TeamStore> Team<S> {
    /// The next step of a long answer.
    pub fn resume(
        &mut self,
        continuation: Continuation,
        viewer: &Viewer,
    ) -> Result<Outcome, Refusal<S::Error>> {
        match continuation.0 {
            Step::Pull {
                since,
                after,
                rescan,
            } => self.offer(since, after, rescan, viewer),
            Step::Want { request, docs } => self.answer(request, docs, viewer),
        }
    }

    /// Offers the feed after `since` as `viewer` sees it: the documents they see, and, as
    /// revoked, those they may hold and no longer see. A device whose member's role changed
    /// since its position is offered the whole feed again, so what the new role sees arrives
    /// and everything else is revoked (as a manager it could have held any lead).
    pub(super) fn pull(
        &mut self,
        since: u64,
        viewer: &Viewer,
    ) -> Result<Outcome, Refusal<S::Error>> {
        let role_changed_at = self
            .store
            .role_changed_at(&viewer.member)
            .map_err(Refusal::Storage)?;
        let rescan = since < role_changed_at;
        let after = if rescan { 0 } else { since };
        self.offer(since, after, rescan, viewer)
    }

    /// One step of offering the feed after `after`.
    fn offer(
        &mut self,
        since: u64,
        mut after: u64,
        rescan: bool,
        viewer: &Viewer,
    ) -> Result<Outcome, Refusal<S::Error>> {
        let mut reply: Vec<Vec<u8>> = Vec::new();
        let mut offer = empty_offer();
        let flush = |offer: &mut Offer, after: u64, reply: &mut Vec<Vec<u8>>| {
            offer.upto = after;
            let frame = codec::encode(&Message::Offer(std::mem::replace(offer, empty_offer())));
            reply.push(frame);
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
                    flush(&mut offer, after, &mut reply);
                }
            }
            if end {
                break;
            }
            if reply.iter().map(Vec::len).sum::<usize>() >= STEP_BYTES {
                if !offer.entries.is_empty() || !offer.revoked.is_empty() {
                    flush(&mut offer, after, &mut reply);
                }
                return Ok(Outcome {
                    reply,
                    more: Some(Continuation(Step::Pull {
                        since,
                        after,
                        rescan,
                    })),
                    ..Outcome::default()
                });
            }
        }
        let head = self.store.feed_head().map_err(Refusal::Storage)?;
        offer.upto = head.max(since);
        offer.last = true;
        reply.push(codec::encode(&Message::Offer(offer)));
        Ok(Outcome {
            reply,
            subscribe: true,
            ..Outcome::default()
        })
    }

    /// One step of answering want `request` with the changes the device lacks of `docs`,
    /// leaving out the documents `viewer` does not see.
    pub(super) fn answer(
        &mut self,
        request: u64,
        mut docs: std::vec::IntoIter<Wanted>,
        viewer: &Viewer,
    ) -> Result<Outcome, Refusal<S::Error>> {
        let mut reply = Vec::new();
        let mut step_bytes = 0;
        let mut frame_docs = Vec::new();
        let mut frame_bytes = 0;
        while let Some(wanted) = docs.next() {
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
                let loaded = self.take(&wanted.id)?;
                let data = loaded.doc.save_after(wanted.have.hashes());
                self.keep(wanted.id.clone(), loaded);
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
                step_bytes += frame_bytes;
                frame_bytes = 0;
                reply.push(codec::encode(&Message::Docs(Docs {
                    request,
                    docs: std::mem::take(&mut frame_docs),
                    last: false,
                })));
                if step_bytes >= STEP_BYTES && docs.len() > 0 {
                    return Ok(Outcome {
                        reply,
                        more: Some(Continuation(Step::Want { request, docs })),
                        ..Outcome::default()
                    });
                }
            }
        }
        reply.push(codec::encode(&Message::Docs(Docs {
            request,
            docs: frame_docs,
            last: true,
        })));
        Ok(Outcome {
            reply,
            ..Outcome::default()
        })
    }
}
