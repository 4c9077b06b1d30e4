//! The relay's Prometheus metrics, served as text at `/metrics`.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the relay keeps.
pub struct Metrics {
    registry: Registry,
    /// Open authenticated connections.
    pub connections: IntGauge,
    /// Open sockets, authenticated or not.
    pub sockets: IntGauge,
    /// Team workers running (team files open).
    pub team_workers: IntGauge,
    /// Teams whose storage is failing now.
    pub storage_failing: IntGauge,
    /// Storage failures seen.
    pub storage_errors: IntCounter,
    /// Documents stored, across the teams served since the relay started.
    pub documents: IntGauge,
    /// Documents accepted from devices.
    pub documents_stored: IntCounter,
    /// Documents held in memory now, across teams.
    pub documents_cached: IntGauge,
    /// Estimated bytes of the documents held in memory now, across teams.
    pub cache_bytes: IntGauge,
    /// Bytes of frames received from devices.
    pub bytes_received: IntCounter,
    /// Bytes of frames sent to devices.
    pub bytes_sent: IntCounter,
    /// Time from a frame's arrival to its answers being queued (commit included).
    pub sync_latency: Histogram,
    /// Connections closed or refused, by reason.
    pub closes: IntCounterVec,
    /// Sign-in windows the throttle keeps (failed and succeeded), bounded.
    pub sign_in_windows: IntGauge,
}

/// Registers `metric` (built from constant, valid definitions) and returns it.
fn registered<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let metric = match metric {
        Ok(metric) => metric,
        Err(err) => unreachable!("metric definitions are constant and valid: {err}"),
    };
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

impl Default for Metrics {
    /// Registers the metrics.
    fn default() -> Metrics {
        let registry = Registry::new_custom(Some("fieldsync_relay".into()), None)
            .unwrap_or_else(|_| Registry::new());
        let r = &registry;
        Metrics {
            connections: registered(
                r,
                IntGauge::new("connections", "Open authenticated connections."),
            ),
            sockets: registered(
                r,
                IntGauge::new("sockets", "Open sockets, authenticated or not."),
            ),
            team_workers: registered(
                r,
                IntGauge::new("team_workers", "Team workers running (team files open)."),
            ),
            storage_failing: registered(
                r,
                IntGauge::new(
                    "storage_failing",
                    "Teams whose storage failed at its last use (see /readyz).",
                ),
            ),
            storage_errors: registered(
                r,
                IntCounter::new("storage_errors_total", "Storage failures seen."),
            ),
            documents: registered(
                r,
                IntGauge::new(
                    "documents",
                    "Documents stored, across the teams served since the relay started.",
                ),
            ),
            documents_stored: registered(
                r,
                IntCounter::new("documents_stored_total", "Documents accepted from devices."),
            ),
            documents_cached: registered(
                r,
                IntGauge::new(
                    "documents_cached",
                    "Documents held in memory now, across teams.",
                ),
            ),
            cache_bytes: registered(
                r,
                IntGauge::new(
                    "cache_bytes",
                    "Estimated bytes of the documents held in memory, across teams.",
                ),
            ),
            bytes_received: registered(
                r,
                IntCounter::new(
                    "bytes_received_total",
                    "Bytes of frames received from devices.",
                ),
            ),
            bytes_sent: registered(
                r,
                IntCounter::new("bytes_sent_total", "Bytes of frames sent to devices."),
            ),
            sync_latency: registered(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "sync_latency_seconds",
                        "Time from a frame's arrival to its answers being queued, commit included.",
                    )
                    .buckets(vec![
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ]),
                ),
            ),
            closes: registered(
                r,
                IntCounterVec::new(
                    Opts::new("closes_total", "Connections closed or refused, by reason."),
                    &["reason"],
                ),
            ),
            sign_in_windows: registered(
                r,
                IntGauge::new(
                    "sign_in_windows",
                    "Sign-in windows the throttle keeps, failed and succeeded (bounded).",
                ),
            ),
            registry,
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}
