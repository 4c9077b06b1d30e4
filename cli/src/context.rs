//! The second layer of argument handling: where the store is, how long to wait for it, what
//! time it is and in which zone, and the parsing of typed values that needs those.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Local, Utc};
use fieldsync_model::{LeadId, ParseContext, Pipeline, Stamp, form};
use fieldsync_store::{Store, StoreOptions};

/// The store file's name inside the home folder.
pub const STORE_FILE: &str = "store.redb";

/// Environment variable: milliseconds to wait for another process to release the store.
pub const LOCK_WAIT_ENV: &str = "FIELDSYNC_LOCK_WAIT_MS";

/// Environment variable: leads a large write (an import, a handover) commits at a time.
pub const STAGE_LEADS_ENV: &str = "FIELDSYNC_STAGE_LEADS";

/// Everything a command needs besides its own arguments.
pub struct Context {
    /// The home folder, if one was given with --home or FIELDSYNC_HOME.
    pub explicit_home: Option<PathBuf>,
    /// The home folder in use.
    pub home: PathBuf,
    /// Now, read once per command so every event of one command shares it.
    pub now: DateTime<Utc>,
    /// The user's time zone.
    pub zone: Local,
    options: StoreOptions,
}

/// The whole number in environment variable `name`, if it is set; `least` is the smallest
/// it may be.
fn env_number(name: &str, unit: &str, least: u64) -> Result<Option<u64>> {
    match std::env::var(name) {
        Ok(text) => match text.trim().parse() {
            Ok(number) if number >= least => Ok(Some(number)),
            _ => Err(anyhow!(
                "{name}='{text}' is not a number of {unit} ({least} or more)"
            )),
        },
        Err(_) => Ok(None),
    }
}

impl Context {
    /// Resolves the home folder and reads the environment.
    pub fn new(home: Option<PathBuf>) -> Result<Context> {
        let default_home = || {
            directories::ProjectDirs::from("", "", "fieldsync")
                .map(|dirs| dirs.data_dir().to_owned())
                .ok_or_else(|| anyhow!("cannot find a data folder for this user: pass --home DIR"))
        };
        let resolved = match &home {
            Some(dir) => dir.clone(),
            None => default_home()?,
        };
        let defaults = StoreOptions::default();
        let options = StoreOptions {
            lock_wait: env_number(LOCK_WAIT_ENV, "milliseconds", 0)?
                .map_or(defaults.lock_wait, Duration::from_millis),
            stage_leads: env_number(STAGE_LEADS_ENV, "leads", 1)?
                .map_or(defaults.stage_leads, |leads| {
                    usize::try_from(leads).unwrap_or(usize::MAX)
                }),
        };
        Ok(Context {
            explicit_home: home,
            home: resolved,
            now: Utc::now(),
            zone: Local,
            options,
        })
    }

    /// The store file in `home`.
    pub fn store_path_in(home: &Path) -> PathBuf {
        home.join(STORE_FILE)
    }

    /// How stores are opened.
    pub fn store_options(&self) -> StoreOptions {
        self.options.clone()
    }

    /// Opens this device's store, saying so if an interrupted write had to be undone.
    pub fn open_store(&self) -> Result<Store> {
        let store = Store::open(&Self::store_path_in(&self.home), self.store_options())?;
        for warning in store.exposed() {
            eprintln!("fieldsync: warning: {warning}");
        }
        if let Some(started) = store.undone_write() {
            eprintln!(
                "fieldsync: note: a large write (an import or a handover) begun at {} did not finish; it was undone, and the store is as it was before it",
                started
                    .with_timezone(&self.zone)
                    .format("%Y-%m-%d %H:%M:%S")
            );
        }
        Ok(store)
    }

    /// Who is acting, and now.
    pub fn stamp(&self, store: &Store) -> Stamp {
        Stamp {
            by: store.me().to_owned(),
            now: self.now,
        }
    }

    /// What field parsing needs.
    pub fn parse_context<'a>(&'a self, pipeline: &'a Pipeline) -> ParseContext<'a, Local> {
        ParseContext {
            pipeline,
            now: self.now,
            zone: &self.zone,
        }
    }

    /// `--at`: when something happened (default now).
    pub fn event_time(&self, at: Option<&str>) -> Result<DateTime<Utc>> {
        Ok(form::event_time(at, self.now, &self.zone)?)
    }

    /// The lead a person named: an id, its first characters, or a unique search match.
    pub fn resolve(&self, store: &Store, id: &str) -> Result<LeadId> {
        store.find(id).map_err(Into::into)
    }
}
