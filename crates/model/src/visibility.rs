//! Who sees which lead, and which owner changes a rep may make.
//!
//! A manager sees every lead; a rep sees the leads they own and the unassigned pool. The relay
//! decides this from its own merged copy of each lead (the `owner` register), so no device can
//! widen what it receives. A rep writes to the owner register only to claim a pool lead or to
//! give one of theirs back; a concurrent claim of the same pool lead by two reps is a conflict,
//! not a takeover, and both claims stay visible until a manager settles it.

use std::collections::BTreeSet;

use automerge::{ObjId as ExId, ROOT, ReadDoc, ScalarValue, Value};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::schema::key;
use crate::team::Role;

/// One value of a lead's owner register: a member, or `None` for the pool.
pub type OwnerValue = Option<String>;

/// The owner register's values with the operations that set them (several when concurrent
/// assignments conflict).
pub type OwnerOps = Vec<(OwnerValue, ExId)>;

/// A lead's owner register as the relay last merged it, and who may hold a copy of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The register's values: one, or several while a conflict stands. Empty (no register) and
    /// `None` both mean the pool.
    pub owners: Vec<OwnerValue>,
    /// Every member who has owned the lead or had a change of theirs to it accepted: they may
    /// hold a copy, so they may still push to it and are told to drop it.
    pub seen: BTreeSet<String>,
    /// Whether the lead has ever been in the pool, where every rep could take a copy.
    pub pooled: bool,
    /// The feed number of the last change to the owner register (0 when unknown: a lead
    /// stored before this was kept). A device whose feed position is at or past it already had
    /// what that change hid from it revoked.
    #[serde(default)]
    pub owners_since: u64,
    /// The feed number at which the lead first entered the pool, so that only a device that
    /// had read the feed that far is told to drop it (`Some(0)` until the store numbers the
    /// change; `None` when not known: a lead stored before this was kept).
    #[serde(default)]
    pub pooled_at: Option<u64>,
    /// Reps whose claim someone else replaced since the lead was last theirs or the pool's
    /// (a manager settling a conflict, a handover): they may not claim it again meanwhile.
    #[serde(default)]
    pub overruled: BTreeSet<String>,
    /// Owner-register operations (`counter@actor`) that count for no one's view: an
    /// overruled rep giving the lead back from before the decision that overruled them.
    #[serde(default)]
    pub discounted: BTreeSet<String>,
    /// Removed by a manager (a document no device could read): the relay keeps this tombstone,
    /// shows it to no one, tells every device that may hold it to drop it, and stores nothing
    /// more pushed to it.
    #[serde(default)]
    pub removed: bool,
}

impl Access {
    /// The access of a document the relay has merged, from nothing before it: the owners now,
    /// and every owner its owner-change log names.
    pub fn of(doc: &impl ReadDoc) -> Access {
        let mut access = Access::default();
        for value in logged_owners(doc) {
            access.note(value);
        }
        access.follow(doc, None)
    }

    /// The access after `doc` merged a push accepted from `writer`: the owners now, added to
    /// who may hold it.
    pub fn follow(mut self, doc: &impl ReadDoc, writer: Option<&str>) -> Access {
        let ops = owner_ops(doc);
        self.discounted
            .retain(|op| ops.iter().any(|(_, id)| id.to_string() == *op));
        let owners: Vec<OwnerValue> = ops
            .into_iter()
            .filter(|(_, id)| !self.discounted.contains(&id.to_string()))
            .map(|(value, _)| value)
            .collect();
        let before = std::mem::replace(&mut self.owners, owners);
        if self.owners.is_empty() {
            self.note(None);
        }
        if self.owners.iter().any(Option::is_none) {
            self.overruled.clear();
        }
        for value in self.owners.clone() {
            if let Some(member) = &value {
                self.overruled.remove(member);
            }
            self.note(value);
        }
        // In the pool, anyone may claim it; otherwise whoever lost their place to someone
        // else's write was overruled.
        let pooled_now = self.owners.is_empty() || self.owners.iter().any(Option::is_none);
        let replaced = before
            .into_iter()
            .flatten()
            .filter(|member| !pooled_now && !self.owners.contains(&Some(member.clone())));
        for member in replaced {
            if writer != Some(member.as_str()) {
                self.overruled.insert(member);
            }
        }
        if let Some(writer) = writer {
            self.seen.insert(writer.to_owned());
        }
        self
    }

    fn note(&mut self, value: OwnerValue) {
        match value {
            Some(member) => {
                self.seen.insert(member);
            }
            None => {
                if !self.pooled {
                    self.pooled_at = Some(0);
                }
                self.pooled = true;
            }
        }
    }

    /// The access as stored with the change numbered `seq`: the numbers still to be given
    /// (`owners_since` 0, `pooled_at` `Some(0)`) are `seq`.
    pub fn numbered(mut self, seq: u64) -> Access {
        if self.owners_since == 0 {
            self.owners_since = seq;
        }
        if self.pooled_at == Some(0) {
            self.pooled_at = Some(seq);
        }
        self
    }

    /// Whether `member`, in `role`, sees the lead now.
    pub fn visible_to(&self, member: &str, role: Role) -> bool {
        !self.removed
            && (role == Role::Manager
                || self.owners.is_empty()
                || self
                    .owners
                    .iter()
                    .any(|owner| owner.as_deref().is_none_or(|owner| owner == member)))
    }

    /// Whether a device of `member` may hold a copy of the lead (it sees it now, or could once).
    pub fn may_hold(&self, member: &str, role: Role) -> bool {
        self.removed || self.pooled || self.seen.contains(member) || self.visible_to(member, role)
    }

    /// Whether a device of `member` at feed position `since` may still hold a copy it should
    /// drop: the owner register changed after `since`, and the member could have seen the lead.
    /// A rep who has not owned it could have taken a copy only from the pool, and only if
    /// their device had read the feed as far as the lead's entry into it.
    pub fn may_hold_since(&self, member: &str, role: Role, since: u64) -> bool {
        if self.removed {
            // Any device may hold a removed document, or have set it aside.
            return true;
        }
        let pooled_by_then = self.pooled && self.pooled_at.is_none_or(|at| at <= since);
        (self.owners_since == 0 || self.owners_since > since)
            && (pooled_by_then || self.seen.contains(member) || self.visible_to(member, role))
    }
}

/// The owner register's current values, with the operations that set them.
pub fn owner_ops(doc: &impl ReadDoc) -> OwnerOps {
    doc.get_all(ROOT, key::OWNER)
        .unwrap_or_default()
        .into_iter()
        .map(|(value, id)| (owner_value(&value), id))
        .collect()
}

/// One owner register value as visibility reads it: a name, or the pool for anything else.
pub fn owner_value(value: &Value<'_>) -> OwnerValue {
    match value {
        Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Str(name) => Some(name.to_string()),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

/// Every member the lead's owner-change log names (`from` and `to`), `None` for the pool.
fn logged_owners(doc: &impl ReadDoc) -> Vec<OwnerValue> {
    let Ok(Some((_, log))) = doc.get(ROOT, key::OWNER_CHANGES) else {
        return Vec::new();
    };
    let mut owners = Vec::new();
    for index in 0..doc.length(&log) {
        let Ok(Some((_, entry))) = doc.get(&log, index) else {
            continue;
        };
        for side in [key::FROM, key::TO] {
            if let Ok(Some((value, _))) = doc.get(&entry, side) {
                owners.push(owner_value(&value));
            }
        }
    }
    owners
}

/// A rep's push that the relay refuses.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum VisibilityError {
    /// The push changes a lead the member has never been able to see.
    #[error("{member} changed lead {id}, which they have never been able to see")]
    NeverVisible {
        /// The member.
        member: String,
        /// The lead.
        id: String,
    },
    /// The push gives a lead to someone other than the rep or the pool, or takes another rep's
    /// lead.
    #[error("{member} {what} lead {id}; only a manager hands leads between reps")]
    Takeover {
        /// The member.
        member: String,
        /// The lead.
        id: String,
        /// What the push did ("gave ... to bob", "took alice's").
        what: String,
    },
    /// The push changes a lead from a state the member could not see, or claims it from a
    /// state they are past.
    #[error("{member} changed lead {id} {why}; only a manager hands leads between reps")]
    Lineage {
        /// The member.
        member: String,
        /// The lead.
        id: String,
        /// How.
        why: String,
    },
}

/// Checks what a rep's push did to a lead's owner register: every value it set is the rep or
/// the pool, and every value it replaced was the rep's or the pool's. `before` and `after` are
/// the register's operations before and after the merge (of one document). A concurrent claim
/// replaces nothing (both values stay, as a conflict), so it passes.
pub fn check_rep_owner_writes(
    id: &str,
    member: &str,
    before: &OwnerOps,
    after: &OwnerOps,
) -> Result<(), VisibilityError> {
    let mine = |value: &OwnerValue| value.as_deref().is_none_or(|owner| owner == member);
    let set = after
        .iter()
        .filter(|(_, op)| !before.iter().any(|(_, b)| b == op));
    let replaced = before
        .iter()
        .filter(|(_, op)| !after.iter().any(|(_, a)| a == op));
    let takeover = |what: String| VisibilityError::Takeover {
        member: member.to_owned(),
        id: id.to_owned(),
        what,
    };
    if let Some((Some(other), _)) = set.into_iter().find(|(value, _)| !mine(value)) {
        return Err(takeover(format!("gave to {other}")));
    }
    // Replacing a value with the same or an unchanged register (an empty set) is harmless only
    // if what was replaced was the rep's or the pool's.
    if let Some((Some(other), _)) = replaced.into_iter().find(|(value, _)| !mine(value)) {
        return Err(takeover(format!("took {other}'s")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit};

    fn doc_owned_by(owner: Option<&str>) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(b"manager".as_slice()));
        put_owner(&mut doc, owner);
        doc
    }

    fn put_owner(doc: &mut AutoCommit, owner: Option<&str>) {
        match owner {
            Some(name) => doc.put(ROOT, key::OWNER, name).unwrap(),
            None => doc.put(ROOT, key::OWNER, ScalarValue::Null).unwrap(),
        }
        doc.commit();
    }

    /// `writer` takes a copy of `doc`, changes the owner, and the relay merges it back.
    fn merged_write(
        doc: &mut AutoCommit,
        writer: &str,
        owner: Option<&str>,
    ) -> (OwnerOps, OwnerOps) {
        let before = owner_ops(doc);
        let mut copy = doc.fork().with_actor(ActorId::from(writer.as_bytes()));
        put_owner(&mut copy, owner);
        doc.merge(&mut copy).unwrap();
        (before, owner_ops(doc))
    }

    #[test]
    fn a_rep_sees_their_own_leads_and_the_pool_and_a_manager_sees_all() {
        let lina = Access::of(&doc_owned_by(Some("lina")));
        assert!(lina.visible_to("lina", Role::Rep));
        assert!(!lina.visible_to("bo", Role::Rep));
        assert!(lina.visible_to("bo", Role::Manager));
        let pool = Access::of(&doc_owned_by(None));
        assert!(pool.visible_to("bo", Role::Rep));
        assert!(Access::of(&AutoCommit::new()).visible_to("bo", Role::Rep));
    }

    #[test]
    fn a_past_owner_may_hold_a_lead_they_no_longer_see() {
        let mut doc = doc_owned_by(Some("lina"));
        let access = Access::of(&doc);
        put_owner(&mut doc, Some("bo"));
        let access = access.follow(&doc, None);
        assert!(!access.visible_to("lina", Role::Rep));
        assert!(access.may_hold("lina", Role::Rep));
        assert!(!access.may_hold("wei", Role::Rep));
        assert!(!access.pooled);
    }

    #[test]
    fn a_device_past_the_last_owner_change_has_nothing_to_drop() {
        let mut doc = doc_owned_by(None);
        let access = Access::of(&doc);
        put_owner(&mut doc, Some("bo"));
        let mut access = access.follow(&doc, None);
        access.owners_since = 40;
        // lina could hold it (it was in the pool) only if her device is from before the claim.
        assert!(access.may_hold_since("lina", Role::Rep, 39));
        assert!(!access.may_hold_since("lina", Role::Rep, 40));
        // Unknown (0): assume she may.
        access.owners_since = 0;
        assert!(access.may_hold_since("lina", Role::Rep, 1000));
        // Someone who could never see it has nothing to drop, whenever.
        let mut private = Access::of(&doc_owned_by(Some("bo")));
        private.owners_since = 40;
        assert!(!private.may_hold_since("wei", Role::Rep, 0));
    }

    #[test]
    fn a_rep_claims_from_the_pool_and_gives_back_but_takes_no_other_reps_lead() {
        let mut pool = doc_owned_by(None);
        let (before, after) = merged_write(&mut pool, "lina", Some("lina"));
        assert_eq!(
            check_rep_owner_writes("l1", "lina", &before, &after),
            Ok(())
        );
        let (before, after) = merged_write(&mut pool, "lina", None);
        assert_eq!(
            check_rep_owner_writes("l1", "lina", &before, &after),
            Ok(())
        );

        let mut bos = doc_owned_by(Some("bo"));
        let (before, after) = merged_write(&mut bos, "lina", Some("lina"));
        assert!(matches!(
            check_rep_owner_writes("l1", "lina", &before, &after),
            Err(VisibilityError::Takeover { .. })
        ));
        let mut linas = doc_owned_by(Some("lina"));
        let (before, after) = merged_write(&mut linas, "lina", Some("bo"));
        assert!(check_rep_owner_writes("l1", "lina", &before, &after).is_err());
    }

    #[test]
    fn two_reps_claiming_one_pool_lead_offline_is_a_conflict_not_a_takeover() {
        let mut relay = doc_owned_by(None);
        let mut lina = relay.fork().with_actor(ActorId::from(b"lina".as_slice()));
        let mut bo = relay.fork().with_actor(ActorId::from(b"bo".as_slice()));
        put_owner(&mut lina, Some("lina"));
        put_owner(&mut bo, Some("bo"));
        relay.merge(&mut lina).unwrap();
        let before = owner_ops(&relay);
        relay.merge(&mut bo).unwrap();
        let after = owner_ops(&relay);
        assert_eq!(after.len(), 2);
        assert_eq!(check_rep_owner_writes("l1", "bo", &before, &after), Ok(()));
        let access = Access::of(&relay);
        assert!(access.visible_to("lina", Role::Rep) && access.visible_to("bo", Role::Rep));
    }
}
