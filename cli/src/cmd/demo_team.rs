//! The demo's second act: the sample team syncing through a relay embedded in this process.
//!
//! The manager's store (built by the first act) frees one open lead into the pool and pushes
//! the team's leads to the relay; three rep devices bootstrap from it, each receiving only its
//! rep's leads and the pool. They work offline (follow-ups on their own leads; two of them
//! claim the pool lead and edit its phone at once, the third moves it), then sync. The act
//! shows what each device holds, that it matches the relay's copy of what its member may see,
//! and where the conflicts are.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use automerge::ScalarValue;
use chrono::{DateTime, Utc};
use fieldsync_model::{
    Access, Action, ContactChannel, Field, FollowUpDraft, LeadId, LeadRow, Outcome, Stamp,
    templates,
};
use fieldsync_relay::embedded::EmbeddedRelay;
use fieldsync_relay::members::{Members, Role};
use fieldsync_sample::REPS;
use fieldsync_store::{Remote, Store, StoreError, StoreOptions};

use crate::output::Table;
use fieldsync_client::pass::{Identity, pass};

/// The team's name on the demo relay.
const TEAM: &str = "sample";
/// Follow-ups each rep logs offline on their own open leads.
const OFFLINE_FOLLOWUPS: usize = 5;

/// One device of the demo.
struct DemoDevice {
    name: String,
    role: Role,
    path: PathBuf,
}

/// Runs the act: `home` holds the manager's store (`manager_path`); the relay and the reps'
/// devices go beside it. Events happen at `at`.
pub fn run(
    home: &Path,
    manager: &str,
    manager_path: &Path,
    at: DateTime<Utc>,
    options: &StoreOptions,
    out: &mut impl Write,
) -> Result<()> {
    let relay_dir = home.join("relay");
    let mut devices = vec![DemoDevice {
        name: manager.to_owned(),
        role: Role::Manager,
        path: manager_path.to_owned(),
    }];
    for rep in REPS {
        let path = home.join("devices").join(rep).join("store.redb");
        Store::init(&path, rep, templates::b2b(), options.clone())?;
        devices.push(DemoDevice {
            name: rep.to_owned(),
            role: Role::Rep,
            path,
        });
    }
    let shared = free_into_pool(&devices[0], REPS[0], at, options)?;
    fieldsync_relay::team_files::create_team(&relay_dir, TEAM, at)?;
    let relay = EmbeddedRelay::start(&relay_dir)?;
    for device in &devices {
        let token = Members::update(&relay_dir, |members| {
            members.add_member(TEAM, &device.name, device.role, at)
        })?;
        let mut store = Store::open(&device.path, options.clone())?;
        store.set_remote(&Remote {
            url: relay.url(),
            team: TEAM.to_owned(),
            token,
            ca_pem: None,
        })?;
    }
    writeln!(
        out,
        "\nteam sync: relay on {}, devices for {} and {}",
        relay.url(),
        manager,
        REPS.join(", ")
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    // The manager pushes the team's leads; each rep's device bootstraps from the relay.
    for device in &devices {
        sync(&runtime, device, options)?;
    }
    let bootstrap = started.elapsed();
    work_offline(&devices[1..], &shared, at, options)?;
    let started = Instant::now();
    for device in devices[1..]
        .iter()
        .chain(&devices[..1])
        .chain(&devices[1..3])
    {
        sync(&runtime, device, options)?;
    }
    let catch_up = started.elapsed();
    relay.stop()?;
    writeln!(
        out,
        "bootstrap of {} devices {:.2} s; after offline work, sync rounds {:.2} s\n",
        REPS.len(),
        bootstrap.as_secs_f64(),
        catch_up.as_secs_f64()
    )?;
    print_holdings(&devices, options, out)?;
    print_conflict(&devices, &shared, options, out)
}

/// The manager frees `rep`'s first open lead into the pool, for whoever calls first. Returns it.
fn free_into_pool(
    manager: &DemoDevice,
    rep: &str,
    at: DateTime<Utc>,
    options: &StoreOptions,
) -> Result<LeadId> {
    let mut store = Store::open(&manager.path, options.clone())?;
    let lead = open_leads(&store, rep)?
        .first()
        .map(|row| row.id.clone())
        .context("the sample team has no open lead to free")?;
    let stamp = Stamp {
        by: manager.name.clone(),
        now: at,
    };
    store.update_lead(&lead, &[Action::Assign { owner: None, at }], &stamp)?;
    Ok(lead)
}

/// `owner`'s open leads.
fn open_leads(store: &Store, owner: &str) -> Result<Vec<LeadRow>> {
    Ok(store
        .rows()?
        .into_iter()
        .filter(|row| {
            row.owner.as_deref() == Some(owner) && row.outcome == Outcome::Open && !row.deleted
        })
        .collect())
}

fn sync(
    runtime: &tokio::runtime::Runtime,
    device: &DemoDevice,
    options: &StoreOptions,
) -> Result<()> {
    let open = || Ok(Store::open(&device.path, options.clone())?);
    let identity = Identity::of(&open()?)?;
    runtime
        .block_on(pass(&identity, &open, &mut |_| {}))
        .with_context(|| format!("syncing {}'s device", device.name))?;
    Ok(())
}

/// Each rep logs follow-ups on their open leads; the first two reps also claim the pool lead
/// `shared` at once (and each sets its phone and logs a call) while the third moves it on.
fn work_offline(
    reps: &[DemoDevice],
    shared: &LeadId,
    at: DateTime<Utc>,
    options: &StoreOptions,
) -> Result<()> {
    for (index, rep) in reps.iter().enumerate() {
        let mut store = Store::open(&rep.path, options.clone())?;
        let stamp = Stamp {
            by: rep.name.clone(),
            now: at,
        };
        for row in open_leads(&store, &rep.name)?
            .iter()
            .take(OFFLINE_FOLLOWUPS)
        {
            store.update_lead(
                &row.id,
                &[visit(at, format!("{} visited on the road", rep.name))],
                &stamp,
            )?;
        }
        let edit = match index {
            0 | 1 => vec![
                Action::Assign {
                    owner: Some(rep.name.clone()),
                    at,
                },
                Action::Edit(vec![(
                    Field::Phone,
                    Some(ScalarValue::Str(format!("1380000000{index}").into())),
                )]),
                visit(at, format!("{} confirmed the contact's phone", rep.name)),
            ],
            _ => {
                let lead = store.load(shared)?.view();
                let stages = &store.pipeline().stages;
                let next = stages
                    .iter()
                    .position(|stage| stage.key == lead.stage)
                    .and_then(|i| stages.get(i + 1))
                    .map_or_else(|| lead.stage.clone(), |stage| stage.key.clone());
                vec![Action::Move { to: next, at }]
            }
        };
        store.update_lead(shared, &edit, &stamp)?;
    }
    Ok(())
}

fn visit(at: DateTime<Utc>, summary: String) -> Action {
    Action::Log(FollowUpDraft {
        at,
        channel: ContactChannel::Visit,
        summary,
        feedback: None,
        next: None,
        due: None,
        zone: chrono::Offset::fix(&chrono::Utc),
    })
}

/// A table of what each device holds, and whether it is exactly what its member may see, as
/// the relay's copy (the manager's device, which holds every lead) has it.
fn print_holdings(
    devices: &[DemoDevice],
    options: &StoreOptions,
    out: &mut impl Write,
) -> Result<()> {
    let team = Store::open(&devices[0].path, options.clone())?;
    let team_rows = team.rows()?;
    let mut access = Vec::with_capacity(team_rows.len());
    for row in &team_rows {
        access.push(Access::of(team.load(&row.id)?.automerge()));
    }
    let mut table = Table::new(&[
        "device",
        "role",
        "leads",
        "own",
        "pool",
        "follow-ups",
        "conflicts",
        "as the relay has it",
    ]);
    let mut all_match = true;
    for device in devices {
        let store = Store::open(&device.path, options.clone())?;
        let mut rows = store.rows()?;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let role = device.role;
        let mut expected: Vec<&LeadRow> = team_rows
            .iter()
            .zip(&access)
            .filter(|(_, access)| access.visible_to(&device.name, role))
            .map(|(row, _)| row)
            .collect();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        let matches =
            rows.len() == expected.len() && rows.iter().zip(&expected).all(|(a, b)| a == *b);
        all_match &= matches;
        table.add_row(vec![
            device.name.clone(),
            role.to_string(),
            rows.len().to_string(),
            rows.iter()
                .filter(|row| row.owner.as_deref() == Some(device.name.as_str()))
                .count()
                .to_string(),
            rows.iter()
                .filter(|row| row.owner.is_none())
                .count()
                .to_string(),
            rows.iter()
                .map(|row| u64::from(row.followups))
                .sum::<u64>()
                .to_string(),
            rows.iter()
                .filter(|row| row.conflicts > 0)
                .count()
                .to_string(),
            if matches { "yes" } else { "NO" }.to_owned(),
        ]);
    }
    table.print(out)?;
    writeln!(
        out,
        "{}",
        if all_match {
            "each rep's device holds the rep's own leads and the pool, the manager's holds every lead, each exactly as the relay has it"
        } else {
            "a device holds something other than what its member may see: this is a bug, please report it"
        }
    )?;
    Ok(())
}

fn print_conflict(
    devices: &[DemoDevice],
    shared: &LeadId,
    options: &StoreOptions,
    out: &mut impl Write,
) -> Result<()> {
    let store = Store::open(&devices[0].path, options.clone())?;
    let lead = store.load(shared)?.view();
    let holders: Vec<&str> = devices
        .iter()
        .filter(|device| {
            Store::open(&device.path, options.clone())
                .map_err(StoreError::from)
                .and_then(|store| store.heads(&[shared.as_str()]))
                .is_ok_and(|heads| heads[0].is_some())
        })
        .map(|device| device.name.as_str())
        .collect();
    writeln!(
        out,
        "\npool lead {} ({}) claimed by two reps offline: {} follow-ups kept, stage now {}, held by {}",
        lead.id.short(),
        lead.text(Field::Company),
        lead.followups.len(),
        store.pipeline().stage_label(&lead.stage),
        holders.join(", ")
    )?;
    for conflict in &lead.conflicts {
        writeln!(
            out,
            "conflict on {}: '{}' stands on every device, '{}' kept beside it; settle it with `fieldsync resolve {} {} VALUE`",
            conflict.field,
            conflict.values[0],
            conflict.values[1..].join("', '"),
            lead.id.short(),
            conflict.field
        )?;
    }
    Ok(())
}
