//! The commands that record one event on a lead: `log`, `move`, `won`, `lost`, `abandon`,
//! `reopen`, `hold` and `lead delete`. Each builds an [`Action`] and hands it to [`apply`].

use std::io::Write;

use anyhow::Result;
use chrono::{Offset, TimeZone};
use fieldsync_model::form::{FollowUpText, optional_text, parse_with};
use fieldsync_model::{
    Action, ContactChannel, Due, Field, FollowUpDraft, Lead, Money, ValidationError, validate, when,
};
use fieldsync_store::Store;

use crate::args::{
    AbandonArgs, CorrectArgs, HoldArgs, IdArg, LogArgs, LostArgs, MoveArgs, ReopenArgs, WonArgs,
};
use crate::context::Context;

/// Resolves the lead, applies the action as one change, prints what happened and returns the
/// lead as it now reads.
fn apply(
    cx: &Context,
    mut store: Store,
    id: &str,
    action: Action,
    out: &mut impl Write,
    describe: impl FnOnce(&Lead, &Store) -> String,
) -> Result<Lead> {
    let id = cx.resolve(&store, id)?;
    let updated = store.update_lead(&id, &[action], &cx.stamp(&store))?;
    let company = updated.lead.text(Field::Company);
    writeln!(
        out,
        "{} {} ({company})",
        describe(&updated.lead, &store),
        id.short()
    )?;
    Ok(updated.lead)
}

/// `fieldsync log`.
pub fn log(cx: &Context, args: &LogArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let draft = FollowUpText {
        at: args.at.at.as_deref(),
        channel: &args.channel,
        summary: &args.summary,
        feedback: args.feedback.as_deref(),
        next: args.next.as_deref(),
        due: args.due.as_deref(),
    }
    .draft(cx.now, &cx.zone)?;
    apply(
        cx,
        store,
        &args.id.id,
        Action::Log(draft),
        out,
        |lead, _| format!("logged follow-up #{} on", lead.followups.len()),
    )
    .map(drop)
}

/// `fieldsync move`: the move, then the criteria of the stage left and of the stage entered,
/// for the rep to check.
pub fn move_to(cx: &Context, args: &MoveArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let pipeline = store.pipeline().clone();
    let target = pipeline.resolve_stage(&args.stage)?;
    let at = cx.event_time(args.at.at.as_deref())?;
    let action = Action::Move {
        to: target.key.clone(),
        at,
    };
    let moved = apply(cx, store, &args.id.id, action, out, |lead, store| {
        format!("moved to {}:", store.pipeline().stage_label(&lead.stage))
    })?;
    // The move is the lead's latest stage change, dated `at`: it names the stage left (a move
    // that settled a conflict appended none, and left nothing).
    let from = moved
        .stage_changes
        .last()
        .filter(|change| change.times.at.timestamp_millis() == at.timestamp_millis())
        .and_then(|change| change.from.as_deref());
    let left = from.and_then(|from| pipeline.stage(from));
    for (stage, criteria, when) in [
        (left, left.and_then(|s| s.exit.as_deref()), "to leave"),
        (Some(target), target.entry.as_deref(), "to enter"),
    ] {
        if let (Some(stage), Some(criteria)) = (stage, criteria) {
            writeln!(out, "  {when} {}: {criteria}", stage.label.both())?;
        }
    }
    Ok(())
}

/// `fieldsync won`.
pub fn won(cx: &Context, args: &WonArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let amount = parse_with("amount", args.amount.parse::<Money>())?;
    let action = Action::Won {
        amount,
        at: cx.event_time(args.at.at.as_deref())?,
        note: optional_text("note", args.note.as_deref())?,
    };
    apply(cx, store, &args.id.id, action, out, |_, _| {
        format!("won ({amount}):")
    })
    .map(drop)
}

/// `fieldsync lost`.
pub fn lost(cx: &Context, args: &LostArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let reason = store
        .pipeline()
        .resolve_loss_reason(&args.reason)?
        .key
        .clone();
    let action = Action::Lost {
        reason: reason.clone(),
        note: optional_text("note", args.note.as_deref())?,
        at: cx.event_time(args.at.at.as_deref())?,
    };
    apply(cx, store, &args.id.id, action, out, |_, store| {
        format!("lost ({}):", store.pipeline().loss_reason_label(&reason))
    })
    .map(drop)
}

/// `fieldsync abandon`.
pub fn abandon(cx: &Context, args: &AbandonArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let reason = args
        .reason
        .as_deref()
        .map(|r| {
            store
                .pipeline()
                .resolve_loss_reason(r)
                .map(|r| r.key.clone())
        })
        .transpose()?;
    let action = Action::Abandon {
        reason,
        note: optional_text("note", args.note.as_deref())?,
        at: cx.event_time(args.at.at.as_deref())?,
    };
    apply(cx, store, &args.id.id, action, out, |_, _| {
        "abandoned (back to the pool):".to_owned()
    })
    .map(drop)
}

/// `fieldsync reopen`.
pub fn reopen(cx: &Context, args: &ReopenArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let at = cx.event_time(args.at.at.as_deref())?;
    apply(
        cx,
        store,
        &args.id.id,
        Action::Reopen { at },
        out,
        |lead, store| format!("reopened in {}:", store.pipeline().stage_label(&lead.stage)),
    )
    .map(drop)
}

/// `fieldsync correct`: the follow-up as it stands with the fields given replaced, or void.
pub fn correct(cx: &Context, args: &CorrectArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let id = cx.resolve(&store, &args.id.id)?;
    let lead = store.load(&id)?.view();
    let original = args
        .number
        .checked_sub(1)
        .and_then(|index| lead.followups.get(index))
        .ok_or_else(|| {
            ValidationError::new(
                "number",
                format!(
                    "lead {} has {}: give a number from 1 (`fieldsync lead show` numbers them)",
                    id.short(),
                    match lead.followups.len() {
                        1 => "1 follow-up".to_owned(),
                        count => format!("{count} follow-ups"),
                    }
                ),
            )
        })?;
    let text = |given: &Option<String>, old: &Option<String>, field| match given {
        Some(text) => optional_text(field, Some(text)),
        None => Ok(old.clone()),
    };
    let followup = match args.void {
        true => None,
        false => {
            let next = text(&args.next, &original.next, "next")?;
            let due = match (&args.due, &next) {
                (_, None) => None,
                (Some(due), Some(_)) if due.trim().is_empty() => None,
                (Some(due), Some(_)) => Some(parse_with("due", Due::parse(due, cx.now, &cx.zone))?),
                (None, Some(_)) => original.due,
            };
            let at = match &args.happened {
                Some(at) => cx.event_time(Some(at))?,
                None => original.times.at,
            };
            Some(FollowUpDraft {
                at,
                channel: match &args.channel {
                    Some(channel) => parse_with("channel", channel.parse::<ContactChannel>())?,
                    None => parse_with("channel", original.channel.parse::<ContactChannel>())?,
                },
                summary: match &args.summary {
                    Some(summary) => {
                        validate::required("summary", validate::free_text("summary", summary)?)?
                    }
                    None => original.summary.clone(),
                },
                feedback: text(&args.feedback, &original.feedback, "feedback")?,
                next,
                due,
                zone: cx.zone.offset_from_utc_datetime(&at.naive_utc()).fix(),
            })
        }
    };
    let action = Action::Correct {
        of: original.key.clone(),
        followup,
    };
    let number = args.number;
    apply(cx, store, &args.id.id, action, out, |_, _| {
        match args.void {
            true => format!("voided follow-up #{number} of"),
            false => format!("corrected follow-up #{number} of"),
        }
    })
    .map(drop)
}

/// `fieldsync hold`.
pub fn hold(cx: &Context, args: &HoldArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let until = args
        .until
        .as_deref()
        .map(|day| parse_with("until", when::parse_date(day, cx.now, &cx.zone)))
        .transpose()?;
    let action = Action::Hold {
        until,
        reason: optional_text("reason", args.reason.as_deref())?,
        at: cx.event_time(args.at.at.as_deref())?,
    };
    apply(cx, store, &args.id.id, action, out, |lead, _| {
        match lead.hold_until {
            Some(until) => format!("on hold until {until}:"),
            None => "released from hold:".to_owned(),
        }
    })
    .map(drop)
}

/// `fieldsync lead delete`.
pub fn delete(cx: &Context, args: &IdArg, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    apply(cx, store, &args.id, Action::Delete, out, |_, _| {
        "deleted".to_owned()
    })
    .map(drop)
}
