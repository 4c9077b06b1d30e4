//! `fieldsync alerts`: leads that need attention now, and the team's anomalies.

use std::io::Write;

use anyhow::Result;
use fieldsync_funnel::alerts::alerts;

use super::owners::rows;
use crate::args::AlertsArgs;
use crate::context::Context;
use crate::output::{Table, print_json};

/// Prints the alerts, the most overdue first.
pub fn run(cx: &Context, args: &AlertsArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let (rows, covers) = rows(&store, &args.of)?;
    let found = alerts(
        &rows,
        store.pipeline(),
        cx.now,
        *cx.now.with_timezone(&cx.zone).fixed_offset().offset(),
    );
    if args.json.json {
        return print_json(out, &found);
    }
    if let Some(whose) = covers {
        writeln!(out, "{whose}")?;
    }
    if found.leads.is_empty() && found.anomalies.is_empty() {
        writeln!(out, "no alerts")?;
        return Ok(());
    }
    let pipeline = store.pipeline();
    let mut table = Table::new(&["id", "company", "owner", "stage", "alert"]);
    for alert in &found.leads {
        table.add_row(vec![
            alert.id.short().to_owned(),
            alert.company.to_string(),
            alert.owner.as_deref().unwrap_or("(pool)").to_owned(),
            pipeline.stage_label(&alert.stage),
            alert.describe(),
        ]);
    }
    table.print(out)?;
    for anomaly in &found.anomalies {
        let ids: Vec<&str> = anomaly.leads.iter().take(10).map(|id| id.short()).collect();
        let more = anomaly.leads.len().saturating_sub(ids.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        writeln!(
            out,
            "\nanomaly: {}: {}\n  leads: {}{more}",
            anomaly.kind.title(),
            anomaly.detail,
            ids.join(" ")
        )?;
    }
    Ok(())
}
