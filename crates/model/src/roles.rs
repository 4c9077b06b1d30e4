//! Who may do what, from the team's roster as the team document lists it: only a manager edits
//! the pipeline or hands leads over; leads go only to active members; a rep assigns a lead only
//! to themselves or the pool. A device that has no roster yet (it has not synced a team) works
//! alone, and may do all.

use thiserror::Error;

use crate::row::Owners;
use crate::team::{Member, Role};

/// Why the roster refuses an action.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoleError {
    /// The action needs a manager.
    #[error("only a manager can {action}: {why}")]
    NotManager {
        /// What was asked ("hand leads over").
        action: &'static str,
        /// Why this member is not one.
        why: String,
    },
    /// A lead would go to someone who is not an active member.
    #[error("{field}: '{name}' {why}: the team's members are {}", .active.join(", "))]
    NotMember {
        /// The input that named them (`owner`, `to`).
        field: &'static str,
        /// The name given.
        name: String,
        /// Removed, or never a member.
        why: &'static str,
        /// The active members, to choose from.
        active: Vec<String>,
    },
    /// A rep assigning a lead to someone else.
    #[error(
        "{field}: a rep assigns leads only to themselves or the pool; ask a manager to give one to '{name}'"
    )]
    RepAssigns {
        /// The input that named them.
        field: &'static str,
        /// The name given.
        name: String,
    },
}

/// The team's roster, as this device last synced it.
#[derive(Clone, Copy, Debug)]
pub struct Roster<'a> {
    /// Every member the team document lists, removed ones included.
    pub members: &'a [Member],
    /// The member this device acts for.
    pub me: &'a str,
}

impl Roster<'_> {
    /// Refuses unless this device's member is an active manager (or no roster is known).
    pub fn require_manager(&self, action: &'static str) -> Result<(), RoleError> {
        if self.members.is_empty() {
            return Ok(());
        }
        let me = self.me;
        let why = match self.members.iter().find(|member| member.name == me) {
            Some(member) if member.removed => format!("{me} has been removed from the team"),
            Some(member) if member.role == Role::Manager => return Ok(()),
            Some(member) => format!("the team lists {me} as a {}; ask a manager", member.role),
            None => format!(
                "{me} is not among the team's members as last synced; sync, or ask a manager"
            ),
        };
        Err(RoleError::NotManager { action, why })
    }

    /// Refuses a name that is not an active member (when a roster is known): leads handed to a
    /// typo or to someone who left would be nobody's.
    pub fn require_active(&self, field: &'static str, name: &str) -> Result<(), RoleError> {
        if self.members.is_empty()
            || self
                .members
                .iter()
                .any(|member| member.name == name && !member.removed)
        {
            return Ok(());
        }
        Err(RoleError::NotMember {
            field,
            name: name.to_owned(),
            why: match self.members.iter().any(|member| member.name == name) {
                true => "has been removed from the team",
                false => "is not a member of the team",
            },
            active: self
                .members
                .iter()
                .filter(|member| !member.removed)
                .map(|member| member.name.clone())
                .collect(),
        })
    }

    /// Checks a lead's new owner (`None`: the pool): an active member, and, for a rep, only
    /// themselves.
    pub fn check_owner(&self, field: &'static str, owner: Option<&str>) -> Result<(), RoleError> {
        let Some(owner) = owner else {
            return Ok(());
        };
        self.require_active(field, owner)?;
        let rep = self
            .members
            .iter()
            .any(|member| member.name == self.me && member.role == Role::Rep);
        if rep && owner != self.me {
            return Err(RoleError::RepAssigns {
                field,
                name: owner.to_owned(),
            });
        }
        Ok(())
    }

    /// Whether this device's member is a rep of the team: their device holds only their own
    /// leads and the pool (the relay sends it nothing else).
    pub fn holds_own_and_pool(&self) -> bool {
        self.members
            .iter()
            .any(|member| member.name == self.me && member.role == Role::Rep && !member.removed)
    }

    /// What a list, funnel, alert list or report over `owners` covers, said when it is not
    /// the whole team: one rep's leads, the pool, or, on a rep's device, what the device holds.
    pub fn covers(&self, owners: &Owners) -> Option<String> {
        let held = format!("{}'s own leads and the pool", self.me);
        match (self.holds_own_and_pool(), owners.describe()) {
            (false, whose) => whose,
            (true, None) => Some(format!("{held}: a rep's device holds no other rep's leads")),
            (true, Some(whose)) => match owners {
                Owners::Of(Some(owner)) if owner != self.me => Some(format!(
                    "{whose}: none are on this device, which holds {held}"
                )),
                _ => Some(whose),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Vec<Member> {
        [
            ("lina", Role::Rep, false),
            ("王经理", Role::Manager, false),
            ("zhao", Role::Rep, true),
        ]
        .into_iter()
        .map(|(name, role, removed)| Member {
            name: name.into(),
            role,
            removed,
        })
        .collect()
    }

    fn as_member<'a>(members: &'a [Member], me: &'a str) -> Roster<'a> {
        Roster { members, me }
    }

    #[test]
    fn a_device_without_a_roster_may_do_all() {
        let alone = Roster {
            members: &[],
            me: "lina",
        };
        assert!(alone.require_manager("hand leads over").is_ok());
        assert!(alone.check_owner("owner", Some("anyone")).is_ok());
    }

    #[test]
    fn managers_reps_and_owners() {
        let members = roster();
        let (lina, manager) = (as_member(&members, "lina"), as_member(&members, "王经理"));
        let err = lina.require_manager("hand leads over").unwrap_err();
        assert!(err.to_string().contains("lists lina as a rep"), "{err}");
        assert!(manager.require_manager("hand leads over").is_ok());
        // A typo and a removed member are refused with the members to choose from.
        let typo = manager.check_owner("owner", Some("lnia")).unwrap_err();
        assert_eq!(
            typo.to_string(),
            "owner: 'lnia' is not a member of the team: the team's members are lina, 王经理"
        );
        let gone = manager.check_owner("to", Some("zhao")).unwrap_err();
        assert!(gone.to_string().contains("has been removed"), "{gone}");
        // A rep: themselves or the pool; a manager: anyone active.
        assert!(lina.check_owner("owner", Some("lina")).is_ok());
        assert!(lina.check_owner("owner", None).is_ok());
        let other = lina.check_owner("owner", Some("王经理")).unwrap_err();
        assert!(matches!(other, RoleError::RepAssigns { .. }), "{other}");
        assert!(manager.check_owner("owner", Some("lina")).is_ok());
    }

    #[test]
    fn a_reps_figures_say_they_cover_what_the_device_holds() {
        let members = roster();
        let (lina, manager) = (as_member(&members, "lina"), as_member(&members, "王经理"));
        assert_eq!(manager.covers(&Owners::Everyone), None);
        assert_eq!(
            lina.covers(&Owners::Everyone).as_deref(),
            Some("lina's own leads and the pool: a rep's device holds no other rep's leads")
        );
        assert_eq!(
            lina.covers(&Owners::Of(Some("lina".into()))).as_deref(),
            Some("lina's leads")
        );
        assert!(
            lina.covers(&Owners::Of(Some("王经理".into())))
                .is_some_and(|text| text.contains("none are on this device"))
        );
    }
}
