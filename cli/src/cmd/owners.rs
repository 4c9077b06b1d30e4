//! What `--mine` and `--owner REP` select: whose leads a command covers.

use fieldsync_model::LeadRow;
use fieldsync_model::row::Owners;
use fieldsync_store::Store;

use crate::args::LeadsOf;

/// The owners `args` name, `--mine` being this device's member.
pub fn owners(store: &Store, args: &LeadsOf) -> Owners {
    match (&args.owner, args.mine) {
        (_, true) => Owners::Of(Some(store.me().to_owned())),
        (Some(owner), false) if owner.trim().eq_ignore_ascii_case("none") => Owners::Of(None),
        (Some(owner), false) => Owners::Of(Some(owner.trim().to_owned())),
        (None, false) => Owners::Everyone,
    }
}

/// The store's rows (deleted ones included) of the leads `args` select, and what they cover
/// when it is not the whole team (see `Roster::covers`).
pub fn rows(store: &Store, args: &LeadsOf) -> anyhow::Result<(Vec<LeadRow>, Option<String>)> {
    let owners = owners(store, args);
    let mut rows = store.rows()?;
    if owners != Owners::Everyone {
        rows.retain(|row| owners.includes(row));
    }
    let members = store.members()?;
    Ok((rows, store.roster(&members).covers(&owners)))
}
