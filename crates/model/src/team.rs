//! The team document: the pipeline every device works to and the members with their roles,
//! one Automerge document synced like the leads (its id is [`TEAM_DOC_ID`]).
//!
//! Layout, chosen so that two managers editing offline merge predictably:
//!
//! - `pipeline.stages`, `pipeline.loss_reasons`, `pipeline.sources`: maps from key to a map of
//!   scalar registers (labels, probability, stale limit, ideal rate, `position`, `removed`).
//!   Each edit writes only the registers it changes, so edits to different properties or
//!   different stages both survive a merge; two edits of the same register resolve the way
//!   Automerge resolves every conflict, identically on every device.
//! - Order is a fractional `position` per entry, not a list: moving a stage rewrites its own
//!   position only, so two managers moving different stages both see their move kept. Ties
//!   (two stages moved into the same gap) order by key.
//! - A removed entry keeps its registers with `removed = true`: a lead's history still names
//!   its stage, and a concurrent edit to a removed stage cannot bring back half a stage.
//! - `members`: name to role and whether the member was removed. The relay writes it from its
//!   members file, which is the authority on who belongs to the team.
//!
//! A device whose store predates the team document, or whose team has never edited its
//! pipeline, has no `pipeline` map; the template it started from is then the pipeline. The
//! first edit starts from a change built from that pipeline with an actor and time derived
//! from its content alone, so two managers who start from the same template share that
//! change instead of creating two rival copies of it.

use std::collections::HashMap;

use automerge::hydrate;
use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{ActorId, Automerge, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::action::Stamp;
use crate::money::Currency;
use crate::pipeline::{Label, LossReason, Pipeline, SourceChannel, Stage};
use crate::schema::{MapRead, object_at};
use crate::validate::ValidationError;

/// The document id of the team document, beside the leads' ids.
pub const TEAM_DOC_ID: &str = "team";

mod key {
    pub const PIPELINE: &str = "pipeline";
    pub const TEMPLATE: &str = "template";
    pub const STAGES: &str = "stages";
    pub const LOSS_REASONS: &str = "loss_reasons";
    pub const SOURCES: &str = "sources";
    pub const MEMBERS: &str = "members";
    pub const POSITION: &str = "position";
    pub const REMOVED: &str = "removed";
    pub const ROLE: &str = "role";
    pub const EN: &str = "en";
    pub const ZH: &str = "zh";
    pub const PROBABILITY: &str = "probability";
    pub const STALE_DAYS: &str = "stale_days";
    pub const IDEAL_RATE: &str = "ideal_rate";
    pub const NEEDS_NOTE: &str = "needs_note";
    pub const SALES: &str = "sales";
    pub const ENTRY: &str = "entry";
    pub const EXIT: &str = "exit";
    pub const IDEAL_OPEN: &str = "ideal_open";
    pub const ALIASES: &str = "aliases";
    pub const WIN_STAGE: &str = "win_stage";
    pub const CURRENCY: &str = "currency";
    pub const CODE: &str = "code";
    pub const UNIT: &str = "unit";
    pub const LABEL: &str = "label";
}

/// Why the team document cannot be changed as asked.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TeamError {
    /// The pipeline asked for is not a valid pipeline.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The document bytes are not a valid Automerge document.
    #[error("the team document is unreadable: {0}")]
    Document(#[from] AutomergeError),
}

/// A member's role in the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works their own leads.
    Rep,
    /// Runs the team: hands over leads, edits the pipeline.
    Manager,
}

impl Role {
    /// The role's name, as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "rep" => Ok(Role::Rep),
            "manager" => Ok(Role::Manager),
            _ => Err(format!("unknown role '{text}': use rep or manager")),
        }
    }
}

/// One member of the team as the team document lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The member's name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Whether they have been removed from the team.
    pub removed: bool,
}

/// The scalar registers of one entry, as written.
type Props = Vec<(&'static str, ScalarValue)>;

/// An entry of one of the pipeline's keyed lists.
trait Entry: Sized {
    /// The map under `pipeline` that holds these entries.
    const LIST: &'static str;
    fn key(&self) -> &str;
    /// The registers every release writes, the shared starting change included.
    fn props(&self) -> Props;
    /// Registers added since the first release: written by edits only, never into the
    /// starting change (which must stay byte for byte what older releases build), and not
    /// at all while null and absent.
    fn later_props(&self) -> Props {
        Props::new()
    }
    fn read(key: &str, map: &hydrate::Map) -> Self;
}

fn label_props(label: &Label) -> Props {
    vec![
        (key::EN, ScalarValue::Str(label.en.as_str().into())),
        (key::ZH, ScalarValue::Str(label.zh.as_str().into())),
    ]
}

fn read_label(map: &hydrate::Map) -> Label {
    Label {
        en: map.string(key::EN).unwrap_or_default(),
        zh: map.string(key::ZH).unwrap_or_default(),
    }
}

fn float(map: &hydrate::Map, name: &str) -> Option<f64> {
    match map.scalar(name)? {
        ScalarValue::F64(value) => Some(*value),
        ScalarValue::Int(value) => Some(*value as f64),
        ScalarValue::Uint(value) => Some(*value as f64),
        _ => None,
    }
}

fn boolean(map: &hydrate::Map, name: &str) -> bool {
    matches!(map.scalar(name), Some(ScalarValue::Boolean(true)))
}

impl Entry for Stage {
    const LIST: &'static str = key::STAGES;

    fn key(&self) -> &str {
        &self.key
    }

    fn props(&self) -> Props {
        let mut props = label_props(&self.label);
        props.push((key::PROBABILITY, ScalarValue::Uint(self.probability.into())));
        props.push((key::STALE_DAYS, ScalarValue::Uint(self.stale_days.into())));
        props.push((
            key::IDEAL_RATE,
            self.ideal_rate.map_or(ScalarValue::Null, ScalarValue::F64),
        ));
        props
    }

    fn later_props(&self) -> Props {
        let text = |text: &Option<String>| {
            text.as_deref()
                .map_or(ScalarValue::Null, |text| ScalarValue::Str(text.into()))
        };
        vec![
            (
                key::SALES,
                self.sales.map_or(ScalarValue::Null, ScalarValue::Boolean),
            ),
            (key::ENTRY, text(&self.entry)),
            (key::EXIT, text(&self.exit)),
            (
                key::IDEAL_OPEN,
                self.ideal_open
                    .map_or(ScalarValue::Null, |n| ScalarValue::Uint(n.into())),
            ),
        ]
    }

    fn read(key: &str, map: &hydrate::Map) -> Stage {
        Stage {
            key: key.to_owned(),
            label: read_label(map),
            probability: map
                .int(key::PROBABILITY)
                .and_then(|p| u8::try_from(p).ok())
                .unwrap_or(0),
            stale_days: map
                .int(key::STALE_DAYS)
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(crate::templates::DEFAULT_STALE_DAYS),
            ideal_rate: float(map, key::IDEAL_RATE),
            sales: match map.scalar(key::SALES) {
                Some(ScalarValue::Boolean(sales)) => Some(*sales),
                _ => None,
            },
            entry: map.string(key::ENTRY),
            exit: map.string(key::EXIT),
            ideal_open: map.int(key::IDEAL_OPEN).and_then(|n| u32::try_from(n).ok()),
        }
    }
}

impl Entry for LossReason {
    const LIST: &'static str = key::LOSS_REASONS;

    fn key(&self) -> &str {
        &self.key
    }

    fn props(&self) -> Props {
        let mut props = label_props(&self.label);
        props.push((key::NEEDS_NOTE, ScalarValue::Boolean(self.needs_note)));
        props
    }

    fn read(key: &str, map: &hydrate::Map) -> LossReason {
        LossReason {
            key: key.to_owned(),
            label: read_label(map),
            needs_note: boolean(map, key::NEEDS_NOTE),
        }
    }
}

impl Entry for SourceChannel {
    const LIST: &'static str = key::SOURCES;

    fn key(&self) -> &str {
        &self.key
    }

    fn props(&self) -> Props {
        label_props(&self.label)
    }

    /// Aliases as one register, one per line: a team edits the list as a whole.
    fn later_props(&self) -> Props {
        let aliases = self.aliases.join("\n");
        vec![(
            key::ALIASES,
            match aliases.is_empty() {
                true => ScalarValue::Null,
                false => ScalarValue::Str(aliases.into()),
            },
        )]
    }

    fn read(key: &str, map: &hydrate::Map) -> SourceChannel {
        SourceChannel {
            key: key.to_owned(),
            label: read_label(map),
            aliases: map
                .string(key::ALIASES)
                .map(|aliases| aliases.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    }
}

/// The entries of one keyed list: the current ones in order, and the removed ones by key.
fn read_list<T: Entry>(pipeline: &hydrate::Map) -> (Vec<T>, Vec<T>) {
    let Some(hydrate::Value::Map(list)) = pipeline.get(T::LIST) else {
        return (Vec::new(), Vec::new());
    };
    let mut current = Vec::new();
    let mut removed = Vec::new();
    for (name, entry) in list.iter() {
        let hydrate::Value::Map(map) = &entry.value else {
            continue;
        };
        let item = T::read(name, map);
        if boolean(map, key::REMOVED) {
            removed.push(item);
        } else {
            current.push((float(map, key::POSITION).unwrap_or(0.0), item));
        }
    }
    current.sort_by(|(a, x), (b, y)| a.total_cmp(b).then_with(|| x.key().cmp(y.key())));
    removed.sort_by(|x, y| x.key().cmp(y.key()));
    (current.into_iter().map(|(_, item)| item).collect(), removed)
}

/// The map under `parent[name]`, made if it does not exist.
fn map_at(tx: &mut Transaction<'_>, parent: &ObjId, name: &str) -> Result<ObjId, AutomergeError> {
    object_at(tx, parent, name, ObjType::Map)
}

/// Writes `value` to `obj[name]` unless it already holds exactly that.
fn put_changed(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    name: &str,
    value: ScalarValue,
) -> Result<bool, AutomergeError> {
    let same = matches!(
        tx.get(obj, name)?,
        Some((automerge::Value::Scalar(old), _)) if *old == value
    );
    if !same {
        tx.put(obj, name, value)?;
    }
    Ok(!same)
}

/// [`put_changed`] for a register added in a later release: a null is not written where the
/// register is absent, so an edit does not fill every entry with nulls.
fn put_later(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    name: &str,
    value: ScalarValue,
) -> Result<bool, AutomergeError> {
    if value == ScalarValue::Null && tx.get(obj, name)?.is_none() {
        return Ok(false);
    }
    put_changed(tx, obj, name, value)
}

/// Which registers a write includes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Registers {
    /// Those of the first release: the starting change.
    First,
    /// All of them: an edit.
    All,
}

/// Positions for entries in the wanted order that moves as few entries as possible: entries
/// whose current positions already rise in that order (the longest such run) keep them, the
/// others get places between their neighbours. `None` where an entry keeps its position.
fn positions(current: &[Option<f64>]) -> Vec<Option<f64>> {
    let n = current.len();
    // Longest strictly rising subsequence of the known positions (lists are short: O(n²)).
    let mut length = vec![0usize; n];
    let mut previous = vec![None; n];
    for i in 0..n {
        let Some(p) = current[i] else { continue };
        length[i] = 1;
        for j in 0..i {
            if let Some(q) = current[j]
                && q < p
                && length[j] + 1 > length[i]
            {
                length[i] = length[j] + 1;
                previous[i] = Some(j);
            }
        }
    }
    let mut keep = vec![false; n];
    let mut at = (0..n).filter(|&i| length[i] > 0).max_by_key(|&i| length[i]);
    while let Some(i) = at {
        keep[i] = true;
        at = previous[i];
    }
    let mut placed: Vec<Option<f64>> = vec![None; n];
    let mut i = 0;
    let mut below: Option<f64> = None;
    while i < n {
        if keep[i] {
            below = current[i];
            i += 1;
            continue;
        }
        let run_end = (i..n).find(|&k| keep[k]).unwrap_or(n);
        let above = current
            .get(run_end)
            .copied()
            .flatten()
            .filter(|_| run_end < n);
        let count = (run_end - i) as f64;
        for (step, slot) in (i..run_end).enumerate() {
            let step = step as f64 + 1.0;
            placed[slot] = Some(match (below, above) {
                (Some(lo), Some(hi)) => lo + (hi - lo) * step / (count + 1.0),
                (Some(lo), None) => lo + step,
                (None, Some(hi)) => hi - (count + 1.0 - step),
                (None, None) => step - 1.0,
            });
        }
        below = placed[run_end - 1];
        i = run_end;
    }
    // Halving gaps runs out of precision after some fifty moves into the same gap: then every
    // entry is renumbered.
    let order: Vec<f64> = placed
        .iter()
        .zip(current)
        .filter_map(|(new, old)| new.or(*old))
        .collect();
    if order.windows(2).any(|pair| pair[0] >= pair[1]) {
        return (0..n).map(|i| Some(i as f64)).collect();
    }
    placed
}

/// Makes the list `pipeline[T::LIST]` hold `wanted`, in that order, writing only what differs;
/// entries not wanted are marked removed.
fn write_list<T: Entry>(
    tx: &mut Transaction<'_>,
    pipeline: &ObjId,
    wanted: &[T],
    registers: Registers,
) -> Result<bool, AutomergeError> {
    let list = map_at(tx, pipeline, T::LIST)?;
    let mut changed = false;
    let mut existing: HashMap<String, ObjId> = HashMap::new();
    for name in tx.keys(&list).collect::<Vec<_>>() {
        if let Some((automerge::Value::Object(ObjType::Map), id)) = tx.get(&list, name.as_str())? {
            existing.insert(name, id);
        }
    }
    let mut current = Vec::with_capacity(wanted.len());
    let mut objects = Vec::with_capacity(wanted.len());
    for item in wanted {
        let (obj, position) = match existing.remove(item.key()) {
            Some(obj) => {
                let was_removed = matches!(
                    tx.get(&obj, key::REMOVED)?,
                    Some((automerge::Value::Scalar(v), _)) if *v == ScalarValue::Boolean(true)
                );
                let position = match tx.get(&obj, key::POSITION)? {
                    Some((automerge::Value::Scalar(v), _)) if !was_removed => match v.as_ref() {
                        ScalarValue::F64(p) => Some(*p),
                        _ => None,
                    },
                    _ => None,
                };
                (obj, position)
            }
            None => {
                changed = true;
                (tx.put_object(&list, item.key(), ObjType::Map)?, None)
            }
        };
        for (name, value) in item.props() {
            changed |= put_changed(tx, &obj, name, value)?;
        }
        if registers == Registers::All {
            for (name, value) in item.later_props() {
                changed |= put_later(tx, &obj, name, value)?;
            }
        }
        changed |= put_changed(tx, &obj, key::REMOVED, ScalarValue::Boolean(false))?;
        current.push(position);
        objects.push(obj);
    }
    for (obj, position) in objects.iter().zip(positions(&current)) {
        if let Some(position) = position {
            changed |= put_changed(tx, obj, key::POSITION, ScalarValue::F64(position))?;
        }
    }
    for obj in existing.values() {
        changed |= put_changed(tx, obj, key::REMOVED, ScalarValue::Boolean(true))?;
    }
    Ok(changed)
}

/// Writes the whole pipeline under `ROOT.pipeline`, only what differs.
fn write_pipeline(
    tx: &mut Transaction<'_>,
    wanted: &Pipeline,
    registers: Registers,
) -> Result<bool, AutomergeError> {
    let pipeline = map_at(tx, &ROOT, key::PIPELINE)?;
    let mut changed = put_changed(
        tx,
        &pipeline,
        key::TEMPLATE,
        ScalarValue::Str(wanted.template.as_str().into()),
    )?;
    if registers == Registers::All {
        // "" says the team has no win stage; an absent register, that it never chose one and
        // has its template's (see `default_win_stage`), which is then not written.
        let absent = tx.get(&pipeline, key::WIN_STAGE)?.is_none();
        if !(absent && wanted.win_stage.as_deref() == default_win_stage(wanted)) {
            let win = wanted.win_stage.as_deref().unwrap_or_default();
            changed |= put_changed(tx, &pipeline, key::WIN_STAGE, ScalarValue::Str(win.into()))?;
        }
    }
    if registers == Registers::All {
        changed |= write_currency(tx, &pipeline, wanted.currency.as_ref())?;
    }
    changed |= write_list(tx, &pipeline, &wanted.stages, registers)?;
    changed |= write_list(tx, &pipeline, &wanted.loss_reasons, registers)?;
    changed |= write_list(tx, &pipeline, &wanted.sources, registers)?;
    Ok(changed)
}

/// The win stage of a team that never chose one (its document was written before pipelines
/// named one): its template's, if the team still has that stage.
fn default_win_stage(pipeline: &Pipeline) -> Option<&'static str> {
    crate::templates::default_win_stage(&pipeline.template)
        .filter(|win| pipeline.stage(win).is_some())
}

/// Writes the team's currency under `pipeline.currency` (its code, unit and label registers),
/// or removes it.
fn write_currency(
    tx: &mut Transaction<'_>,
    pipeline: &ObjId,
    currency: Option<&Currency>,
) -> Result<bool, AutomergeError> {
    let Some(currency) = currency else {
        if tx.get(pipeline, key::CURRENCY)?.is_some() {
            tx.delete(pipeline, key::CURRENCY)?;
            return Ok(true);
        }
        return Ok(false);
    };
    let map = map_at(tx, pipeline, key::CURRENCY)?;
    let mut changed = put_changed(tx, &map, key::CODE, currency.code.as_str().into())?;
    changed |= put_changed(tx, &map, key::UNIT, ScalarValue::Uint(currency.unit.into()))?;
    changed |= put_changed(tx, &map, key::LABEL, currency.label.as_str().into())?;
    Ok(changed)
}

/// The team's currency, if it set one.
fn read_currency(pipeline: &hydrate::Map) -> Option<Currency> {
    let Some(hydrate::Value::Map(map)) = pipeline.get(key::CURRENCY) else {
        return None;
    };
    Some(Currency {
        code: map.string(key::CODE)?,
        unit: map
            .int(key::UNIT)
            .and_then(|unit| u32::try_from(unit).ok())?,
        label: map.string(key::LABEL).unwrap_or_default(),
    })
}

/// The pipeline as the first release knew it: what its starting change was built from.
fn first_release_view(pipeline: &Pipeline) -> Pipeline {
    let mut first = pipeline.clone();
    first.win_stage = None;
    first.currency = None;
    for source in &mut first.sources {
        source.aliases.clear();
    }
    for stage in first.stages.iter_mut().chain(&mut first.removed_stages) {
        stage.sales = None;
        stage.entry = None;
        stage.exit = None;
        stage.ideal_open = None;
    }
    first
}

/// The change every device builds from the same starting pipeline, byte for byte: its actor
/// is derived from the pipeline's content and its time is zero. It holds only what the first
/// release wrote, so devices of every release share it (a release that wrote more would make
/// a rival change under the same actor and sequence number).
fn starting_point(pipeline: &Pipeline) -> Result<Automerge, AutomergeError> {
    let first = first_release_view(pipeline);
    let content = serde_json::to_vec(&first).unwrap_or_default();
    let digest = Sha256::digest(&content);
    let mut doc = Automerge::new().with_actor(ActorId::from(&digest[..16]));
    let mut tx = doc.transaction();
    write_pipeline(&mut tx, &first, Registers::First)?;
    tx.commit_with(
        CommitOptions::default()
            .with_time(0)
            .with_message("pipeline"),
    );
    Ok(doc)
}

fn commit_options(stamp: &Stamp, verb: &str) -> CommitOptions {
    let message = serde_json::json!({ "by": stamp.by, "op": verb }).to_string();
    CommitOptions::default()
        .with_message(message)
        .with_time(stamp.now.timestamp())
}

/// The team's Automerge document.
#[derive(Debug, Clone)]
pub struct TeamDoc {
    doc: Automerge,
}

impl TeamDoc {
    /// An empty team document, for a device or relay that has none yet.
    pub fn new(actor: ActorId) -> TeamDoc {
        TeamDoc {
            doc: Automerge::new().with_actor(actor),
        }
    }

    /// The team document in `doc`.
    pub fn from_automerge(doc: Automerge) -> TeamDoc {
        TeamDoc { doc }
    }

    /// The Automerge document, to save, merge or sync.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    /// The Automerge document, to load changes into.
    pub fn automerge_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    /// Takes the Automerge document back.
    pub fn into_automerge(self) -> Automerge {
        self.doc
    }

    fn root(&self) -> hydrate::Map {
        match self.doc.hydrate(None) {
            hydrate::Value::Map(root) => root,
            _ => hydrate::Map::default(),
        }
    }

    /// Whether the team has edited its pipeline (otherwise the template it started from holds).
    pub fn has_pipeline(&self) -> bool {
        matches!(self.root().get(key::PIPELINE), Some(hydrate::Value::Map(_)))
    }

    /// The team's pipeline, or `fallback` (the template the device started from) if the team
    /// has never edited it.
    pub fn pipeline(&self, fallback: &Pipeline) -> Pipeline {
        let root = self.root();
        let Some(hydrate::Value::Map(pipeline)) = root.get(key::PIPELINE) else {
            return fallback.clone();
        };
        let (stages, removed_stages) = read_list::<Stage>(pipeline);
        if stages.is_empty() {
            // Only two concurrent edits that each removed the other's last stage get here.
            return fallback.clone();
        }
        let template = pipeline.string(key::TEMPLATE).unwrap_or_default();
        let win_stage = match pipeline.string(key::WIN_STAGE) {
            Some(win) => Some(win).filter(|win| !win.is_empty()),
            None => None,
        };
        let mut read = Pipeline {
            template,
            stages,
            removed_stages,
            loss_reasons: read_list::<LossReason>(pipeline).0,
            sources: read_list::<SourceChannel>(pipeline).0,
            win_stage,
            currency: read_currency(pipeline),
        };
        if pipeline.scalar(key::WIN_STAGE).is_none() {
            read.win_stage = default_win_stage(&read).map(str::to_owned);
        }
        read
    }

    /// Makes the pipeline `wanted`, writing only what differs from what the document holds
    /// (starting from `fallback` if the team never edited it). Returns whether anything changed.
    pub fn set_pipeline(
        &mut self,
        wanted: &Pipeline,
        fallback: &Pipeline,
        stamp: &Stamp,
    ) -> Result<bool, TeamError> {
        wanted.check()?;
        // The pipeline the team works to already is so (an unedited template included, whose
        // newer registers the starting change does not hold): nothing to write.
        let current = self.pipeline(fallback);
        let without_removed = |p: &Pipeline| Pipeline {
            removed_stages: Vec::new(),
            ..p.clone()
        };
        if without_removed(&current) == without_removed(wanted) {
            return Ok(false);
        }
        if !self.has_pipeline() {
            self.doc.merge(&mut starting_point(fallback)?)?;
        }
        let mut tx = self.doc.transaction();
        let changed = write_pipeline(&mut tx, wanted, Registers::All)?;
        if changed {
            tx.commit_with(commit_options(stamp, "pipeline"));
        } else {
            tx.rollback();
        }
        Ok(changed)
    }

    /// The members, by name.
    pub fn members(&self) -> Vec<Member> {
        let root = self.root();
        let Some(hydrate::Value::Map(members)) = root.get(key::MEMBERS) else {
            return Vec::new();
        };
        let mut list: Vec<Member> = members
            .iter()
            .filter_map(|(name, entry)| {
                let hydrate::Value::Map(map) = &entry.value else {
                    return None;
                };
                Some(Member {
                    name: name.clone(),
                    role: map.string(key::ROLE)?.parse().ok()?,
                    removed: boolean(map, key::REMOVED),
                })
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// A member by name.
    pub fn member(&self, name: &str) -> Option<Member> {
        self.members()
            .into_iter()
            .find(|member| member.name == name)
    }

    /// Records the team's members as `roster` says (members not in it are left as they are).
    /// Returns whether anything changed.
    pub fn set_members(&mut self, roster: &[Member], stamp: &Stamp) -> Result<bool, TeamError> {
        let mut tx = self.doc.transaction();
        let members = map_at(&mut tx, &ROOT, key::MEMBERS)?;
        let mut changed = false;
        for member in roster {
            let entry = map_at(&mut tx, &members, &member.name)?;
            changed |= put_changed(
                &mut tx,
                &entry,
                key::ROLE,
                ScalarValue::Str(member.role.as_str().into()),
            )?;
            changed |= put_changed(
                &mut tx,
                &entry,
                key::REMOVED,
                ScalarValue::Boolean(member.removed),
            )?;
        }
        if changed {
            tx.commit_with(commit_options(stamp, "members"));
        } else {
            tx.rollback();
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates;

    fn stamp(by: &str) -> Stamp {
        Stamp {
            by: by.into(),
            now: "2026-11-20T09:00:00Z".parse().unwrap(),
        }
    }

    fn keys(pipeline: &Pipeline) -> Vec<&str> {
        pipeline.stages.iter().map(|s| s.key.as_str()).collect()
    }

    fn edited(doc: &TeamDoc, edit: impl FnOnce(&mut Pipeline)) -> Pipeline {
        let mut pipeline = doc.pipeline(&templates::b2b());
        edit(&mut pipeline);
        pipeline
    }

    fn apply(doc: &mut TeamDoc, by: &str, edit: impl FnOnce(&mut Pipeline)) {
        let wanted = edited(doc, edit);
        doc.set_pipeline(&wanted, &templates::b2b(), &stamp(by))
            .unwrap();
        let now = doc.pipeline(&templates::b2b());
        assert_eq!(
            (now.stages, now.loss_reasons),
            (wanted.stages, wanted.loss_reasons)
        );
    }

    fn move_stage(pipeline: &mut Pipeline, key: &str, to: usize) {
        let from = pipeline.stage_index(key).unwrap();
        let stage = pipeline.stages.remove(from);
        pipeline.stages.insert(to, stage);
    }

    /// The starting change of each template as the first release built it (hashes taken from
    /// that release's code): devices of every release must build the very same change.
    #[test]
    fn the_starting_change_is_the_one_older_releases_build() {
        for (pipeline, hash) in [
            (
                templates::b2b(),
                "612d882c3465859a2657c1686122c4611ea146e307a5120e3b1132fca64e5dbe",
            ),
            (
                templates::leads(),
                "42ff2f8ed9ca05d68c1aa066c2064a4dba90ced0306d6fa38b42aa062ed9db6c",
            ),
            (
                templates::layers(),
                "f61fe3325806eb45e85688554deb5026600038b0da8e63e22dea170e268bf02f",
            ),
        ] {
            let doc = starting_point(&pipeline).unwrap();
            assert_eq!(doc.get_changes(&[])[0].hash().to_string(), hash);
        }
    }

    #[test]
    fn a_team_document_from_before_win_stages_reads_the_templates_win_stage() {
        // What an older release leaves: the starting change and an edit of a probability.
        let mut doc = TeamDoc::from_automerge(starting_point(&templates::layers()).unwrap());
        assert_eq!(
            doc.pipeline(&templates::b2b()).win_stage.as_deref(),
            Some("signed")
        );
        let mut wanted = doc.pipeline(&templates::layers());
        wanted.win_stage = Some("implemented".into());
        wanted.stages[0].sales = Some(false);
        doc.set_pipeline(&wanted, &templates::layers(), &stamp("a"))
            .unwrap();
        let read = doc.pipeline(&templates::layers());
        assert_eq!(read.win_stage.as_deref(), Some("implemented"));
        assert!(!read.is_sales(0) && read.is_sales(5) && !read.is_sales(6));
        wanted.win_stage = None;
        doc.set_pipeline(&wanted, &templates::layers(), &stamp("a"))
            .unwrap();
        assert_eq!(doc.pipeline(&templates::layers()).win_stage, None);
    }

    #[test]
    fn a_team_that_never_edited_uses_its_template() {
        let doc = TeamDoc::new(ActorId::random());
        assert!(!doc.has_pipeline());
        assert_eq!(doc.pipeline(&templates::layers()), templates::layers());
    }

    #[test]
    fn two_managers_start_from_one_shared_change() {
        let mut a = TeamDoc::new(ActorId::random());
        let mut b = TeamDoc::new(ActorId::random());
        apply(&mut a, "a", |p| p.stages[1].probability = 25);
        apply(&mut b, "b", |p| p.stages[2].stale_days = 14);
        a.automerge_mut().merge(b.automerge_mut()).unwrap();
        // Three changes, not four: the starting change is the same one on both devices.
        assert_eq!(a.automerge().get_changes(&[]).len(), 3);
        let merged = a.pipeline(&templates::b2b());
        assert_eq!(merged.stages[1].probability, 25);
        assert_eq!(merged.stages[2].stale_days, 14);
    }

    #[test]
    fn concurrent_edits_of_different_things_all_survive_a_merge() {
        let mut base = TeamDoc::new(ActorId::random());
        apply(&mut base, "a", |p| p.stages[0].probability = 5);
        let mut a = TeamDoc::from_automerge(base.automerge().fork());
        let mut b = TeamDoc::from_automerge(base.automerge().fork());
        apply(&mut a, "a", |p| {
            p.stages[1].label.en = "discovery call".into();
            move_stage(p, "closing", 2);
            p.stages.push(Stage {
                key: "trial".into(),
                label: Label {
                    en: "free trial".into(),
                    zh: "试用".into(),
                },
                probability: 70,
                stale_days: 14,
                ideal_rate: Some(0.5),
                sales: None,
                entry: None,
                exit: None,
                ideal_open: None,
            });
        });
        apply(&mut b, "b", |p| {
            p.stages[1].stale_days = 10;
            move_stage(p, "acquisition", 4);
            p.stages.retain(|s| s.key != "care");
            p.win_stage = None;
        });
        let mut ab = TeamDoc::from_automerge(a.automerge().fork());
        ab.automerge_mut().merge(b.automerge_mut()).unwrap();
        let mut ba = TeamDoc::from_automerge(b.automerge().fork());
        ba.automerge_mut().merge(a.automerge_mut()).unwrap();
        let merged = ab.pipeline(&templates::b2b());
        assert_eq!(merged, ba.pipeline(&templates::b2b()));
        assert_eq!(
            keys(&merged),
            [
                "discovery",
                "closing",
                "solution",
                "negotiation",
                "acquisition",
                "trial"
            ]
        );
        let discovery = merged.stage("discovery").unwrap();
        assert_eq!(discovery.label.en, "discovery call");
        assert_eq!(discovery.stale_days, 10);
        assert_eq!(merged.removed_stages[0].key, "care");
    }

    #[test]
    fn the_same_register_edited_twice_resolves_alike_everywhere() {
        let mut base = TeamDoc::new(ActorId::random());
        apply(&mut base, "a", |p| p.stages[0].probability = 5);
        let mut a = TeamDoc::from_automerge(base.automerge().fork());
        let mut b = TeamDoc::from_automerge(base.automerge().fork());
        apply(&mut a, "a", |p| p.stages[2].probability = 45);
        apply(&mut b, "b", |p| p.stages[2].probability = 35);
        let mut ab = TeamDoc::from_automerge(a.automerge().fork());
        ab.automerge_mut().merge(b.automerge_mut()).unwrap();
        let mut ba = TeamDoc::from_automerge(b.automerge().fork());
        ba.automerge_mut().merge(a.automerge_mut()).unwrap();
        let chosen = ab.pipeline(&templates::b2b()).stages[2].probability;
        assert!(chosen == 45 || chosen == 35);
        assert_eq!(ba.pipeline(&templates::b2b()).stages[2].probability, chosen);
    }

    #[test]
    fn a_move_rewrites_only_the_moved_stage() {
        let mut doc = TeamDoc::new(ActorId::random());
        apply(&mut doc, "a", |p| p.stages[0].probability = 5);
        let before = doc.automerge().get_heads();
        apply(&mut doc, "a", |p| move_stage(p, "care", 1));
        let change = doc.automerge().get_changes(&before);
        assert_eq!(change.len(), 1);
        assert_eq!(change[0].len(), 1, "one register written");
    }

    #[test]
    fn many_moves_into_one_gap_keep_the_order() {
        let mut doc = TeamDoc::new(ActorId::random());
        for _ in 0..80 {
            apply(&mut doc, "a", |p| move_stage(p, "care", 1));
            apply(&mut doc, "a", |p| move_stage(p, "closing", 1));
        }
        assert_eq!(
            keys(&doc.pipeline(&templates::b2b()))[..3],
            ["acquisition", "closing", "care"]
        );
    }

    #[test]
    fn a_removed_stage_comes_back_with_its_key() {
        let mut doc = TeamDoc::new(ActorId::random());
        apply(&mut doc, "a", |p| p.stages.retain(|s| s.key != "solution"));
        assert!(doc.pipeline(&templates::b2b()).stage("solution").is_none());
        let solution = templates::b2b().stages[2].clone();
        apply(&mut doc, "a", |p| p.stages.insert(2, solution));
        assert_eq!(keys(&doc.pipeline(&templates::b2b()))[2], "solution");
    }

    #[test]
    fn an_invalid_pipeline_is_refused_and_nothing_written() {
        let mut doc = TeamDoc::new(ActorId::random());
        let wanted = edited(&doc, |p| p.stages[1].probability = 120);
        let err = doc
            .set_pipeline(&wanted, &templates::b2b(), &stamp("a"))
            .unwrap_err();
        assert!(err.to_string().contains("probability"), "{err}");
        assert!(doc.automerge().get_heads().is_empty());
    }

    #[test]
    fn members_are_written_once_and_read_back() {
        let mut doc = TeamDoc::new(ActorId::random());
        let roster = vec![
            Member {
                name: "lina".into(),
                role: Role::Rep,
                removed: false,
            },
            Member {
                name: "王经理".into(),
                role: Role::Manager,
                removed: false,
            },
        ];
        assert!(doc.set_members(&roster, &stamp("relay")).unwrap());
        assert!(!doc.set_members(&roster, &stamp("relay")).unwrap());
        assert_eq!(doc.member("王经理").unwrap().role, Role::Manager);
        let mut removed = roster[0].clone();
        removed.removed = true;
        assert!(doc.set_members(&[removed], &stamp("relay")).unwrap());
        assert!(doc.member("lina").unwrap().removed);
        assert_eq!(doc.members().len(), 2);
    }
}
