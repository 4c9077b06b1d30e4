//! `fieldsync conflicts` and `fieldsync resolve`: fields two devices set differently at the
//! same time, and settling one with the value that should stand.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::resolve::resolution;
use fieldsync_model::{Field, Lead};
use serde::Serialize;

use crate::args::{ConflictsArgs, ResolveArgs};
use crate::context::Context;
use crate::output::{Table, print_json};

/// One conflicted field of one lead.
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    company: String,
    field: &'a str,
    /// The value every device shows now.
    standing: &'a str,
    /// Every value, the standing one first.
    values: &'a [String],
}

/// Lists every conflicted field of every lead that is not deleted.
pub fn list(cx: &Context, args: &ConflictsArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let mut leads: Vec<Lead> = Vec::new();
    for row in store.rows()? {
        if row.conflicts > 0 && !row.deleted {
            leads.push(store.load(&row.id)?.view());
        }
    }
    let listed: Vec<Listed> = leads
        .iter()
        .flat_map(|lead| {
            lead.conflicts.iter().map(|conflict| Listed {
                id: lead.id.as_str(),
                company: lead.text(Field::Company),
                field: &conflict.field,
                standing: conflict.values.first().map_or("", String::as_str),
                values: &conflict.values,
            })
        })
        .collect();
    if args.json {
        return print_json(out, &listed);
    }
    if listed.is_empty() {
        writeln!(out, "no conflicts")?;
        return Ok(());
    }
    let mut table = Table::new(&["id", "company", "field", "standing", "other values"]);
    for item in &listed {
        table.add_row(vec![
            item.id[..8].to_owned(),
            item.company.clone(),
            item.field.to_owned(),
            item.standing.to_owned(),
            item.values[1..].join(" | "),
        ]);
    }
    table.print(out)?;
    writeln!(
        out,
        "settle one with `fieldsync resolve ID FIELD VALUE`; until then every device shows the standing value"
    )?;
    Ok(())
}

/// Sets a conflicted field to the value that should stand, which settles it on every device.
pub fn resolve(cx: &Context, args: &ResolveArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let id = cx.resolve(&store, &args.id)?;
    let lead = store.load(&id)?.view();
    let action = resolution(
        &lead,
        &args.field,
        &args.value,
        &cx.parse_context(store.pipeline()),
    )?;
    store.update_lead(&id, &[action], &cx.stamp(&store))?;
    writeln!(
        out,
        "resolved {} of {} ({}): {}",
        args.field.trim().trim_start_matches("--"),
        id.short(),
        lead.text(Field::Company),
        args.value.trim()
    )?;
    Ok(())
}
