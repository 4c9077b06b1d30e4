//! The relay's Prometheus metrics, served as text at `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Every metric the relay keeps.
pub struct Metrics {
    registry: Registry,
    /// Open authenticated connections.
    pub connections: IntGauge,
    /// Documents stored, across the teams served since the relay started.
    pub documents: IntGauge,
    /// Documents accepted from devices.
    pub documents_stored: IntCounter,
    /// Documents held in memory now, across teams.
    pub documents_cached: IntGauge,
    /// Bytes of frames received from devices.
    pub bytes_received: IntCounter,
    /// Bytes of frames sent to devices.
    pub bytes_sent: IntCounter,
    /// Time from a frame's arrival to its answers being queued (commit included).
    pub sync_latency: Histogram,
    /// Connections closed or refused, by reason.
    pub closes: IntCounterVec,
}

impl Default for Metrics {
    /// Registers the metrics.
    fn default() -> Metrics {
        let registry = Registry::new_custom(Some("fieldsync_relay".into()), None)
            .unwrap_or_else(|_| Registry::new());
        let connections = IntGauge::new("connections", "Open authenticated connections.");
        let documents = IntGauge::new(
            "documents",
            "Documents stored, across the teams served since the relay started.",
        );
        let documents_stored =
            IntCounter::new("documents_stored_total", "Documents accepted from devices.");
        let documents_cached = IntGauge::new(
            "documents_cached",
            "Documents held in memory now, across teams.",
        );
        let bytes_received = IntCounter::new(
            "bytes_received_total",
            "Bytes of frames received from devices.",
        );
        let bytes_sent = IntCounter::new("bytes_sent_total", "Bytes of frames sent to devices.");
        let sync_latency = Histogram::with_opts(
            HistogramOpts::new(
                "sync_latency_seconds",
                "Time from a frame's arrival to its answers being queued, commit included.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        );
        let closes = IntCounterVec::new(
            Opts::new("closes_total", "Connections closed or refused, by reason."),
            &["reason"],
        );
        // The names and options above are constants, valid by construction.
        let (
            Ok(connections),
            Ok(documents),
            Ok(documents_stored),
            Ok(documents_cached),
            Ok(bytes_received),
            Ok(bytes_sent),
            Ok(sync_latency),
            Ok(closes),
        ) = (
            connections,
            documents,
            documents_stored,
            documents_cached,
            bytes_received,
            bytes_sent,
            sync_latency,
            closes,
        )
        else {
            unreachable!("metric definitions are valid");
        };
        for metric in [
            Box::new(connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(documents.clone()),
            Box::new(documents_stored.clone()),
            Box::new(documents_cached.clone()),
            Box::new(bytes_received.clone()),
            Box::new(bytes_sent.clone()),
            Box::new(sync_latency.clone()),
            Box::new(closes.clone()),
        ] {
            let _ = registry.register(metric);
        }
        Metrics {
            registry,
            connections,
            documents,
            documents_stored,
            documents_cached,
            bytes_received,
            bytes_sent,
            sync_latency,
            closes,
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
