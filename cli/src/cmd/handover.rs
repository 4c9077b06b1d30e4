//! `fieldsync handover`: a departing rep's customers to another rep in one step. The store
//! plans it and checks who may ([`fieldsync_store::handover`]); this prints the plan
//! (`--dry-run`) or carries it out.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::plural::counted;

use crate::args::HandoverArgs;
use crate::context::Context;
use crate::output::Table;

/// Reassigns the leads, or lists them with `--dry-run`.
pub fn run(cx: &Context, args: &HandoverArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let stage = args
        .stage
        .as_deref()
        .map(|text| store.pipeline().resolve_stage(text).map(|s| s.key.clone()))
        .transpose()?;
    let plan = store.plan_handover(&args.from, &args.to, stage.as_deref())?;
    let (from, to) = (&plan.from, &plan.to);
    if plan.moves.is_empty() {
        writeln!(
            out,
            "{from} has no open or abandoned leads to hand over{}",
            match &stage {
                Some(stage) => format!(" in {}", store.pipeline().stage_label(stage)),
                None => String::new(),
            }
        )?;
        return Ok(());
    }
    let (handed, pooled) = plan.counts();
    if args.dry_run {
        let mut table = Table::new(&["id", "company", "stage", "owner now", "would go to"]);
        for (row, owner) in &plan.moves {
            table.add_row(vec![
                row.id.short().to_owned(),
                row.company.to_string(),
                store.pipeline().stage_label(&row.stage),
                from.to_owned(),
                owner.clone().unwrap_or_else(|| "(pool)".to_owned()),
            ]);
        }
        table.print(out)?;
        writeln!(
            out,
            "dry run: {} would go to {to}, {pooled} abandoned to the pool; nothing written",
            counted(handed as u64, "lead")
        )?;
        return Ok(());
    }
    let stamp = cx.stamp(&store);
    store.hand_over(&plan, &stamp)?;
    writeln!(
        out,
        "handed over {} from {from} to {to}; {pooled} abandoned went to the pool",
        counted(handed as u64, "lead")
    )?;
    Ok(())
}
