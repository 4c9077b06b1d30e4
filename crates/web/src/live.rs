//! Server-sent events: each open page holds `/events` open and hears `changed` when the store
//! changed (here or from the team) and `status` when only the sync status did. The page then
//! fetches itself again and swaps in its live parts, leaving forms being typed in alone.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::{App, Signal};

/// The event stream of one page.
pub async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = app.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let name = match receiver.recv().await {
            Ok(Signal::Changed) | Err(RecvError::Lagged(_)) => "changed",
            Ok(Signal::Status) => "status",
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().event(name).data(name)), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
