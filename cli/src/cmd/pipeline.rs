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

use anyhow::{Result, anyhow, bail};
use fieldsync_model::pipeline::{Label, LossReason, SourceChannel, Stage};
use fieldsync_model::{Pipeline, ValidationError, templates};
use fieldsync_store::Store;
use serde::{Deserialize, Serialize};

use crate::args::{
    JsonArg, PipelineEdit, PipelineFormat, PipelineLoadArgs, PipelineShowArgs, PlaceArgs,
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
    stages: Vec<Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loss_reasons: Option<Vec<LossReason>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<SourceChannel>>,
}

/// `60%`, `0.6` or `none`.
fn ideal_rate(text: &str) -> Result<Option<f64>, ValidationError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let problem = || {
        ValidationError::new(
            "ideal-rate",
            format!("'{text}' is not a rate: write 60% or 0.6 (or none)"),
        )
    };
    let rate = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().map_err(|_| problem())? / 100.0,
        None => text.parse::<f64>().map_err(|_| problem())?,
    };
    if !(0.0..=1.0).contains(&rate) {
        return Err(problem());
    }
    Ok(Some(rate))
}

fn set_numbers(stage: &mut Stage, numbers: &StageNumbers) -> Result<()> {
    if let Some(probability) = numbers.probability {
        stage.probability = probability;
    }
    if let Some(days) = numbers.stale_days {
        stage.stale_days = days;
    }
    if let Some(rate) = &numbers.ideal_rate {
        stage.ideal_rate = ideal_rate(rate)?;
    }
    if let Some(sales) = numbers.sales {
        stage.sales = sales.setting();
    }
    Ok(())
}

/// The index a stage goes to once taken out of `pipeline`: after or before another, or last.
fn place(pipeline: &Pipeline, place: &PlaceArgs) -> Result<usize> {
    Ok(match (&place.after, &place.before) {
        (Some(after), _) => {
            let key = &pipeline.resolve_stage(after)?.key;
            pipeline
                .stage_index(key)
                .map_or(pipeline.stages.len(), |i| i + 1)
        }
        (None, Some(before)) => {
            let key = &pipeline.resolve_stage(before)?.key;
            pipeline.stage_index(key).unwrap_or(0)
        }
        (None, None) => pipeline.stages.len(),
    })
}

/// The pipeline after one edit, and a line saying what it did.
fn edited(current: &Pipeline, edit: &PipelineEdit) -> Result<(Pipeline, String)> {
    let mut pipeline = current.clone();
    let said = match edit {
        PipelineEdit::Add {
            key,
            en,
            zh,
            place: at,
            numbers,
        } => {
            ensure_new("stage", key, current.resolve_stage(key).map(|s| &s.label))?;
            let mut stage = Stage {
                key: key.trim().to_owned(),
                label: label(en, zh),
                probability: 0,
                stale_days: templates::DEFAULT_STALE_DAYS,
                ideal_rate: None,
                sales: None,
            };
            set_numbers(&mut stage, numbers)?;
            let index = place(&pipeline, at)?;
            let said = format!("added stage {}", stage.label.both());
            pipeline.stages.insert(index, stage);
            said
        }
        PipelineEdit::Rename { stage, en, zh } => {
            if en.is_none() && zh.is_none() {
                bail!("give the new label with --en LABEL and/or --zh LABEL");
            }
            let index = stage_index(&pipeline, stage)?;
            let stage = &mut pipeline.stages[index];
            let before = stage.label.both();
            if let Some(en) = en {
                stage.label.en = en.trim().to_owned();
            }
            if let Some(zh) = zh {
                stage.label.zh = zh.trim().to_owned();
            }
            format!(
                "renamed {before} to {} (key {})",
                stage.label.both(),
                stage.key
            )
        }
        PipelineEdit::Move { stage, place: at } => {
            if at.after.is_none() && at.before.is_none() {
                bail!("say where it goes with --after STAGE or --before STAGE");
            }
            let index = stage_index(&pipeline, stage)?;
            let moving = pipeline.stages.remove(index);
            let to = place(&pipeline, at).map_err(|err| {
                anyhow!("{err} (the stage being moved cannot be its own reference point)")
            })?;
            let said = format!("moved {} to position {}", moving.label.both(), to + 1);
            pipeline.stages.insert(to, moving);
            said
        }
        PipelineEdit::Set { stage, numbers } => {
            if numbers.probability.is_none()
                && numbers.stale_days.is_none()
                && numbers.ideal_rate.is_none()
                && numbers.sales.is_none()
            {
                bail!(
                    "say what to set: --probability PERCENT, --stale-days DAYS, --ideal-rate RATE or --sales yes|no|auto"
                );
            }
            let index = stage_index(&pipeline, stage)?;
            set_numbers(&mut pipeline.stages[index], numbers)?;
            let sales = pipeline.is_sales(index);
            let stage = &pipeline.stages[index];
            format!(
                "{}: probability {}%, stale after {} days, ideal rate {}, {}",
                stage.label.both(),
                stage.probability,
                stage.stale_days,
                percent(stage.ideal_rate),
                if sales {
                    "a sales stage"
                } else {
                    "not a sales stage"
                }
            )
        }
        PipelineEdit::Remove { stage } => {
            let index = stage_index(&pipeline, stage)?;
            if pipeline.stages.len() == 1 {
                bail!("stage '{stage}' is the last one: a pipeline needs at least one stage");
            }
            if pipeline.win_stage_index() == Some(index) {
                bail!(
                    "stage '{stage}' is where a win leads: name another first with `fieldsync pipeline edit win-stage STAGE` (or none)"
                );
            }
            let removed = pipeline.stages.remove(index);
            format!("removed stage {}", removed.label.both())
        }
        PipelineEdit::AddReason {
            key,
            en,
            zh,
            needs_note,
        } => {
            ensure_new(
                "loss reason",
                key,
                current.resolve_loss_reason(key).map(|r| &r.label),
            )?;
            let reason = LossReason {
                key: key.trim().to_owned(),
                label: label(en, zh),
                needs_note: *needs_note,
            };
            let said = format!("added loss reason {}", reason.label.both());
            pipeline.loss_reasons.push(reason);
            said
        }
        PipelineEdit::RemoveReason { reason } => {
            let key = current.resolve_loss_reason(reason)?.key.clone();
            pipeline.loss_reasons.retain(|r| r.key != key);
            format!("removed loss reason {}", current.loss_reason_label(&key))
        }
        PipelineEdit::AddSource { key, en, zh } => {
            ensure_new("source", key, current.resolve_source(key).map(|c| &c.label))?;
            let source = SourceChannel {
                key: key.trim().to_owned(),
                label: label(en, zh),
            };
            let said = format!("added source {}", source.label.both());
            pipeline.sources.push(source);
            said
        }
        PipelineEdit::RemoveSource { source } => {
            let key = current.resolve_source(source)?.key.clone();
            pipeline.sources.retain(|c| c.key != key);
            format!("removed source {}", current.source_label(&key))
        }
        PipelineEdit::WinStage { stage } => {
            if stage.trim().eq_ignore_ascii_case("none") {
                pipeline.win_stage = None;
                "no win stage: a win leaves a lead in its stage".to_owned()
            } else {
                let win = current.resolve_stage(stage)?;
                pipeline.win_stage = Some(win.key.clone());
                format!("a win now enters {}", win.label.both())
            }
        }
    };
    Ok((pipeline, said))
}

/// Refuses a new `kind` whose key already names one, by its key or one of its labels (`found`
/// is what resolving the key gave).
fn ensure_new<E>(kind: &str, key: &str, found: Result<&Label, E>) -> Result<()> {
    match found {
        Ok(existing) => bail!(
            "{kind} '{key}' already exists ({}): pick another key",
            existing.both()
        ),
        Err(_) => Ok(()),
    }
}

/// A label as typed, trimmed.
fn label(en: &str, zh: &str) -> Label {
    Label {
        en: en.trim().to_owned(),
        zh: zh.trim().to_owned(),
    }
}

fn stage_index(pipeline: &Pipeline, text: &str) -> Result<usize> {
    let key = &pipeline.resolve_stage(text)?.key;
    Ok(pipeline.stage_index(key).unwrap_or_default())
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
pub fn edit(cx: &Context, edit: &PipelineEdit, out: &mut impl Write) -> Result<()> {
    let mut store = cx.open_store()?;
    let (wanted, said) = edited(store.pipeline(), edit)?;
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

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.0}%", rate * 100.0))
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
                    kind.to_owned(),
                ]);
            }
            table.print(out)?;
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
