//! Who may do what: the team's roles as the relay's members file says, synced in the team
//! document. A device that has not synced a team's members yet works alone, and may do all.

use anyhow::{Result, bail};
use fieldsync_model::{Role, ValidationError};
use fieldsync_store::Store;

/// Refuses unless this device's member is an active manager of the team (or no roster is known).
pub fn require_manager(store: &Store, action: &str) -> Result<()> {
    let members = store.members()?;
    if members.is_empty() {
        return Ok(());
    }
    let me = store.me();
    match members.iter().find(|member| member.name == me) {
        Some(member) if member.role == Role::Manager && !member.removed => Ok(()),
        Some(member) if member.removed => {
            bail!("only a manager can {action}: {me} has been removed from the team")
        }
        Some(member) => bail!(
            "only a manager can {action}: the team lists {me} as a {}; ask a manager",
            member.role
        ),
        None => bail!(
            "only a manager can {action}: {me} is not among the team's members as last synced; sync, or ask a manager"
        ),
    }
}

/// Refuses a name that is not an active member of the team (when a roster is known): leads
/// handed to a typo or to someone who left would be nobody's.
pub fn require_active_member(store: &Store, field: &'static str, name: &str) -> Result<()> {
    let members = store.members()?;
    if members.is_empty()
        || members
            .iter()
            .any(|member| member.name == name && !member.removed)
    {
        return Ok(());
    }
    let active: Vec<&str> = members
        .iter()
        .filter(|member| !member.removed)
        .map(|member| member.name.as_str())
        .collect();
    let why = match members.iter().any(|member| member.name == name) {
        true => "has been removed from the team",
        false => "is not a member of the team",
    };
    Err(ValidationError::new(
        field,
        format!(
            "'{name}' {why}: the team's members are {}",
            active.join(", ")
        ),
    )
    .into())
}
