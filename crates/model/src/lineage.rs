//! Which state of a lead a rep's change builds on, checked by the relay before it takes the
//! change.
//!
//! Automerge lets a change name any dependencies, none at all included, so the owner register
//! as the relay merges it says nothing of what the writer saw: a change with no dependencies
//! that sets `owner` to its writer merges as a concurrent claim of any lead. A rep's change is
//! therefore judged by the state it builds on, its dependencies:
//!
//! - a change to a lead the relay already holds must build on something of it (a change with
//!   no dependencies there is a second, forged beginning);
//! - the lead must be visible to the rep at that state: theirs or the pool's;
//! - a change that writes the owner register replaces, in its own history, only the rep's or
//!   the pool's values, and a rep whose claim someone else overruled (a manager settling a
//!   conflict, a handover) does not claim the lead again until it is back in the pool or theirs:
//!   what they write of the owner from a state before that decision (an offline claim, giving
//!   it back, a replayed claim) is kept, a conflict a manager settles, but widens no one's view.
//!
//! Two reps claiming one pool lead offline each build on the pool, so both claims pass and
//! stand as a conflict, as before.

use automerge::{Automerge, ChangeHash, ROOT, ReadDoc};

use crate::schema::key;
use crate::visibility::{OwnerOps, VisibilityError, owner_value};

/// Checks every change `doc` gained since `before` (the relay's heads of the lead before the
/// merge) as the work of rep `member`; `overruled` says someone else replaced an earlier
/// claim of theirs since the lead was last theirs or the pool's.
pub fn check_rep_changes(
    id: &str,
    member: &str,
    doc: &Automerge,
    before: &[ChangeHash],
    overruled: bool,
) -> Result<Verdict, VisibilityError> {
    let mut verdict = Verdict::default();
    if before.is_empty() {
        // A lead new to the relay: what its owner may be is the register check's job.
        return Ok(verdict);
    }
    let refuse = |why: String| VisibilityError::Lineage {
        member: member.to_owned(),
        id: id.to_owned(),
        why,
    };
    let mine = |value: &Option<String>| value.as_deref().is_none_or(|owner| owner == member);
    let new = doc.get_changes(before);
    for change in &new {
        let deps = change.deps();
        if deps.is_empty() {
            return Err(refuse("with a change that builds on none of it".to_owned()));
        }
        let base = owners_at(doc, deps);
        if !base.is_empty() && !base.iter().any(|(value, _)| mine(value)) {
            return Err(refuse(
                "with a change made while it was another rep's".to_owned(),
            ));
        }
        let after = owners_at(doc, &[change.hash()]);
        let writes_owner = after
            .iter()
            .map(|(_, op)| op)
            .ne(base.iter().map(|(_, op)| op));
        if !writes_owner {
            continue;
        }
        if let Some((Some(other), _)) = base.iter().find(|(value, _)| !mine(value)) {
            return Err(refuse(format!("by replacing {other} as its owner")));
        }
        if overruled {
            // A rep someone else overruled writes the owner register from a state before that
            // decision: an honest offline claim or giving back, or a replayed claim. Either way
            // it is kept (the register shows it, a conflict a manager settles; refusing it
            // would refuse the device's every sync) but brings the lead back into no one's view.
            verdict.discounted = true;
        }
    }
    Ok(verdict)
}

/// What the relay does with a rep's changes it takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The rep, overruled, wrote the owner register from a state of their own before the
    /// decision: the values they wrote stay in the register (a conflict a manager settles) but
    /// count for no one's view ([`crate::visibility::Access::discounted`]).
    pub discounted: bool,
}

/// The owner register's values and operations as of `heads`.
fn owners_at(doc: &Automerge, heads: &[ChangeHash]) -> OwnerOps {
    doc.get_all_at(ROOT, key::OWNER, heads)
        .unwrap_or_default()
        .into_iter()
        .map(|(value, op)| (owner_value(&value), op))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ScalarValue};

    fn pool_lead() -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from(b"boss".as_slice()));
        doc.put(ROOT, key::OWNER, ScalarValue::Null).unwrap();
        doc.commit();
        doc
    }

    fn set_owner(doc: &mut AutoCommit, owner: &str) {
        doc.put(ROOT, key::OWNER, owner).unwrap();
        doc.commit();
    }

    /// Merges `from` into the relay's copy and checks what it gained as `member`'s.
    fn merged(
        relay: &mut AutoCommit,
        from: &mut AutoCommit,
        member: &str,
        overruled: bool,
    ) -> Result<(), VisibilityError> {
        let before = relay.get_heads();
        relay.merge(from).unwrap();
        check_rep_changes("l1", member, relay.document(), &before, overruled).map(|_| ())
    }

    #[test]
    fn a_change_with_no_dependencies_is_refused_on_an_existing_lead() {
        let mut relay = pool_lead();
        set_owner(&mut relay, "bo");
        let mut forged = AutoCommit::new().with_actor(ActorId::from(b"lina".as_slice()));
        set_owner(&mut forged, "lina");
        let err = merged(&mut relay, &mut forged, "lina", false).unwrap_err();
        assert!(err.to_string().contains("builds on none of it"), "{err}");
    }

    #[test]
    fn two_offline_claims_of_a_pool_lead_both_pass() {
        let mut relay = pool_lead();
        let mut lina = relay.fork().with_actor(ActorId::from(b"lina".as_slice()));
        let mut bo = relay.fork().with_actor(ActorId::from(b"bo".as_slice()));
        set_owner(&mut lina, "lina");
        set_owner(&mut bo, "bo");
        assert_eq!(merged(&mut relay, &mut bo, "bo", false), Ok(()));
        assert_eq!(merged(&mut relay, &mut lina, "lina", false), Ok(()));
        assert_eq!(relay.get_all(ROOT, key::OWNER).unwrap().len(), 2);
    }

    #[test]
    fn a_change_built_on_another_reps_lead_is_refused() {
        let mut relay = pool_lead();
        set_owner(&mut relay, "bo");
        let mut lina = relay.fork().with_actor(ActorId::from(b"lina".as_slice()));
        lina.put(ROOT, "company", "peek").unwrap();
        lina.commit();
        assert!(merged(&mut relay, &mut lina, "lina", false).is_err());
    }

    #[test]
    fn after_a_settled_conflict_the_overruled_reps_claim_again_widens_no_view() {
        let mut relay = pool_lead();
        let mut pool_state = relay.fork().with_actor(ActorId::from(b"lina".as_slice()));
        let mut lina = pool_state
            .fork()
            .with_actor(ActorId::from(b"lina".as_slice()));
        let mut bo = relay.fork().with_actor(ActorId::from(b"bo".as_slice()));
        set_owner(&mut bo, "bo");
        set_owner(&mut lina, "lina");
        merged(&mut relay, &mut bo, "bo", false).unwrap();
        merged(&mut relay, &mut lina, "lina", false).unwrap();
        // The manager settles for bo.
        set_owner(&mut relay, "bo");
        // From the conflict she holds: replacing bo's claim.
        let mut from_conflict = lina.fork();
        from_conflict.merge(&mut bo).unwrap();
        set_owner(&mut from_conflict, "lina");
        let err = merged(&mut relay.fork(), &mut from_conflict, "lina", true).unwrap_err();
        assert!(err.to_string().contains("replacing bo"), "{err}");
        // From the pool state she once had: a claim after being overruled is kept but widens no
        // view.
        let mut again = pool_state.fork().with_actor(ActorId::random());
        set_owner(&mut again, "lina");
        let mut copy = relay.fork();
        let before = copy.get_heads();
        copy.merge(&mut again).unwrap();
        let verdict = check_rep_changes("l1", "lina", copy.document(), &before, true).unwrap();
        assert!(verdict.discounted);
        // Her follow-up work on the state she saw is still taken.
        let mut note = lina.fork();
        note.put(ROOT, "notes", "visited").unwrap();
        note.commit();
        assert_eq!(merged(&mut relay.fork(), &mut note, "lina", true), Ok(()));
        // Giving it back from before the decision is kept, and marked to widen no view.
        let mut release = lina.fork();
        release.put(ROOT, key::OWNER, ScalarValue::Null).unwrap();
        release.commit();
        let mut copy = relay.fork();
        let before = copy.get_heads();
        copy.merge(&mut release).unwrap();
        let verdict = check_rep_changes("l1", "lina", copy.document(), &before, true).unwrap();
        assert!(verdict.discounted);
    }
}
