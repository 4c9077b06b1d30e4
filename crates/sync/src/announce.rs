//! What the relay tells each connected device about a stored change: the update, the whole
//! document, a revoke, or nothing, as the member the device serves sees the document before and
//! after it.

use fieldsync_model::Role;
use fieldsync_model::visibility::Access;

use crate::codec;
use crate::message::{DocChanges, Message, Revoke, Update};
use crate::relay::NewChanges;

/// The member a connection serves, as the relay decides what they see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The member's name.
    pub member: String,
    /// Their role, as the relay's members file says now.
    pub role: Role,
}

impl Viewer {
    pub(crate) fn sees(&self, access: Option<&Access>) -> bool {
        access.is_none_or(|access| access.visible_to(&self.member, self.role))
    }
}

/// A document stored with a new feed number, to announce to the team's connected devices.
#[derive(Debug)]
pub struct Announcement {
    /// The `update` frame, for a device whose member sees the document now.
    pub update: Vec<u8>,
    /// An `update` frame with the whole document, for a device whose member did not see it
    /// before this change (its copy, if any, may lack what was done meanwhile); `None` when the
    /// change left the owners as they were.
    pub arrive: Option<Vec<u8>>,
    /// The `revoke` frame, for a device whose member saw it before and no longer does.
    pub revoke: Vec<u8>,
    before: Option<Access>,
    after: Option<Access>,
    new: bool,
}

impl Announcement {
    /// The announcement of `change`, stored as feed number `seq`: `before` is the document's
    /// access before it (`new` if the relay had none of it), `whole` the whole document when
    /// the change moved its owners.
    pub(crate) fn new(
        seq: u64,
        change: NewChanges,
        before: Option<Access>,
        new: bool,
        whole: Option<Vec<u8>>,
    ) -> Announcement {
        Announcement {
            revoke: codec::encode(&Message::Revoke(Revoke {
                seq,
                ids: vec![change.id.clone()],
            })),
            arrive: whole.map(|data| {
                codec::encode(&Message::Update(Update {
                    seq,
                    doc: DocChanges {
                        id: change.id.clone(),
                        heads: change.heads.clone(),
                        data,
                    },
                }))
            }),
            after: change.access,
            update: codec::encode(&Message::Update(Update {
                seq,
                doc: DocChanges {
                    id: change.id,
                    heads: change.heads,
                    data: change.data,
                },
            })),
            before,
            new,
        }
    }
}

/// What an [`Announcement`] is to one viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// They see the document: send the update.
    Update,
    /// They see it now and did not before: send it whole.
    Arrive,
    /// They saw it and no longer do: send the revoke.
    Revoke,
    /// They never saw it: send nothing.
    Nothing,
}

impl Announcement {
    /// What the announcement is to `viewer`.
    pub fn reach(&self, viewer: &Viewer) -> Reach {
        let sees_before = !self.new && viewer.sees(self.before.as_ref());
        if viewer.sees(self.after.as_ref()) {
            match (sees_before || self.new, &self.arrive) {
                (false, Some(_)) => Reach::Arrive,
                _ => Reach::Update,
            }
        } else if !self.new && viewer.sees(self.before.as_ref()) {
            Reach::Revoke
        } else {
            Reach::Nothing
        }
    }

    /// The frame for `viewer`, if any.
    pub fn frame_for(&self, viewer: &Viewer) -> Option<&[u8]> {
        match self.reach(viewer) {
            Reach::Update => Some(&self.update),
            Reach::Arrive => self.arrive.as_deref(),
            Reach::Revoke => Some(&self.revoke),
            Reach::Nothing => None,
        }
    }
}
