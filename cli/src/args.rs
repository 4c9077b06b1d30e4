//! What was typed: the clap definitions of every command, and nothing else.
//!
//! No I/O happens here; [`crate::context`] turns these into an open store, a clock and a zone.

use std::path::PathBuf;

use clap::{ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use fieldsync_funnel::groups::GroupBy;
use fieldsync_model::Field;
use fieldsync_model::field::FieldKind;

/// fieldsync: a local-first sales pipeline for field teams. Every command works offline.
#[derive(Debug, Parser)]
#[command(name = "fieldsync", version, max_term_width = 100)]
pub struct Cli {
    /// Folder holding this device's store (default: the platform data folder).
    #[arg(long, global = true, env = "FIELDSYNC_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a new store on this device.
    Init(InitArgs),
    /// Add, edit, show, list or delete leads.
    #[command(subcommand)]
    Lead(LeadCommand),
    /// Log a follow-up (a call, email, visit or message) on a lead.
    Log(LogArgs),
    /// Move a lead to another stage.
    Move(MoveArgs),
    /// Close a lead as won.
    Won(WonArgs),
    /// Close a lead as lost, with a reason.
    Lost(LostArgs),
    /// Give up on a lead; it goes back to the unassigned pool.
    Abandon(AbandonArgs),
    /// Reopen a won, lost or abandoned lead.
    Reopen(ReopenArgs),
    /// Correct a follow-up logged with a typo (the fields given replace its own), or void it;
    /// the original stays in `history`.
    Correct(CorrectArgs),
    /// Put an open lead on hold (暂缓) until a day: it stays open, out of the stale and
    /// follow-up alerts until then. `--release` ends the hold early.
    Hold(HoldArgs),
    /// My day: overdue follow-ups, next steps due, stale leads and holds ending, most urgent
    /// first, each with the command to act on it.
    Today(TodayArgs),
    /// Build a store from the built-in sample team and summarise it.
    Demo(DemoArgs),
    /// Show what this device's store holds.
    Status(JsonArg),
    /// Fold pending changes into their documents and shrink the store file.
    Compact,
    /// Remove, for the whole team, documents on the relay that no device can read (those `sync`
    /// set aside); a manager's device only. The relay keeps a tombstone for each; every device
    /// drops them at its next sync. A document that reads as a lead is kept.
    Discard(DiscardArgs),
    /// Rebuild a damaged store from what still reads of it (changes not yet pushed included),
    /// then sync to fetch the rest of the team's documents again.
    Repair,
    /// Connect this device to the team's relay (stored; nothing is sent until `sync`).
    Join(JoinArgs),
    /// Push this device's changes to the relay and pull the team's.
    Sync(SyncArgs),
    /// Open the app in a browser: today, the pipeline board, leads, a lead, a new lead and my
    /// numbers, on 127.0.0.1 over this device's store, syncing by itself while it is open.
    App(AppArgs),
    /// List fields that two devices set differently at the same time.
    Conflicts(ConflictsArgs),
    /// Settle a conflicted field with the value that should stand.
    Resolve(ResolveArgs),
    /// The sales funnel for a period: stages, conversions, win rate, losses.
    Funnel(FunnelArgs),
    /// Leads that need attention now (stale, follow-up overdue, next step past due) and anomalies.
    Alerts(AlertsArgs),
    /// Write the period's lead-tracking report, market report and action list.
    Report(ReportArgs),
    /// Every change to a lead: who, when, which values from and to.
    History(HistoryArgs),
    /// Hand a rep's open leads to another rep in one step (abandoned ones go to the pool).
    Handover(HandoverArgs),
    /// Import leads from a spreadsheet (.csv or .xlsx): every row is checked first, then all are
    /// written, or none.
    Import(ImportArgs),
    /// Export leads (with their stage and latest follow-up) or every follow-up, as CSV, JSON or XLSX.
    Export(ExportArgs),
    /// Show or change the team's pipeline: stages, probabilities, stale limits, ideal rates and
    /// loss reasons (changes are a manager's, and reach the team with the next sync).
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// The team's members and their roles, as this device last synced them.
    Members(JsonArg),
}

/// `fieldsync pipeline ...`.
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// The stages in order with probability, stale limit and ideal rate, the loss reasons, and
    /// the leads still in removed stages.
    Show(PipelineShowArgs),
    /// Change one thing: add, rename, move, set or remove a stage; add or remove a loss reason
    /// or a source channel.
    #[command(subcommand)]
    Edit(PipelineEditArgs),
    /// Make the pipeline what a TOML file says (`pipeline show --format toml` writes one).
    Load(PipelineLoadArgs),
}

/// How `pipeline show` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PipelineFormat {
    /// Aligned tables.
    Table,
    /// One JSON document.
    Json,
    /// The file `pipeline load` reads.
    Toml,
}

/// `fieldsync pipeline show`.
#[derive(Debug, Args)]
pub struct PipelineShowArgs {
    /// How to print it.
    #[arg(long, value_enum, default_value_t = PipelineFormat::Table)]
    pub format: PipelineFormat,
}

/// Where a stage goes.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct PlaceArgs {
    /// Right after this stage.
    #[arg(long, value_name = "STAGE")]
    pub after: Option<String>,
    /// Right before this stage.
    #[arg(long, value_name = "STAGE")]
    pub before: Option<String>,
}

/// A stage's numbers.
#[derive(Debug, Args)]
pub struct StageNumbers {
    /// Chance that a lead in the stage is won, in percent (0-100).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub probability: Option<u8>,
    /// Days a lead may stay in the stage before it is stale.
    #[arg(long, value_name = "DAYS")]
    pub stale_days: Option<u32>,
    /// Share of leads expected to move on to the next stage: 60%, 0.6, or none.
    #[arg(long, value_name = "RATE")]
    pub ideal_rate: Option<String>,
    /// Whether it is a sales stage, one a lead passes on its way to a win (auto: the stages
    /// before the win stage are).
    #[arg(long, value_enum)]
    pub sales: Option<SalesStage>,
    /// What must be true for a lead to enter the stage ("" clears it).
    #[arg(long, value_name = "TEXT")]
    pub entry: Option<String>,
    /// What must be true for a lead to leave it ("" clears it).
    #[arg(long, value_name = "TEXT")]
    pub exit: Option<String>,
    /// The open leads a rep should ideally hold in the stage, or none.
    #[arg(long, value_name = "N")]
    pub ideal_open: Option<String>,
}

/// `--sales yes|no|auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SalesStage {
    /// A sales stage.
    Yes,
    /// Not a sales stage.
    No,
    /// A sales stage when it comes before the win stage.
    Auto,
}

impl SalesStage {
    /// The stage's setting: `None` for auto.
    pub fn setting(self) -> Option<bool> {
        match self {
            SalesStage::Yes => Some(true),
            SalesStage::No => Some(false),
            SalesStage::Auto => None,
        }
    }
}

/// `fieldsync pipeline edit ...`.
#[derive(Debug, Subcommand)]
pub enum PipelineEditArgs {
    /// Add a stage (at the end, or where --after/--before says).
    Add {
        /// The new stage's key, typed in commands (`trial`).
        key: String,
        /// English label.
        #[arg(long, value_name = "LABEL")]
        en: String,
        /// Chinese label.
        #[arg(long, value_name = "LABEL", default_value = "")]
        zh: String,
        /// Where it goes.
        #[command(flatten)]
        place: PlaceArgs,
        /// Its numbers (default: probability 0, stale after 30 days, no ideal rate).
        #[command(flatten)]
        numbers: StageNumbers,
    },
    /// Change a stage's labels; its key, and every lead's history, stay as they are.
    Rename {
        /// The stage (key or label).
        stage: String,
        /// New English label.
        #[arg(long, value_name = "LABEL")]
        en: Option<String>,
        /// New Chinese label.
        #[arg(long, value_name = "LABEL")]
        zh: Option<String>,
    },
    /// Move a stage before or after another.
    Move {
        /// The stage (key or label).
        stage: String,
        /// Where it goes.
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Set a stage's probability, stale limit or ideal rate.
    Set {
        /// The stage (key or label).
        stage: String,
        /// The numbers to set.
        #[command(flatten)]
        numbers: StageNumbers,
    },
    /// Remove a stage. Leads in it stay there (and are listed) until someone moves them.
    Remove {
        /// The stage (key or label).
        stage: String,
    },
    /// Add a loss reason.
    AddReason {
        /// The reason's key, typed in `fieldsync lost` (`timing`).
        key: String,
        /// English label.
        #[arg(long, value_name = "LABEL")]
        en: String,
        /// Chinese label.
        #[arg(long, value_name = "LABEL", default_value = "")]
        zh: String,
        /// A lead lost for this reason must carry a note saying more.
        #[arg(long)]
        needs_note: bool,
    },
    /// Remove a loss reason (leads already lost for it keep it).
    RemoveReason {
        /// The reason (key or label).
        reason: String,
    },
    /// Add a source channel leads may come from.
    AddSource {
        /// The channel's key, typed in `lead add --source` (`wechat-group`).
        key: String,
        /// English label.
        #[arg(long, value_name = "LABEL")]
        en: String,
        /// Chinese label.
        #[arg(long, value_name = "LABEL", default_value = "")]
        zh: String,
    },
    /// Another word a team writes for a source (展会 for trade-show), accepted wherever a
    /// source is, imports included; `--remove` takes one back.
    SourceAlias {
        /// The source (key, label or alias).
        source: String,
        /// The word.
        alias: String,
        /// Take the word back.
        #[arg(long)]
        remove: bool,
    },
    /// Remove a source channel (leads that came from it keep it).
    RemoveSource {
        /// The channel (key or label).
        source: String,
    },
    /// The team's currency and the unit amounts are counted in (`CNY --unit 10000 --label
    /// 万元`), shown beside every amount; or `none`.
    Currency {
        /// ISO code (CNY), or none.
        code: String,
        /// How many of the currency one unit of an amount is (10000 for 万元).
        #[arg(long, default_value_t = 1)]
        unit: u32,
        /// How the unit is written beside amounts (万元).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Name the stage a win leads into (`fieldsync won` enters it), or `none`.
    WinStage {
        /// The stage (key or label), or `none`.
        stage: String,
    },
}

/// `fieldsync pipeline load`.
#[derive(Debug, Args)]
pub struct PipelineLoadArgs {
    /// The pipeline file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Say what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `fieldsync init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Your name as your team knows you (recorded as the author of everything you do).
    #[arg(long)]
    pub me: String,
    /// The pipeline template: b2b (6 stages), leads (5) or layers (7).
    #[arg(long, default_value = "b2b")]
    pub pipeline: String,
}

/// `--json` for read commands.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print one JSON document instead of a table (shape in docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

/// `--at` for events.
#[derive(Debug, Args)]
pub struct AtArg {
    /// When it happened: YYYY-MM-DD, 'YYYY-MM-DD HH:MM', RFC 3339, today or yesterday (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// `fieldsync lead ...`.
#[derive(Debug, Subcommand)]
pub enum LeadCommand {
    /// Add a lead; prints its id alone on stdout.
    Add(AddArgs),
    /// Change a lead's fields.
    Edit(EditArgs),
    /// Show one lead with its follow-ups and history.
    Show(ShowArgs),
    /// List leads.
    List(ListArgs),
    /// Delete a lead (it stays deleted on every device).
    Delete(IdArg),
}

/// A lead, as a person names it.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Lead id, a unique prefix of at least 4 characters, or a piece of the company, contact,
    /// phone or email that only this lead has (腾飞, 13800138).
    #[arg(value_name = "LEAD")]
    pub id: String,
}

/// `fieldsync lead add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The lead's fields (--company and --contact are required).
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Responsible rep (default: you).
    #[arg(long)]
    pub owner: Option<String>,
    /// When the lead came in (default: now).
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync lead edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Fields to set.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Clear a field (repeatable), e.g. --clear email.
    #[arg(long, value_name = "FIELD")]
    pub clear: Vec<String>,
    /// Hand the lead to another rep.
    #[arg(long, conflicts_with = "unassign")]
    pub owner: Option<String>,
    /// Put the lead in the unassigned pool.
    #[arg(long)]
    pub unassign: bool,
}

/// `fieldsync lead show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Show the lead as it was then: a date (its end of day) or a time, in your zone.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output format.
    #[command(flatten)]
    pub json: JsonArg,
}

/// `fieldsync handover`.
#[derive(Debug, Args)]
pub struct HandoverArgs {
    /// The rep whose leads move (who is leaving).
    #[arg(long, value_name = "REP")]
    pub from: String,
    /// The rep who takes them over.
    #[arg(long, value_name = "REP")]
    pub to: String,
    /// Only the open leads in this stage (key or label).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// List what would move; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `fieldsync import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The spreadsheet: .csv (UTF-8, as Excel's "CSV UTF-8" saves it) or .xlsx (its first sheet).
    /// The first row names the columns.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Which field a column holds, when its header is not recognised: --map 微信=ignore,
    /// --map D=phone (the column by its header or letter). Repeat for more columns.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub maps: Vec<String>,
    /// Check every row, print which column holds what, and report; write nothing. Exits 1
    /// when the import would stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Owner of the rows that name none (default: you).
    #[arg(long, value_name = "REP")]
    pub owner: Option<String>,
    /// Import the valid rows and list the invalid ones (by default one invalid row stops the
    /// whole import).
    #[arg(long)]
    pub skip_invalid: bool,
    /// What to do with rows that repeat a lead (same phone, same email, or same company and
    /// contact) in the store or higher in the file.
    #[arg(long, value_enum, default_value = "refuse")]
    pub duplicates: DuplicatesArg,
}

/// `--duplicates`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DuplicatesArg {
    /// List them and import nothing.
    Refuse,
    /// Leave them out.
    Skip,
    /// Write their values into the lead they repeat.
    Merge,
}

/// `fieldsync export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormatArg,
    /// Export every follow-up (one row each) instead of the leads.
    #[arg(long)]
    pub followups: bool,
    /// Write to this file (replaced whole, never half-written) instead of printing; XLSX needs it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Headers and labels: keys (as scripts and `import` know them) or Chinese (客户名称,
    /// 行业展会, 成交); both import back.
    #[arg(long, value_enum, default_value = "keys")]
    pub labels: LabelsArg,
}

/// `export --labels`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelsArg {
    /// Column names and keys.
    Keys,
    /// Chinese headers and labels.
    Zh,
}

/// `export --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// CSV, UTF-8 with a byte-order mark (Excel reads Chinese text right).
    Csv,
    /// One JSON array of objects.
    Json,
    /// An Excel workbook.
    Xlsx,
}

/// `fieldsync history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Output format.
    #[command(flatten)]
    pub json: JsonArg,
}

/// `fieldsync lead list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only leads in this stage (key or label).
    #[arg(long)]
    pub stage: Option<String>,
    /// Whose leads.
    #[command(flatten)]
    pub of: LeadsOf,
    /// Only leads from this source channel.
    #[arg(long)]
    pub source: Option<String>,
    /// Only open leads.
    #[arg(long, group = "status")]
    pub open: bool,
    /// Only won leads.
    #[arg(long, group = "status")]
    pub won: bool,
    /// Only lost leads.
    #[arg(long, group = "status")]
    pub lost: bool,
    /// Only abandoned leads.
    #[arg(long, group = "status")]
    pub abandoned: bool,
    /// Include deleted leads.
    #[arg(long)]
    pub deleted: bool,
    /// Only leads whose company, contact, phone or email holds this text (Chinese substrings
    /// too; digits match the phone whatever its spacing).
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Output format.
    #[command(flatten)]
    pub json: JsonArg,
}

/// `fieldsync log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// How you reached the customer: phone, email, visit or message.
    #[arg(long)]
    pub channel: String,
    /// What was discussed.
    #[arg(long)]
    pub summary: String,
    /// The customer's feedback (objection, approval...).
    #[arg(long)]
    pub feedback: Option<String>,
    /// The next step.
    #[arg(long)]
    pub next: Option<String>,
    /// When the next step is due: YYYY-MM-DD (by the end of that day) or a time.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// When the touch happened.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync correct`.
#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// The follow-up's number, as `lead show` numbers them (1 is the oldest).
    #[arg(value_name = "N")]
    pub number: usize,
    /// How you reached the customer: phone, email, visit or message.
    #[arg(long, conflicts_with = "void")]
    pub channel: Option<String>,
    /// What was discussed.
    #[arg(long, conflicts_with = "void")]
    pub summary: Option<String>,
    /// The customer's feedback ("" clears it).
    #[arg(long, conflicts_with = "void")]
    pub feedback: Option<String>,
    /// The next step ("" clears it, and its due date).
    #[arg(long, conflicts_with = "void")]
    pub next: Option<String>,
    /// When the next step is due ("" clears it).
    #[arg(long, value_name = "DATE", conflicts_with = "void")]
    pub due: Option<String>,
    /// When the touch really happened.
    #[arg(long, value_name = "TIME", conflicts_with = "void")]
    pub happened: Option<String>,
    /// The follow-up should not be there at all.
    #[arg(long)]
    pub void: bool,
}

/// `fieldsync move`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Target stage (key or label).
    pub stage: String,
    /// When it moved.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync won`.
#[derive(Debug, Args)]
pub struct WonArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// The actual deal amount.
    #[arg(long, allow_negative_numbers = true)]
    pub amount: String,
    /// A note.
    #[arg(long)]
    pub note: Option<String>,
    /// When it was won.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync lost`.
#[derive(Debug, Args)]
pub struct LostArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Why: price, competitor, no-budget, need-changed, no-decision, invalid or other (needs --note).
    #[arg(long)]
    pub reason: String,
    /// What happened, in words.
    #[arg(long)]
    pub note: Option<String>,
    /// When it was lost.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync abandon`.
#[derive(Debug, Args)]
pub struct AbandonArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// Why, if known (a loss-reason key).
    #[arg(long)]
    pub reason: Option<String>,
    /// What happened, in words.
    #[arg(long)]
    pub note: Option<String>,
    /// When it was abandoned.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync reopen`.
#[derive(Debug, Args)]
pub struct ReopenArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// When it was reopened.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync hold`.
#[derive(Debug, Args)]
pub struct HoldArgs {
    /// Which lead.
    #[command(flatten)]
    pub id: IdArg,
    /// The last day it waits (YYYY-MM-DD, 2026/11/28, tomorrow).
    #[arg(long, value_name = "DATE", required_unless_present = "release")]
    pub until: Option<String>,
    /// Why it waits (the customer's budget opens in Q3, ...).
    #[arg(long, conflicts_with = "release")]
    pub reason: Option<String>,
    /// End the hold now.
    #[arg(long, conflicts_with = "until")]
    pub release: bool,
    /// When it was put on hold.
    #[command(flatten)]
    pub at: AtArg,
}

/// `fieldsync today`.
#[derive(Debug, Args)]
pub struct TodayArgs {
    /// Everyone's leads, not only mine.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[command(flatten)]
    pub json: JsonArg,
}

/// `fieldsync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of sample leads.
    #[arg(long, default_value_t = 300)]
    pub leads: usize,
    /// Random seed; the same seed gives the same team.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// End of the sample quarter (default: now); with the seed it fixes every lead and time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// One optional flag per lead field, built from the model's field table so that adding a
/// field to the model adds its flag here.
#[derive(Debug, Default)]
pub struct FieldArgs {
    /// The fields given, with the text typed for each.
    pub given: Vec<(Field, String)>,
}

impl FromArgMatches for FieldArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = Field::ALL
            .iter()
            .filter_map(|field| {
                matches
                    .get_one::<String>(field.flag())
                    .map(|value| (*field, value.clone()))
            })
            .collect();
        Ok(FieldArgs { given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for FieldArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Field::ALL.iter().fold(cmd, |cmd, field| {
            cmd.arg(
                clap::Arg::new(field.flag())
                    .long(field.flag())
                    .value_name("TEXT")
                    .action(ArgAction::Set)
                    // So that `--amount -5` reaches validation and is refused as negative.
                    .allow_negative_numbers(field.kind() == FieldKind::Money)
                    .help(field.help()),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn field_flags_come_from_the_field_table() {
        let cli = Cli::try_parse_from([
            "fieldsync",
            "lead",
            "add",
            "--company",
            "华为",
            "--contact",
            "张伟",
            "--expected-close",
            "2024-06-30",
        ])
        .unwrap();
        let Command::Lead(LeadCommand::Add(add)) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(
            add.fields.given,
            vec![
                (Field::Company, "华为".to_owned()),
                (Field::Contact, "张伟".to_owned()),
                (Field::ExpectedClose, "2024-06-30".to_owned()),
            ]
        );
    }
}

/// `fieldsync join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The relay's sync address, like wss://relay.example.com/sync (ws:// only behind a
    /// TLS-terminating proxy or on a trusted network).
    pub url: String,
    /// Your team's name on the relay.
    #[arg(long)]
    pub team: String,
    /// Your token, from `fieldsync-relay member add` (or set FIELDSYNC_TOKEN).
    #[arg(long, env = "FIELDSYNC_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Also trust this certificate authority (PEM) for a wss:// relay, when the team runs its
    /// own; the web's public authorities are always trusted.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,
}

/// `fieldsync discard`.
#[derive(Debug, Args)]
pub struct DiscardArgs {
    /// The documents' ids, as `sync` named them.
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `fieldsync sync`.
#[derive(Debug, Default, Args)]
pub struct SyncArgs {
    /// Stay connected: apply the team's changes as they happen and push this device's as they
    /// are made; reconnect after network failures.
    #[arg(long)]
    pub watch: bool,
}

/// `fieldsync app`.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The port on 127.0.0.1 to serve on (0: any free port).
    #[arg(long, default_value_t = 4717)]
    pub port: u16,
    /// Print the address but do not open a browser.
    #[arg(long)]
    pub no_open: bool,
}

/// `fieldsync conflicts`.
#[derive(Debug, Args)]
pub struct ConflictsArgs {
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `fieldsync resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The lead's id (or a unique prefix of 4+ characters).
    pub id: String,
    /// The conflicted field (as `fieldsync conflicts` names it).
    pub field: String,
    /// The value that should stand.
    pub value: String,
}

/// The period and counting rules a funnel or report covers.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// The calendar period containing today, in your time zone.
    #[arg(long, value_enum, default_value_t = PeriodArg::Month, conflicts_with_all = ["from", "to"])]
    pub period: PeriodArg,
    /// First day of a custom period (YYYY-MM-DD, today, yesterday); needs --to.
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<String>,
    /// Last day of a custom period, included; needs --from.
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
    /// Count a lead at a stage only if it passed every earlier stage in order.
    #[arg(long, conflicts_with = "pass_through")]
    pub strict: bool,
    /// Count skipped stages as passed (the default).
    #[arg(long)]
    pub pass_through: bool,
    /// Follow the leads created in the period to today (the default).
    #[arg(long, conflicts_with = "activity")]
    pub cohort: bool,
    /// Count the stage entries that happened in the period.
    #[arg(long)]
    pub activity: bool,
    /// Set the figures beside those of the previous period (the default), of the same days a
    /// year before, or of none.
    #[arg(long, value_enum, default_value_t = CompareArg::Previous)]
    pub compare: CompareArg,
    /// Whose leads.
    #[command(flatten)]
    pub of: LeadsOf,
}

/// Whose leads a command covers: everyone's, mine, or one rep's.
#[derive(Debug, Args)]
pub struct LeadsOf {
    /// Only my leads (those this device's member owns).
    #[arg(long, conflicts_with = "owner")]
    pub mine: bool,
    /// Only this rep's leads ('none' for the unassigned pool).
    #[arg(long, value_name = "REP")]
    pub owner: Option<String>,
}

/// `fieldsync alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Whose leads.
    #[command(flatten)]
    pub of: LeadsOf,
    /// Output format.
    #[command(flatten)]
    pub json: JsonArg,
}

/// `--compare previous|year-ago|none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareArg {
    /// The period just before.
    Previous,
    /// The same days a year before.
    YearAgo,
    /// No comparison.
    None,
}

/// `fieldsync funnel`.
#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// Period and counting.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Also break the figures down per owner, source channel, industry, size, role or budget.
    #[arg(long, value_enum)]
    pub by: Option<ByArg>,
    /// Print one JSON document instead of the terminal funnel.
    #[arg(long)]
    pub json: bool,
}

/// `fieldsync report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Period and counting.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The format: Markdown, one self-contained HTML page, CSV tables or JSON.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// Write the report to this file (replaced whole, never half-written) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Markdown.
    Md,
    /// A self-contained HTML page with SVG charts.
    Html,
    /// CSV, one record per table row.
    Csv,
    /// JSON, every figure.
    Json,
}

/// `--period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PeriodArg {
    /// Monday to Sunday.
    Week,
    /// The calendar month.
    Month,
    /// The calendar quarter.
    Quarter,
    /// The calendar year.
    Year,
}

/// `--by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ByArg {
    /// Per responsible rep.
    Owner,
    /// Per source channel.
    Source,
    /// Per customer industry.
    Industry,
    /// Per customer size band.
    Size,
    /// Per contact title (role in the decision chain).
    Role,
    /// Per budget range.
    Budget,
    /// Per tier: A/B/C (high, medium, low priority).
    Priority,
    /// Per sales region.
    Region,
}

impl ByArg {
    /// The grouping the analytics use.
    pub fn group_by(self) -> GroupBy {
        match self {
            ByArg::Owner => GroupBy::Owner,
            ByArg::Source => GroupBy::Source,
            ByArg::Industry => GroupBy::Industry,
            ByArg::Size => GroupBy::Size,
            ByArg::Role => GroupBy::Role,
            ByArg::Budget => GroupBy::Budget,
            ByArg::Priority => GroupBy::Priority,
            ByArg::Region => GroupBy::Region,
        }
    }
}
