//! `fieldsync lead show`: one lead, its fields (conflicts marked), follow-ups and history, now
//! or as it was at a past moment (`--as-of`).

use std::io::Write;

use anyhow::Result;
use fieldsync_model::{Field, Lead, Pipeline, ValidationError, when};

use crate::args::ShowArgs;
use crate::context::Context;
use crate::output::{Table, local_time, print_json};

/// Prints the lead.
pub fn run(cx: &Context, args: &ShowArgs, out: &mut impl Write) -> Result<()> {
    let as_of = args
        .as_of
        .as_deref()
        .map(|text| {
            when::parse_as_of(text, cx.now, &cx.zone)
                .map_err(|problem| ValidationError::new("as-of", problem))
        })
        .transpose()?;
    let store = cx.open_store()?;
    let id = cx.resolve(&store, &args.id.id)?;
    let doc = store.load(&id)?;
    let lead = match as_of {
        None => doc.view(),
        Some(at) => doc.as_of(at).ok_or_else(|| {
            ValidationError::new(
                "as-of",
                format!(
                    "the lead was not recorded yet at {}: give a later date",
                    local_time(at)
                ),
            )
        })?,
    };
    if args.json.json {
        return print_json(out, &lead);
    }
    if let Some(at) = as_of {
        writeln!(out, "as of {}", local_time(at))?;
    }
    let today = cx.now.with_timezone(&cx.zone).date_naive();
    print_lead(&lead, store.pipeline(), today, out)
}

fn conflict_note(lead: &Lead, key: &str) -> String {
    lead.conflicts
        .iter()
        .find(|c| c.field == key)
        .map(|c| format!("  [CONFLICT: {}]", c.values.join(" | ")))
        .unwrap_or_default()
}

fn print_lead(
    lead: &Lead,
    pipeline: &Pipeline,
    today: chrono::NaiveDate,
    out: &mut impl Write,
) -> Result<()> {
    writeln!(out, "{}  {}", lead.text(Field::Company), lead.id)?;
    if let Some(deleted) = &lead.deleted {
        writeln!(
            out,
            "DELETED on {} by {}",
            local_time(deleted.at),
            deleted.by
        )?;
    }
    let mut facts = Table::facts();
    let previous = lead
        .previous_stage_days
        .map(|d| format!(" ({d} days in the previous stage)"))
        .unwrap_or_default();
    facts.add_row(vec![
        "stage".to_owned(),
        format!(
            "{} since {}{previous}{}",
            pipeline.stage_label(&lead.stage),
            local_time(lead.stage_entered_at),
            conflict_note(lead, "stage")
        ),
    ]);
    let outcome = match (lead.outcome, &lead.deal_amount, &lead.loss_reason) {
        (fieldsync_model::Outcome::Won, Some(amount), _) => {
            format!("won, {}", pipeline.amount(*amount))
        }
        (fieldsync_model::Outcome::Lost | fieldsync_model::Outcome::Abandoned, _, Some(reason)) => {
            format!("{}: {}", lead.outcome, pipeline.loss_reason_label(reason))
        }
        (outcome, _, _) => outcome.to_string(),
    };
    let since = lead
        .outcome_at
        .map(|at| format!(" on {}", local_time(at)))
        .unwrap_or_default();
    facts.add_row(vec![
        "outcome".to_owned(),
        format!("{outcome}{since}{}", conflict_note(lead, "outcome")),
    ]);
    if let (true, Some(until)) = (lead.on_hold(today), lead.hold_until) {
        let reason = lead
            .holds
            .last()
            .and_then(|hold| hold.reason.as_deref())
            .map(|reason| format!(": {reason}"))
            .unwrap_or_default();
        facts.add_row(vec!["on hold".to_owned(), format!("until {until}{reason}")]);
    }
    facts.add_row(vec![
        "owner".to_owned(),
        format!(
            "{}{}",
            lead.owner.as_deref().unwrap_or("(unassigned pool)"),
            conflict_note(lead, "owner")
        ),
    ]);
    for field in Field::ALL.iter().filter(|f| **f != Field::Company) {
        let Some(Some(value)) = lead.fields.get(field.key()) else {
            continue;
        };
        let shown = match (field, value) {
            (Field::Source, _) => pipeline.source_label(&value.to_string()),
            (_, fieldsync_model::view::FieldValue::Money(money)) => pipeline.amount(*money),
            _ => value.to_string(),
        };
        facts.add_row(vec![
            field.flag().to_owned(),
            format!("{shown}{}", conflict_note(lead, field.key())),
        ]);
    }
    facts.add_row(vec![
        "created".to_owned(),
        format!("{} by {}", local_time(lead.created_at), lead.created_by),
    ]);
    facts.print(out)?;

    writeln!(out, "\nfollow-ups ({})", lead.followups.len())?;
    if !lead.followups.is_empty() {
        let mut log = Table::new(&[
            "#", "when", "channel", "by", "summary", "feedback", "next", "due",
        ]);
        for (number, f) in lead.followups.iter().enumerate() {
            let corrected = f
                .corrected
                .as_ref()
                .map(|c| format!(" (corrected by {})", c.by))
                .unwrap_or_default();
            log.add_row(vec![
                format!("{}{corrected}", number + 1),
                local_time(f.times.at),
                f.channel.clone(),
                f.times.by.clone(),
                f.summary.clone(),
                f.feedback.clone().unwrap_or_default(),
                f.next.clone().unwrap_or_default(),
                f.due.map(|d| d.to_string()).unwrap_or_default(),
            ]);
        }
        log.print(out)?;
    }
    writeln!(out, "\nhistory")?;
    let mut history = Table::new(&["when", "what", "by", "recorded"]);
    let label = |stage: &Option<String>| {
        stage
            .as_deref()
            .map_or_else(|| "-".to_owned(), |s| pipeline.stage_label(s))
    };
    let mut rows: Vec<_> = lead
        .stage_changes
        .iter()
        .map(|c| {
            (
                c.times.clone(),
                match &c.from {
                    None => format!("created in {}", label(&c.to)),
                    Some(_) => format!("stage {} -> {}", label(&c.from), label(&c.to)),
                },
            )
        })
        .chain(lead.owner_changes.iter().skip(1).map(|c| {
            (
                c.times.clone(),
                format!(
                    "owner {} -> {}",
                    c.from.as_deref().unwrap_or("pool"),
                    c.to.as_deref().unwrap_or("pool")
                ),
            )
        }))
        .chain(lead.holds.iter().map(|hold| {
            let what = match hold.until {
                Some(until) => format!("on hold until {until}"),
                None => "hold released".to_owned(),
            };
            let reason = hold.reason.as_deref().map(|r| format!(": {r}"));
            (hold.times.clone(), what + &reason.unwrap_or_default())
        }))
        .chain(lead.outcomes.iter().map(|o| {
            let detail = [
                o.amount.map(|a| a.to_string()),
                o.reason.as_deref().map(|r| pipeline.loss_reason_label(r)),
                o.note.clone(),
            ];
            let detail: Vec<String> = detail.into_iter().flatten().collect();
            (
                o.times.clone(),
                format!("{} {}", o.outcome, detail.join(", "))
                    .trim_end()
                    .to_owned(),
            )
        }))
        .collect();
    rows.sort_by_key(|(times, _)| (times.at, times.recorded_at));
    for (times, what) in rows {
        history.add_row(vec![
            local_time(times.at),
            what,
            times.by,
            local_time(times.recorded_at),
        ]);
    }
    history.print(out)?;
    Ok(())
}
