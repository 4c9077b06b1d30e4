//! `fieldsync pipeline show|edit|load` and `fieldsync members`: the team document as a manager
//! reads and changes it.
//!
//! Every change is made the same way: the pipeline in force is copied, changed in memory,
//! checked, and handed to the store, which records only the registers that differ (so two
//! managers' offline edits merge register by register). Stage keys never change: a rename is a
//! new label, and a removed stage stays in every lead's history; leads still in it are listed,
//! never moved.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow};
use fieldsync_model::Pipeline;
use fieldsync_model::money::Currency;
use fieldsync_model::pipeline::{Label, LossReason, SourceChannel, Stage};
use fieldsync_model::pipeline_edit::{
    PipelineEdit, Place, StageSettings, criteria, parse_ideal_open, parse_ideal_rate, percent,
};
use fieldsync_store::Store;
use serde::{Deserialize, Serialize};

use crate::args::{
    JsonArg, PipelineEditArgs, PipelineFormat, PipelineLoadArgs, PipelineShowArgs, PlaceArgs,
    StageNumbers,
};
use crate::context::Context;
use crate::output::{Table, print_json};

/// The pipeline file `pipeline load` reads and `pipeline show --format toml` writes. Lists left
/// out of a file are kept as they are.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    /// The stage a win leads into; a file without it keeps the team's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    win_stage: Option<String>,
    /// The team's currency; a file without it keeps the team's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    currency: Option<Currency>,
    stages: Vec<Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loss_reasons: Option<Vec<LossReason>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<SourceChannel>>,
}

/// What the stage settings given (`--probability`, `--entry`, ...) ask to set.
fn settings(numbers: &StageNumbers) -> Result<StageSettings> {
    Ok(StageSettings {
        probability: numbers.probability,
        stale_days: numbers.stale_days,
        ideal_rate: numbers
            .ideal_rate
            .as_deref()
            .map(parse_ideal_rate)
            .transpose()?,
        sales: numbers.sales.map(|sales| sales.setting()),
        entry: numbers.entry.as_deref().map(criteria),
        exit: numbers.exit.as_deref().map(criteria),
        ideal_open: numbers
            .ideal_open
            .as_deref()
            .map(parse_ideal_open)
            .transpose()?,
    })
}

fn place(at: &PlaceArgs) -> Place {
    match (&at.after, &at.before) {
        (Some(after), _) => Place::After(after.clone()),
        (None, Some(before)) => Place::Before(before.clone()),
        (None, None) => Place::End,
    }
}

fn label(en: &str, zh: &str) -> Label {
    Label {
        en: en.to_owned(),
        zh: zh.to_owned(),
    }
}

/// The edit as the model names it.
fn edit_of(edit: &PipelineEditArgs) -> Result<PipelineEdit> {
    Ok(match edit {
        PipelineEditArgs::Add {
            key,
            en,
            zh,
            place: at,
            numbers,
        } => PipelineEdit::AddStage {
            key: key.clone(),
            label: label(en, zh),
            place: place(at),
            settings: settings(numbers)?,
        },
        PipelineEditArgs::Rename { stage, en, zh } => PipelineEdit::Rename {
            stage: stage.clone(),
            en: en.clone(),
            zh: zh.clone(),
        },
        PipelineEditArgs::Move { stage, place: at } => PipelineEdit::MoveStage {
            stage: stage.clone(),
            place: place(at),
        },
        PipelineEditArgs::Set { stage, numbers } => PipelineEdit::Set {
            stage: stage.clone(),
            settings: settings(numbers)?,
        },
        PipelineEditArgs::Remove { stage } => PipelineEdit::RemoveStage {
            stage: stage.clone(),
        },
        PipelineEditArgs::AddReason {
            key,
            en,
            zh,
            needs_note,
        } => PipelineEdit::AddReason {
            key: key.clone(),
            label: label(en, zh),
            needs_note: *needs_note,
        },
        PipelineEditArgs::RemoveReason { reason } => PipelineEdit::RemoveReason {
            reason: reason.clone(),
        },
        PipelineEditArgs::AddSource { key, en, zh } => PipelineEdit::AddSource {
            key: key.clone(),
            label: label(en, zh),
        },
        PipelineEditArgs::SourceAlias {
            source,
            alias,
            remove,
        } => PipelineEdit::SourceAlias {
            source: source.clone(),
            alias: alias.clone(),
            remove: *remove,
        },
        PipelineEditArgs::RemoveSource { source } => PipelineEdit::RemoveSource {
            source: source.clone(),
        },
        PipelineEditArgs::Currency { code, unit, label } => PipelineEdit::Currency {
            currency: Some(code.trim())
                .filter(|code| !code.eq_ignore_ascii_case("none"))
                .map(|code| Currency {
                    code: code.to_owned(),
                    unit: *unit,
                    label: label.trim().to_owned(),
                }),
        },
        PipelineEditArgs::WinStage { stage } => PipelineEdit::WinStage {
            stage: Some(stage.clone()).filter(|stage| !stage.trim().eq_ignore_ascii_case("none")),
        },
    })
}

/// Writes `wanted` (a manager's change), says what happened and lists leads left in removed
/// stages.
fn commit(
    cx: &Context,
    store: &mut Store,
    wanted: &Pipeline,
    said: &str,
    out: &mut impl Write,
) -> Result<()> {
    if store.set_pipeline(wanted, &cx.stamp(store))? {
        writeln!(out, "{said}; the team gets it with the next sync")?;
    } else {
        writeln!(out, "the pipeline already is so; nothing written")?;
    }
    report_stranded(store, out)
}

/// Counts, per removed stage, the leads still in it; they are reported, never moved.
fn stranded(store: &Store) -> Result<BTreeMap<String, usize>> {
    let pipeline = store.pipeline();
    let mut counts = BTreeMap::new();
    for row in store.rows()? {
        if !row.deleted && pipeline.stage(&row.stage).is_none() {
            *counts.entry(row.stage.to_string()).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

fn report_stranded(store: &Store, out: &mut impl Write) -> Result<()> {
    for (stage, count) in stranded(store)? {
        let (leads, stay) = match count {
            1 => ("1 lead is".to_owned(), "it stays"),
            _ => (format!("{count} leads are"), "they stay"),
        };
        writeln!(
            out,
            "{leads} still in removed stage {}: {stay} there until someone moves it on (`fieldsync move ID STAGE`)",
            store.pipeline().stage_label(&stage),
        )?;
    }
    Ok(())
}

/// `fieldsync pipeline edit ...`.
pub fn edit(cx: &Context, edit: &PipelineEditArgs, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let (wanted, said) = store.pipeline().edited(&edit_of(edit)?)?;
    commit(cx, &mut store, &wanted, &said, out)
}

/// One line for a TOML error: the file, the line, and what is wrong.
fn toml_error(path: &Path, text: &str, err: &toml::de::Error) -> anyhow::Error {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = err.message().trim().replace('\n', "; ");
    match line {
        Some(line) => anyhow!("{} line {line}: {message}", path.display()),
        None => anyhow!("{}: {message}", path.display()),
    }
}

/// `fieldsync pipeline load FILE.toml`.
pub fn load(cx: &Context, args: &PipelineLoadArgs, out: &mut impl Write) -> Result<()> {
    let path = &args.file;
    let text = std::fs::read_to_string(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::InvalidData => {
            anyhow!("{} is not UTF-8 text: save it as UTF-8", path.display())
        }
        _ => anyhow!("cannot read {}: {err}", path.display()),
    })?;
    let file: PipelineFile = toml::from_str(&text).map_err(|err| toml_error(path, &text, &err))?;
    let mut store = cx.open_store()?;
    // Also refused on a dry run, which never reaches the store's own check.
    let members = store.members()?;
    store
        .roster(&members)
        .require_manager("change the pipeline")?;
    let current = store.pipeline().clone();
    let mut wanted = Pipeline {
        template: current.template.clone(),
        stages: file.stages,
        removed_stages: Vec::new(),
        loss_reasons: file
            .loss_reasons
            .unwrap_or_else(|| current.loss_reasons.clone()),
        sources: file.sources.unwrap_or_else(|| current.sources.clone()),
        win_stage: None,
        currency: file.currency.or_else(|| current.currency.clone()),
    };
    // A file without a win stage keeps the team's, while it still has that stage.
    wanted.win_stage = file.win_stage.or_else(|| {
        current
            .win_stage
            .clone()
            .filter(|win| wanted.stage(win).is_some())
    });
    wanted
        .check()
        .map_err(|err| anyhow!("{}: {err}", path.display()))?;
    let changes = differences(&current, &wanted);
    if args.dry_run {
        for change in &changes {
            writeln!(out, "{change}")?;
        }
        writeln!(
            out,
            "dry run: {} change{}; nothing written",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        )?;
        return Ok(());
    }
    let said = format!("loaded {}: {} changes", path.display(), changes.len());
    commit(cx, &mut store, &wanted, &said, out)
}

/// What loading `wanted` over `current` changes, one line per stage or reason.
fn differences(current: &Pipeline, wanted: &Pipeline) -> Vec<String> {
    let mut lines = Vec::new();
    for (index, stage) in wanted.stages.iter().enumerate() {
        match current.stage(&stage.key) {
            None => lines.push(format!(
                "add stage {} at position {}",
                stage.label.both(),
                index + 1
            )),
            Some(old) if old != stage => lines.push(format!("change stage {}", stage.key)),
            Some(_) => {}
        }
    }
    for stage in &current.stages {
        if wanted.stage(&stage.key).is_none() {
            lines.push(format!("remove stage {}", stage.label.both()));
        }
    }
    let order = |p: &Pipeline| -> Vec<String> {
        p.stages
            .iter()
            .filter(|s| current.stage(&s.key).is_some() && wanted.stage(&s.key).is_some())
            .map(|s| s.key.clone())
            .collect()
    };
    if order(current) != order(wanted) {
        lines.push("reorder stages".to_owned());
    }
    if current.loss_reasons != wanted.loss_reasons {
        lines.push("change loss reasons".to_owned());
    }
    if current.sources != wanted.sources {
        lines.push("change sources".to_owned());
    }
    if current.currency != wanted.currency {
        lines.push(format!(
            "amounts in {}",
            wanted
                .amount_unit()
                .unwrap_or_else(|| "no stated currency".to_owned())
        ));
    }
    if current.win_stage != wanted.win_stage {
        lines.push(format!(
            "a win enters {}",
            wanted
                .win_stage
                .as_deref()
                .map_or_else(|| "no stage".to_owned(), |win| wanted.stage_label(win))
        ));
    }
    lines
}

/// The pipeline as JSON: stages in order, loss reasons, sources, and leads in removed stages.
#[derive(Serialize)]
struct PipelineJson<'a> {
    #[serde(flatten)]
    pipeline: &'a Pipeline,
    leads_in_removed_stages: BTreeMap<String, usize>,
}

/// `fieldsync pipeline show`.
pub fn show(cx: &Context, args: &PipelineShowArgs, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let pipeline = store.pipeline();
    match args.format {
        PipelineFormat::Json => print_json(
            out,
            &PipelineJson {
                pipeline,
                leads_in_removed_stages: stranded(&store)?,
            },
        ),
        PipelineFormat::Toml => {
            let file = PipelineFile {
                win_stage: pipeline.win_stage.clone(),
                currency: pipeline.currency.clone(),
                stages: pipeline.stages.clone(),
                loss_reasons: Some(pipeline.loss_reasons.clone()),
                sources: Some(pipeline.sources.clone()),
            };
            out.write_all(toml::to_string(&file)?.as_bytes())?;
            Ok(())
        }
        PipelineFormat::Table => {
            let mut table = Table::new(&[
                "#",
                "key",
                "stage",
                "probability",
                "stale after",
                "ideal rate",
                "ideal open per rep",
                "kind",
            ]);
            let win = pipeline.win_stage_index();
            for (index, stage) in pipeline.stages.iter().enumerate() {
                let kind = match (win == Some(index), pipeline.is_sales(index)) {
                    (true, _) => "win stage",
                    (false, true) => "sales",
                    (false, false) => "",
                };
                table.add_row(vec![
                    (index + 1).to_string(),
                    stage.key.clone(),
                    stage.label.both(),
                    format!("{}%", stage.probability),
                    format!("{} days", stage.stale_days),
                    percent(stage.ideal_rate),
                    stage
                        .ideal_open
                        .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    kind.to_owned(),
                ]);
            }
            table.print(out)?;
            for stage in &pipeline.stages {
                for (when, criteria) in [("enter", &stage.entry), ("leave", &stage.exit)] {
                    if let Some(criteria) = criteria {
                        writeln!(out, "{} ({when}): {criteria}", stage.label.both())?;
                    }
                }
            }
            writeln!(out)?;
            let mut reasons = Table::new(&["loss reason", "label", "needs a note"]);
            for reason in &pipeline.loss_reasons {
                reasons.add_row(vec![
                    reason.key.clone(),
                    reason.label.both(),
                    if reason.needs_note { "yes" } else { "" }.to_owned(),
                ]);
            }
            reasons.print(out)?;
            let team = store.team()?;
            let edited = team.as_ref().is_some_and(|team| team.has_pipeline());
            if !edited {
                writeln!(
                    out,
                    "\nthe '{}' template, not edited by the team",
                    pipeline.template
                )?;
            }
            report_stranded(&store, out)
        }
    }
}

/// `fieldsync members`.
pub fn members(cx: &Context, args: &JsonArg, out: &mut impl Write) -> Result<()> {
    let store = cx.open_store()?;
    let members = store.members()?;
    if args.json {
        return print_json(out, &members);
    }
    if members.is_empty() {
        writeln!(
            out,
            "no members known yet: the relay lists them; run `fieldsync sync` once joined"
        )?;
        return Ok(());
    }
    let mut table = Table::new(&["member", "role", "status"]);
    for member in &members {
        table.add_row(vec![
            member.name.clone(),
            member.role.to_string(),
            if member.removed { "removed" } else { "active" }.to_owned(),
        ]);
    }
    table.print(out)?;
    Ok(())
}
