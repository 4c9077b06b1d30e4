//! The demo's second act: the sample team syncing through a relay embedded in this process.
//!
//! The manager's store (built by the first act) pushes the team's leads to the relay; three
//! rep devices bootstrap from it, work offline (follow-ups on their own leads, and two of them
//! editing the same lead at once), then sync; the act shows that every device holds the same
//! leads and where the conflict is.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result};
use automerge::ScalarValue;
use chrono::{DateTime, Utc};
use fieldsync_model::{
    Action, ContactChannel, Field, FollowUpDraft, LeadId, LeadRow, Outcome, Stamp, templates,
};
use fieldsync_relay::embedded::EmbeddedRelay;
use fieldsync_relay::members::{Members, Role};
use fieldsync_sample::REPS;
use fieldsync_store::{Remote, Store, StoreOptions};

use super::sync::{Identity, pass};
use crate::output::Table;

/// The team's name on the demo relay.
const TEAM: &str = "sample";
/// Follow-ups each rep logs offline on their own open leads.
const OFFLINE_FOLLOWUPS: usize = 5;

/// One device of the demo.
struct DemoDevice {
    name: String,
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
        path: manager_path.to_owned(),
    }];
    for rep in REPS {
        let path = home.join("devices").join(rep).join("store.redb");
        Store::init(&path, rep, templates::b2b(), options.clone())?;
        devices.push(DemoDevice {
            name: rep.to_owned(),
            path,
        });
    }
    Members::update(&relay_dir, |members| members.create_team(TEAM, at))?;
    let relay = EmbeddedRelay::start(&relay_dir)?;
    for device in &devices {
        let role = if device.name == manager {
            Role::Manager
        } else {
            Role::Rep
        };
        let token = Members::update(&relay_dir, |members| {
            members.add_member(TEAM, &device.name, role, at)
        })?;
        let mut store = Store::open(&device.path, options.clone())?;
        store.set_remote(&Remote {
            url: relay.url(),
            team: TEAM.to_owned(),
            token,
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
    let shared = work_offline(&devices[1..], at, options)?;
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
    print_convergence(&devices, options, out)?;
    print_conflict(&devices[0], &shared, options, out)
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

/// Each rep logs follow-ups on their open leads; the first two reps also edit the same lead of
/// the first rep at once (phone and a follow-up each) while the third moves it. Returns that
/// lead.
fn work_offline(reps: &[DemoDevice], at: DateTime<Utc>, options: &StoreOptions) -> Result<LeadId> {
    let open_leads = |store: &Store, owner: &str| -> Result<Vec<LeadRow>> {
        Ok(store
            .rows()?
            .into_iter()
            .filter(|row| {
                row.owner.as_deref() == Some(owner) && row.outcome == Outcome::Open && !row.deleted
            })
            .collect())
    };
    let first = Store::open(&reps[0].path, options.clone())?;
    let shared = open_leads(&first, &reps[0].name)?
        .first()
        .map(|row| row.id.clone())
        .context("the sample team has no open lead to edit")?;
    drop(first);
    for (index, rep) in reps.iter().enumerate() {
        let mut store = Store::open(&rep.path, options.clone())?;
        let stamp = Stamp {
            by: rep.name.clone(),
            now: at,
        };
        for row in open_leads(&store, &rep.name)?
            .iter()
            .filter(|row| row.id != shared)
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
                Action::Edit(vec![(
                    Field::Phone,
                    Some(ScalarValue::Str(format!("1380000000{index}").into())),
                )]),
                visit(at, format!("{} confirmed the contact's phone", rep.name)),
            ],
            _ => {
                let lead = store.load(&shared)?.view();
                let stages = &store.pipeline().stages;
                let next = stages
                    .iter()
                    .position(|stage| stage.key == lead.stage)
                    .and_then(|i| stages.get(i + 1))
                    .map_or_else(|| lead.stage.clone(), |stage| stage.key.clone());
                vec![Action::Move { to: next, at }]
            }
        };
        store.update_lead(&shared, &edit, &stamp)?;
    }
    Ok(shared)
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

/// A table of what each device holds, with a fingerprint of its rows: equal fingerprints,
/// equal leads.
fn print_convergence(
    devices: &[DemoDevice],
    options: &StoreOptions,
    out: &mut impl Write,
) -> Result<()> {
    let mut table = Table::new(&["device", "leads", "follow-ups", "conflicts", "fingerprint"]);
    let mut fingerprints = Vec::new();
    for device in devices {
        let store = Store::open(&device.path, options.clone())?;
        let rows = store.rows()?;
        let mut hasher = DefaultHasher::new();
        serde_json::to_string(&rows)?.hash(&mut hasher);
        let fingerprint = format!("{:016x}", hasher.finish());
        table.add_row(vec![
            device.name.clone(),
            rows.len().to_string(),
            rows.iter()
                .map(|row| u64::from(row.followups))
                .sum::<u64>()
                .to_string(),
            rows.iter()
                .filter(|row| row.conflicts > 0)
                .count()
                .to_string(),
            fingerprint.clone(),
        ]);
        fingerprints.push(fingerprint);
    }
    table.print(out)?;
    let converged = fingerprints.windows(2).all(|pair| pair[0] == pair[1]);
    writeln!(
        out,
        "{}",
        if converged {
            "all devices converged: the same leads, follow-ups and history everywhere"
        } else {
            "the devices DIFFER: this is a bug, please report it"
        }
    )?;
    Ok(())
}

fn print_conflict(
    device: &DemoDevice,
    shared: &LeadId,
    options: &StoreOptions,
    out: &mut impl Write,
) -> Result<()> {
    let store = Store::open(&device.path, options.clone())?;
    let lead = store.load(shared)?.view();
    writeln!(
        out,
        "\nconcurrent edit of {} ({}): {} follow-ups kept, stage now {}",
        lead.id.short(),
        lead.text(Field::Company),
        lead.followups.len(),
        store.pipeline().stage_label(&lead.stage)
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
