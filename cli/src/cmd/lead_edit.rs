//! `fieldsync lead edit`: set or clear fields, or hand the lead to someone else.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::{Action, Field, ValidationError, validate};

use crate::args::EditArgs;
use crate::context::Context;

/// Applies the edits as one change; only fields whose value differs are written.
pub fn run(cx: &Context, args: &EditArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let id = cx.resolve(&store, &args.id.id)?;
    let parse = cx.parse_context(store.pipeline());
    let mut changes = Vec::new();
    for (field, text) in &args.fields.given {
        changes.push((*field, field.parse(text, &parse)?));
    }
    for name in &args.clear {
        let field = Field::from_name(name).ok_or_else(|| {
            ValidationError::new(
                "clear",
                format!(
                    "unknown field '{name}': see `fieldsync lead edit --help` for the field names"
                ),
            )
        })?;
        changes.push((field, None));
    }
    let mut actions = Vec::new();
    if !changes.is_empty() {
        actions.push(Action::Edit(changes));
    }
    if let Some(owner) = &args.owner {
        let owner = validate::required("owner", validate::line("owner", owner)?)?;
        actions.push(Action::Assign {
            owner: Some(owner),
            at: cx.now,
        });
    } else if args.unassign {
        actions.push(Action::Assign {
            owner: None,
            at: cx.now,
        });
    }
    if actions.is_empty() {
        return Err(ValidationError::new("edit", "nothing to change: give at least one --FIELD VALUE, --clear FIELD, --owner or --unassign").into());
    }
    let updated = store.update_lead(&id, &actions, &cx.stamp(&store))?;
    let company = updated.lead.text(Field::Company);
    if updated.changed {
        writeln!(out, "updated {} ({company})", id.short())?;
    } else {
        writeln!(
            out,
            "nothing changed: {} ({company}) already has those values",
            id.short()
        )?;
    }
    Ok(())
}
