//! One module per command, and the dispatch from parsed arguments to them.

mod alerts;
mod app;
mod change;
mod conflicts;
mod demo;
mod demo_team;
mod destination;
mod export;
mod funnel;
mod handover;
mod history;
mod import;
mod init;
mod join;
mod lead_add;
mod lead_edit;
mod lead_list;
mod lead_show;
mod maintenance;
mod owners;
mod pipeline;
mod report;
mod scope;
mod sync;
mod today;

use std::io::Write;

use anyhow::Result;

use crate::args::{Cli, Command, LeadCommand, PipelineCommand};
use crate::context::Context;

/// Runs the command; returns whether it succeeded cleanly (false: a clean "no").
pub fn run(cli: Cli, out: &mut impl Write) -> Result<bool> {
    let cx = Context::new(cli.home)?;
    match cli.command {
        Command::Init(args) => init::run(&cx, &args, out),
        Command::Lead(LeadCommand::Add(args)) => lead_add::run(&cx, &args, out),
        Command::Lead(LeadCommand::Edit(args)) => lead_edit::run(&cx, &args, out),
        Command::Lead(LeadCommand::Show(args)) => lead_show::run(&cx, &args, out),
        Command::Lead(LeadCommand::List(args)) => lead_list::run(&cx, &args, out),
        Command::Lead(LeadCommand::Delete(args)) => change::delete(&cx, &args, out),
        Command::Log(args) => change::log(&cx, &args, out),
        Command::Move(args) => change::move_to(&cx, &args, out),
        Command::Won(args) => change::won(&cx, &args, out),
        Command::Lost(args) => change::lost(&cx, &args, out),
        Command::Abandon(args) => change::abandon(&cx, &args, out),
        Command::Reopen(args) => change::reopen(&cx, &args, out),
        Command::Hold(args) => change::hold(&cx, &args, out),
        Command::Correct(args) => change::correct(&cx, &args, out),
        Command::Today(args) => today::run(&cx, &args, out),
        Command::Demo(args) => demo::run(&cx, &args, out),
        Command::Status(args) => maintenance::status(&cx, &args, out),
        Command::Compact => maintenance::compact(&cx, out),
        Command::Repair => maintenance::repair(&cx, out),
        Command::Discard(args) => sync::discard(&cx, &args, out),
        Command::Join(args) => join::run(&cx, &args, out),
        Command::Sync(args) => sync::run(&cx, &args, out),
        Command::App(args) => app::run(&cx, &args, out),
        Command::Conflicts(args) => conflicts::list(&cx, &args, out),
        Command::Resolve(args) => conflicts::resolve(&cx, &args, out),
        Command::Funnel(args) => funnel::run(&cx, &args, out),
        Command::Alerts(args) => alerts::run(&cx, &args, out),
        Command::Report(args) => report::run(&cx, &args, out),
        Command::History(args) => history::run(&cx, &args, out),
        Command::Handover(args) => handover::run(&cx, &args, out),
        // A dry run that would stop is a clean "no".
        Command::Import(args) => return import::run(&cx, &args, out),
        Command::Export(args) => export::run(&cx, &args, out),
        Command::Pipeline(PipelineCommand::Show(args)) => pipeline::show(&cx, &args, out),
        Command::Pipeline(PipelineCommand::Edit(edit)) => pipeline::edit(&cx, &edit, out),
        Command::Pipeline(PipelineCommand::Load(args)) => pipeline::load(&cx, &args, out),
        Command::Members(args) => pipeline::members(&cx, &args, out),
    }
    .map(|()| true)
}
