//! A departing rep's customers to another rep in one step: every open lead of the rep (or of
//! one stage) is reassigned, each as an owner change in its own history; the rep's abandoned
//! leads go back to the unassigned pool; won and lost leads keep the rep who closed them. Only
//! a manager may hand over, and only to an active member. All leads move in one staged write,
//! or none does.

use fieldsync_model::{Action, LeadRow, Outcome, Stamp, ValidationError, validate};

use crate::{Store, StoreError};

/// What a handover would do, lead by lead.
#[derive(Debug)]
pub struct HandoverPlan {
    /// The rep whose leads go.
    pub from: String,
    /// The rep they go to.
    pub to: String,
    /// Each lead that moves, with its new owner (`None`: the pool, for abandoned leads).
    pub moves: Vec<(LeadRow, Option<String>)>,
}

impl HandoverPlan {
    /// How many leads go to the new owner, and how many to the pool.
    pub fn counts(&self) -> (usize, usize) {
        let pooled = self
            .moves
            .iter()
            .filter(|(_, owner)| owner.is_none())
            .count();
        (self.moves.len() - pooled, pooled)
    }
}

/// A rep's name as typed: one line, not blank.
fn rep(field: &'static str, text: &str) -> Result<String, ValidationError> {
    validate::required(field, validate::line(field, text)?)
}

/// What happens to one row: its new owner (`None`: the pool), or nothing.
fn new_owner(row: &LeadRow, from: &str, to: &str, stage: Option<&str>) -> Option<Option<String>> {
    if row.deleted || row.owner.as_deref() != Some(from) {
        return None;
    }
    match row.outcome {
        Outcome::Open if stage.is_none_or(|s| s == row.stage) => Some(Some(to.to_owned())),
        Outcome::Abandoned if stage.is_none() => Some(None),
        _ => None,
    }
}

impl Store {
    /// Plans handing `from`'s leads (of `stage` only, a stage key, if given) to `to`, after
    /// checking that this device's member is a manager and `to` an active member.
    pub fn plan_handover(
        &self,
        from: &str,
        to: &str,
        stage: Option<&str>,
    ) -> Result<HandoverPlan, StoreError> {
        let (from, to) = (rep("from", from)?, rep("to", to)?);
        if from == to {
            return Err(ValidationError::new(
                "to",
                format!("'{to}' is also --from: hand the leads to another rep"),
            )
            .into());
        }
        let members = self.members()?;
        let roster = self.roster(&members);
        roster.require_manager("hand leads over")?;
        roster.require_active("to", &to)?;
        let moves = self
            .rows()?
            .into_iter()
            .filter_map(|row| {
                let owner = new_owner(&row, &from, &to, stage)?;
                Some((row, owner))
            })
            .collect();
        Ok(HandoverPlan { from, to, moves })
    }

    /// Carries out a plan from [`Store::plan_handover`]: every lead, or none.
    pub fn hand_over(&mut self, plan: &HandoverPlan, stamp: &Stamp) -> Result<usize, StoreError> {
        let updates: Vec<_> = plan
            .moves
            .iter()
            .map(|(row, owner)| {
                let assign = Action::Assign {
                    owner: owner.clone(),
                    at: stamp.now,
                };
                (row.id.clone(), vec![assign])
            })
            .collect();
        self.update_leads(&updates, stamp)
    }
}
