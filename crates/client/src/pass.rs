//! Who a device is on the relay, and one sync pass (push, pull, disconnect), for any front end.

use anyhow::Result;
use fieldsync_model::ValidationError;
use fieldsync_store::{Remote, Store};
use fieldsync_sync::DeviceStats;

use crate::session::{self, Event, StoreSlot};

/// Who this device is on the relay.
pub struct Identity {
    /// The relay, team and token.
    pub remote: Remote,
    /// The member this device acts for.
    pub me: String,
    /// The device's name on the relay (its Automerge actor id).
    pub device: String,
}

impl Identity {
    /// The identity of the device whose store this is; refuses a device that has not joined.
    pub fn of(store: &Store) -> Result<Identity> {
        let remote = store.remote()?.ok_or_else(|| {
            ValidationError::new(
                "sync",
                "this device has not joined a team: run `fieldsync join wss://HOST/sync --team TEAM --token TOKEN` first",
            )
        })?;
        Ok(Identity {
            remote,
            me: store.me().to_owned(),
            device: store.actor().to_hex_string(),
        })
    }
}

/// One pass: push, pull, disconnect. Returns what the relay acknowledged and how many
/// documents changed here.
pub async fn pass(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(DeviceStats, usize)> {
    pass_removing(identity, open, Vec::new(), on_event).await
}

/// [`pass`] that also removes `ids` for the whole team (a manager's device): documents no
/// device can read, which the relay keeps as tombstones.
pub async fn pass_removing(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    removing: Vec<String>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(DeviceStats, usize)> {
    let mut slot = StoreSlot::new(open, true);
    let result = session::run(
        &identity.remote,
        &identity.me,
        &identity.device,
        &mut slot,
        None,
        removing,
        on_event,
    )
    .await;
    Ok(result?)
}
