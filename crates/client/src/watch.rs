//! Staying synced: one live session after another, reconnecting after network failures with
//! exponential backoff and jitter, until told to stop or refused for good. Front ends hear what
//! happens as [`Watched`] events and print or show them as they like.

use std::time::Duration;

use anyhow::Result;
use fieldsync_store::Store;
use rand::Rng;

use crate::clock::ClockSkew;
use crate::pass::Identity;
use crate::session::{self, Event, SessionError, StoreSlot};

/// First wait before reconnecting; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What a watching device does, as it happens.
#[derive(Debug)]
pub enum Watched<'a> {
    /// The relay accepted the connection; with how far this device's clock is from the
    /// relay's, when that is too far.
    Connected(Option<ClockSkew>),
    /// Documents pushed and received since the last event of this kind.
    Moved {
        /// Documents the relay acknowledged.
        pushed: usize,
        /// Documents changed here by what the relay sent.
        received: usize,
    },
    /// Documents from the relay this device could not read were set aside (in all, this
    /// connection).
    SetAside(usize),
    /// The connection ended; the next attempt comes after `wait`.
    Retrying {
        /// Why it ended.
        error: &'a SessionError,
        /// The wait before the next attempt.
        wait: Duration,
    },
}

/// Watches until `stop` completes (returns `Ok`) or the relay refuses the device for good
/// (returns that error). Waking `nudge` pushes what was just done on the device without
/// waiting for the next look.
pub async fn watch(
    identity: &Identity,
    open: &dyn Fn() -> Result<Store>,
    nudge: &tokio::sync::Notify,
    on_event: &mut dyn FnMut(Watched<'_>),
    stop: impl Future<Output = ()>,
) -> Result<()> {
    let mut stop = std::pin::pin!(stop);
    let mut failures = 0u32;
    loop {
        let mut connected = false;
        let mut reported = (0, 0);
        let mut set_aside = 0;
        let mut slot = StoreSlot::new(open, false);
        let mut on_session = |event: Event<'_>| match event {
            Event::Connected(skew) => {
                connected = true;
                on_event(Watched::Connected(skew));
            }
            Event::Progress(stats, merged) => {
                if stats.set_aside > set_aside {
                    set_aside = stats.set_aside;
                    on_event(Watched::SetAside(set_aside));
                }
                if (stats.sent, merged) != reported {
                    on_event(Watched::Moved {
                        pushed: stats.sent - reported.0,
                        received: merged - reported.1,
                    });
                    reported = (stats.sent, merged);
                }
            }
        };
        let session = session::run(
            &identity.remote,
            &identity.me,
            &identity.device,
            &mut slot,
            Some(nudge),
            Vec::new(),
            &mut on_session,
        );
        let ended = tokio::select! {
            ended = session => ended,
            () = &mut stop => return Ok(()),
        };
        let error = match ended {
            Ok(_) => continue,
            Err(err) if err.is_final() => return Err(err.into()),
            Err(err) => err,
        };
        failures = if connected {
            1
        } else {
            failures.saturating_add(1)
        };
        let wait = backoff(failures);
        on_event(Watched::Retrying {
            error: &error,
            wait,
        });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut stop => return Ok(()),
        }
    }
}

/// The wait before reconnect attempt `failures` (1 = first): doubling from
/// [`BACKOFF_START`] up to [`BACKOFF_MAX`], with a random half of it as jitter so devices
/// cut off together do not return together.
fn backoff(failures: u32) -> Duration {
    let ceiling = BACKOFF_START
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX);
    ceiling.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for (failures, ceiling) in [(1, 500), (2, 1000), (3, 2000), (7, 30_000), (40, 30_000)] {
            let wait = backoff(failures).as_millis();
            assert!(wait >= ceiling / 2 && wait <= ceiling, "{failures}: {wait}");
        }
    }
}
