//! `fieldsync lead add`: create a lead and print its id alone, for scripts.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::{Field, LeadHistory, LeadId, NewLead, Priority, validate};

use crate::args::AddArgs;
use crate::context::Context;

/// Creates the lead.
pub fn run(cx: &Context, args: &AddArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let parse = cx.parse_context(store.pipeline());
    let mut fields = Vec::new();
    for (field, text) in &args.fields.given {
        if let Some(value) = field.parse(text, &parse)? {
            fields.push((*field, value));
        }
    }
    // Missing required fields are refused by `LeadDoc::create`, naming the flag to give.
    if !fields.iter().any(|(f, _)| *f == Field::Priority) {
        fields.push((Field::Priority, Priority::Medium.key().into()));
    }
    let owner = match &args.owner {
        Some(owner) => validate::required("owner", validate::line("owner", owner)?)?,
        None => store.me().to_owned(),
    };
    let created_at = cx.event_time(args.at.at.as_deref())?;
    let history = LeadHistory {
        id: LeadId::random(),
        new: NewLead {
            fields,
            owner: Some(owner),
            created_at,
            number: None,
        },
        creator: cx.stamp(&store),
        events: Vec::new(),
    };
    let id = store.create_lead(history)?;
    writeln!(out, "{id}")?;
    Ok(())
}
