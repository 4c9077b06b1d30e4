//! `fieldsync init`: make this device's store.

use std::io::Write;

use anyhow::Result;
use fieldsync_model::{ValidationError, templates, validate};
use fieldsync_store::Store;

use crate::args::InitArgs;
use crate::context::Context;

/// Creates the store in the home folder.
pub fn run(cx: &Context, args: &InitArgs, out: &mut impl Write) -> Result<()> {
    let me = validate::required("me", validate::line("me", &args.me)?)?;
    let pipeline = templates::by_name(&args.pipeline)
        .map_err(|problem| ValidationError::new("pipeline", problem))?;
    let path = Context::store_path_in(&cx.home);
    let stages = pipeline.stages.len();
    Store::init(&path, &me, pipeline, cx.store_options())?;
    writeln!(
        out,
        "created a store for {me} at {} (pipeline {}, {stages} stages)",
        path.display(),
        args.pipeline.to_lowercase()
    )?;
    Ok(())
}
