//! `fieldsync today`: a rep's day. The leads that need them now (the alerts of their own
//! leads, or everyone's with `--all`), most urgent first, each with the command that acts on
//! it.

use std::io::Write;

use anyhow::Result;
use fieldsync_funnel::alerts::{LeadAlert, LeadAlertKind, alerts};
use fieldsync_model::Pipeline;
use fieldsync_model::row::Owners;
use serde::Serialize;

use crate::args::TodayArgs;
use crate::context::Context;
use crate::output::{Table, print_json};

/// One thing to do, as `--json` prints it.
#[derive(Serialize)]
struct Task<'a> {
    #[serde(flatten)]
    alert: &'a LeadAlert,
    /// What is wrong, in words.
    what: String,
    /// The command that acts on it.
    command: String,
}

/// The command that acts on `alert`: a stale lead moves on (or is won from the last sales
/// stage); a silent one, a step due or a hold ending gets a follow-up.
fn command(alert: &LeadAlert, pipeline: &Pipeline) -> String {
    let id = alert.id.short();
    let log = format!("fieldsync log {id} --channel phone --summary \"...\"");
    if alert.kind != LeadAlertKind::Stale {
        return log;
    }
    let next = pipeline
        .stage_index(&alert.stage)
        .and_then(|index| pipeline.stages.get(index + 1).map(|next| (index + 1, next)));
    match next {
        Some((index, _)) if pipeline.win_stage_index() == Some(index) => {
            format!("fieldsync won {id} --amount N")
        }
        Some((_, next)) => format!("fieldsync move {id} {}", next.key),
        None => log,
    }
}

/// Prints my day.
pub fn run(cx: &Context, args: &TodayArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let owners = match args.all {
        true => Owners::Everyone,
        false => Owners::Of(Some(store.me().to_owned())),
    };
    let mut rows = store.rows()?;
    rows.retain(|row| owners.includes(row));
    let today = cx.now.with_timezone(&cx.zone).date_naive();
    let pipeline = store.pipeline();
    let found = alerts(
        &rows,
        pipeline,
        cx.now,
        *cx.now.with_timezone(&cx.zone).fixed_offset().offset(),
    );
    let tasks: Vec<Task> = found
        .leads
        .iter()
        .map(|alert| Task {
            alert,
            what: alert.describe(),
            command: command(alert, pipeline),
        })
        .collect();
    if args.json.json {
        return print_json(out, &tasks);
    }
    let whose = owners
        .describe()
        .unwrap_or_else(|| "the team's leads".to_owned());
    if tasks.is_empty() {
        writeln!(out, "{today}, {whose}: nothing is due")?;
        return Ok(());
    }
    writeln!(
        out,
        "{today}, {whose}: {}",
        match tasks.len() {
            1 => "1 thing to do".to_owned(),
            count => format!("{count} things to do"),
        }
    )?;
    let mut table = Table::new(&["lead", "company", "owner", "stage", "what", "do"]);
    for task in &tasks {
        table.add_row(vec![
            task.alert.id.short().to_owned(),
            task.alert.company.to_string(),
            task.alert.owner.as_deref().unwrap_or("(pool)").to_owned(),
            pipeline.stage_label(&task.alert.stage),
            task.what.clone(),
            task.command.clone(),
        ]);
    }
    table.print(out)?;
    Ok(())
}
