//! `fieldsync handover`: a departing rep's customers to another rep in one step. Every open
//! lead of the rep (or of one stage) is reassigned, each as an owner change (who, when, from,
//! to) in its own history; the rep's abandoned leads go back to the unassigned pool; won and
//! lost leads keep the rep who closed them. All leads move in one transaction, or none does.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::{Action, LeadRow, Outcome, ValidationError, validate};

use crate::args::HandoverArgs;
use crate::cmd::roles::{require_active_member, require_manager};
use crate::context::Context;
use crate::output::Table;

/// A rep's name as typed: one line, not blank.
fn rep(field: &'static str, text: &str) -> Result<String> {
    Ok(validate::required(field, validate::line(field, text)?)?)
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

/// Reassigns the leads, or lists them with `--dry-run`.
pub fn run(cx: &Context, args: &HandoverArgs, out: &mut impl Write) -> Result<()> {
    let (from, to) = (rep("from", &args.from)?, rep("to", &args.to)?);
    if from == to {
        return Err(ValidationError::new(
            "to",
            format!("'{to}' is also --from: hand the leads to another rep"),
        )
        .into());
    }
    let mut store = cx.open_store()?;
    require_manager(&store, "hand leads over")?;
    require_active_member(&store, "to", &to)?;
    let stage = args
        .stage
        .as_deref()
        .map(|text| store.pipeline().resolve_stage(text).map(|s| s.key.clone()))
        .transpose()?;
    let rows = store.rows()?;
    let moves: Vec<(&LeadRow, Option<String>)> = rows
        .iter()
        .filter_map(|row| Some((row, new_owner(row, &from, &to, stage.as_deref())?)))
        .collect();
    if moves.is_empty() {
        writeln!(
            out,
            "{from} has no open or abandoned leads to hand over{}",
            match &stage {
                Some(stage) => format!(" in {}", store.pipeline().stage_label(stage)),
                None => String::new(),
            }
        )?;
        return Ok(());
    }
    let pooled = moves.iter().filter(|(_, owner)| owner.is_none()).count();
    if args.dry_run {
        let mut table = Table::new(&["id", "company", "stage", "owner now", "would go to"]);
        for (row, owner) in &moves {
            table.add_row(vec![
                row.id.short().to_owned(),
                row.company.to_string(),
                store.pipeline().stage_label(&row.stage),
                from.clone(),
                owner.clone().unwrap_or_else(|| "(pool)".to_owned()),
            ]);
        }
        table.print(out)?;
        writeln!(
            out,
            "dry run: {} leads would go to {to}, {pooled} abandoned to the pool; nothing written",
            moves.len() - pooled
        )?;
        return Ok(());
    }
    let updates: Vec<_> = moves
        .iter()
        .map(|(row, owner)| {
            let assign = Action::Assign {
                owner: owner.clone(),
                at: cx.now,
            };
            (row.id.clone(), vec![assign])
        })
        .collect();
    let stamp = cx.stamp(&store);
    store.update_leads(&updates, &stamp)?;
    writeln!(
        out,
        "handed over {} leads from {from} to {to}; {pooled} abandoned went to the pool",
        moves.len() - pooled
    )?;
    Ok(())
}
