//! `fieldsync conflicts` and `fieldsync resolve`: fields two devices set differently at the
//! same time, and settling one with the value that should stand.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::resolve::resolution;
use fieldsync_model::{Field, Lead, LeadDoc};
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
    /// Who set each value, in the same order.
    set_by: Vec<String>,
}

/// Lists every conflicted field of every lead that is not deleted.
pub fn list(cx: &Context, args: &ConflictsArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let mut leads: Vec<(Lead, LeadDoc)> = Vec::new();
    for row in store.rows()? {
        if row.conflicts > 0 && !row.deleted {
            let doc = store.load(&row.id)?;
            leads.push((doc.view(), doc));
        }
    }
    let listed: Vec<Listed> = leads
        .iter()
        .flat_map(|(lead, doc)| {
            lead.conflicts.iter().map(|conflict| Listed {
                id: lead.id.as_str(),
                company: lead.text(Field::Company),
                field: &conflict.field,
                standing: conflict.values.first().map_or("", String::as_str),
                values: &conflict.values,
                set_by: doc.conflict_authors(&conflict.field),
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
        // "+86 138 ... (set by wang)".
        let shown: Vec<String> = item
            .values
            .iter()
            .enumerate()
            .map(|(index, value)| match item.set_by.get(index) {
                Some(by) => format!("{value} (set by {by})"),
                None => value.clone(),
            })
            .collect();
        table.add_row(vec![
            item.id[..8].to_owned(),
            item.company.clone(),
            item.field.to_owned(),
            shown[0].clone(),
            shown[1..].join(" | "),
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
