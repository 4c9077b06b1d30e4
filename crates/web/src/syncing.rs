//! The `sync --watch` loop, run inside the app on a thread of its own for as long as the app
//! serves: it pushes what is done here, receives what the team does, reconnects with backoff
//! when the network goes, and reports each of these to the header and to open pages. Nothing
//! the reader does waits for it.

use std::sync::Arc;

use chrono::Utc;
use fieldsync_client::pass::Identity;
use fieldsync_client::watch::{Watched, watch};

use crate::app::{App, Signal};

/// Starts the loop; it ends when `stop` is set (or at once on a device that never joined a
/// team, which works on its own).
pub fn start(
    app: Arc<App>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => {
                app.set_status(|status| status.problem = Some(format!("cannot sync: {err}")));
                return;
            }
        };
        let identity = match app
            .open()
            .map_err(anyhow::Error::from)
            .and_then(|store| Identity::of(&store))
        {
            Ok(identity) => identity,
            Err(_) => {
                app.set_status(|status| status.joined = false);
                return;
            }
        };
        app.set_status(|status| status.joined = true);
        let open = || app.open().map_err(anyhow::Error::from);
        let mut on_event = |event: Watched<'_>| match event {
            Watched::Connected(skew) => app.set_status(|status| {
                status.online = true;
                status.clock = skew;
                status.problem = None;
                status.last_sync = Some(Utc::now());
            }),
            Watched::Moved { pushed, received } => {
                app.set_status(|status| status.last_sync = Some(Utc::now()));
                if received > 0 || pushed > 0 {
                    app.notify(Signal::Changed);
                }
            }
            // The header reads the set-aside documents from the store.
            Watched::SetAside(_) => app.notify(Signal::Status),
            Watched::Retrying { error, .. } => app.set_status(|status| {
                status.online = false;
                status.problem = Some(error.to_string());
            }),
        };
        let stopped = async {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        let ended = runtime.block_on(watch(&identity, &open, &app.wrote, &mut on_event, stopped));
        if let Err(err) = ended {
            app.set_status(|status| {
                status.online = false;
                status.refused = Some(format!("{err:#}"));
            });
            app.notify(Signal::Changed);
        }
    })
}
