//! `fieldsync lead add`: create a lead and print its id alone, for scripts.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::form::NewLeadText;

use crate::args::AddArgs;
use crate::context::Context;

/// Creates the lead.
pub fn run(cx: &Context, args: &AddArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let typed = NewLeadText {
        fields: args
            .fields
            .given
            .iter()
            .map(|(field, text)| (*field, text.as_str()))
            .collect(),
        owner: args.owner.as_deref(),
        at: args.at.at.as_deref(),
    };
    let history = typed.history(&cx.parse_context(store.pipeline()), &cx.stamp(&store))?;
    let id = store.create_lead(history)?;
    writeln!(out, "{id}")?;
    Ok(())
}
