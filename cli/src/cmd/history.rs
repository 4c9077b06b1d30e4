//! `fieldsync history`: every change to a lead, from its document's change metadata: when it
//! was recorded and when what it records happened (local time), who made it, the action, and
//! each value from and to.

use std::io::Write;

use anyhow::Result;

use crate::args::HistoryArgs;
use crate::context::Context;
use crate::output::{Table, local_time, print_json};

/// Prints the lead's changes, oldest first (a change after the ones it built on).
pub fn run(cx: &Context, args: &HistoryArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let id = cx.resolve(&store, &args.id.id)?;
    let history = store.load(&id)?.history();
    if args.json.json {
        return print_json(out, &history);
    }
    let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".to_owned());
    let mut table = Table::new(&["recorded", "happened", "by", "action", "change"]);
    for revision in &history {
        let changes = if revision.changes.is_empty() {
            vec!["(no visible change)".to_owned()]
        } else {
            revision
                .changes
                .iter()
                .map(|change| match (&change.old, &change.new) {
                    (None, Some(new))
                        if revision.action == "create" || change.field == "follow-up" =>
                    {
                        format!("{}: {new}", change.field)
                    }
                    _ => format!(
                        "{}: {} -> {}",
                        change.field,
                        show(&change.old),
                        show(&change.new)
                    ),
                })
                .collect()
        };
        for (index, change) in changes.into_iter().enumerate() {
            let first = index == 0;
            let cell = |text: String| if first { text } else { String::new() };
            table.add_row(vec![
                cell(local_time(revision.recorded_at)),
                cell(revision.happened_at.map(local_time).unwrap_or_default()),
                cell(revision.by.clone()),
                cell(revision.action.clone()),
                change,
            ]);
        }
    }
    table.print(out)?;
    Ok(())
}
