//! Settling a conflict: the value a person chooses for a register two devices set differently
//! becomes the action that writes it, which settles it on every device once synced.

use chrono::TimeZone;

use crate::action::Action;
use crate::field::{Field, ParseContext};
use crate::validate::{self, ValidationError};
use crate::view::Lead;

/// The action that makes `value` stand for the conflicted register `name` (a field's name or
/// key, `owner` or `stage`) of `lead`, dated `ctx.now`. Refuses a register that is not in
/// conflict, and the outcome registers, which closing or reopening settles.
pub fn resolution<Tz: TimeZone>(
    lead: &Lead,
    name: &str,
    value: &str,
    ctx: &ParseContext<'_, Tz>,
) -> Result<Action, ValidationError> {
    let name = name.trim().trim_start_matches("--");
    let field = Field::from_name(name);
    let key: &str = match field {
        Some(field) => field.key(),
        None => name,
    };
    if !lead.conflicts.iter().any(|conflict| conflict.field == key) {
        return Err(ValidationError::new(
            "field",
            format!(
                "'{name}' of lead {} is not in conflict (see `fieldsync conflicts`); change it with `fieldsync lead edit`",
                lead.id.short()
            ),
        ));
    }
    Ok(match (field, key) {
        (Some(field), _) => Action::Edit(vec![(field, field.parse(value, ctx)?)]),
        (None, "owner") => Action::Assign {
            owner: Some(validate::required(
                "value",
                validate::line("value", value)?,
            )?),
            at: ctx.now,
        },
        (None, "stage") => Action::Move {
            to: ctx.pipeline.resolve_stage(value)?.key.clone(),
            at: ctx.now,
        },
        (None, other) => {
            return Err(ValidationError::new(
                "field",
                format!(
                    "'{other}' is settled by closing or reopening the lead: use `fieldsync won`, `lost` or `reopen`"
                ),
            ));
        }
    })
}
