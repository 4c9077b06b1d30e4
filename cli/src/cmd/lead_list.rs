//! `fieldsync lead list`: leads from the projection rows, filtered, newest first.
//!
//! The table reads only projection rows; `--json` loads each listed lead's document so that it
//! carries the full lead (follow-ups and stage changes included), the shape of `lead show --json`.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::plural::counted;
use fieldsync_model::search::Search;
use fieldsync_model::{LeadRow, Outcome};

use super::owners::owners;
use crate::args::ListArgs;
use crate::context::Context;
use crate::output::{Table, local_date, print_json};

/// Prints the matching leads.
pub fn run(cx: &Context, args: &ListArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let pipeline = store.pipeline();
    let stage = args
        .stage
        .as_deref()
        .map(|s| pipeline.resolve_stage(s).map(|s| s.key.clone()))
        .transpose()?;
    let source = args
        .source
        .as_deref()
        .map(|s| pipeline.resolve_source(s).map(|s| s.key.clone()))
        .transpose()?;
    let outcome = [
        (args.open, Outcome::Open),
        (args.won, Outcome::Won),
        (args.lost, Outcome::Lost),
        (args.abandoned, Outcome::Abandoned),
    ]
    .into_iter()
    .find_map(|(wanted, outcome)| wanted.then_some(outcome));
    let owners = owners(&store, &args.of);
    let search = args.search.as_deref().and_then(Search::new);
    let all = store.rows()?;
    // References, so sorting moves pointers rather than whole rows.
    let mut rows: Vec<&LeadRow> = all
        .iter()
        .filter(|row| args.deleted || !row.deleted)
        .filter(|row| stage.as_ref().is_none_or(|s| row.stage == *s))
        .filter(|row| source.as_ref().is_none_or(|s| row.source == *s))
        .filter(|row| outcome.is_none_or(|o| row.outcome == o))
        .filter(|row| owners.includes(row))
        .filter(|row| search.as_ref().is_none_or(|s| s.matches(row)))
        .collect();
    rows.sort_by(|a, b| {
        b.created_ms
            .cmp(&a.created_ms)
            .then_with(|| a.id.cmp(&b.id))
    });

    if args.json.json {
        let leads = rows
            .iter()
            .map(|row| store.load(&row.id).map(|doc| doc.view()))
            .collect::<Result<Vec<_>, _>>()?;
        return print_json(out, &leads);
    }
    let amount = match pipeline.amount_unit() {
        Some(unit) => format!("amount ({unit})"),
        None => "amount".to_owned(),
    };
    let mut list = Table::new(&[
        "id",
        "no.",
        "company",
        "contact",
        "stage",
        "owner",
        "priority",
        &amount,
        "status",
        "last touch",
        "next due",
    ]);
    let today = cx.now.with_timezone(&cx.zone).date_naive();
    for row in &rows {
        let status = match row.outcome {
            Outcome::Won => format!(
                "won {}",
                row.deal_amount.map(|a| a.to_string()).unwrap_or_default()
            ),
            Outcome::Open if row.on_hold(today) => format!(
                "on hold to {}",
                row.hold_until.map(|d| d.to_string()).unwrap_or_default()
            ),
            _ => row.outcome.to_string(),
        };
        // A closed lead has no next step to chase.
        let next_due = match row.outcome {
            Outcome::Open => row.next_due.as_deref().unwrap_or_default(),
            _ => "",
        };
        let marks = format!(
            "{}{}",
            if row.conflicts > 0 { "!" } else { "" },
            if row.deleted { "x" } else { "" }
        );
        let stage_label = pipeline.stage(&row.stage).map_or_else(
            || row.stage.to_string(),
            |s| format!("{} {}", s.key, s.label.zh),
        );
        list.add_row(vec![
            format!("{}{marks}", row.id.short()),
            row.number.to_string(),
            row.company.to_string(),
            row.contact.to_string(),
            stage_label,
            row.owner.as_deref().unwrap_or("-").to_owned(),
            row.priority.map(|p| p.to_string()).unwrap_or_default(),
            row.amount.map(|a| a.to_string()).unwrap_or_default(),
            status.trim_end().to_owned(),
            row.last_followup_at().map(local_date).unwrap_or_default(),
            next_due.to_owned(),
        ]);
    }
    list.print(out)?;
    writeln!(
        out,
        "{}{}",
        counted(rows.len() as u64, "lead"),
        if rows.iter().any(|r| r.conflicts > 0) {
            " (! = has conflicting values: see `lead show`)"
        } else {
            ""
        }
    )?;
    Ok(())
}
