//! Prometheus metrics. The recorder is process-wide (the `metrics` facade has one global
//! recorder), so it is installed once and shared by every application in the process.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Duration};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Handle for recording and rendering metrics.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the recorder on first use.
    pub fn install() -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new().build_recorder();
                let handle = recorder.handle();
                // Another library may have installed a recorder first; then our counters go
                // there and /metrics still renders what we hold.
                let _ = metrics::set_global_recorder(recorder);
                metrics::describe_counter!(
                    "moat_http_requests_total",
                    "HTTP requests answered, by method and status"
                );
                metrics::describe_histogram!("moat_http_request_duration_seconds", "HTTP request latency");
                handle
            })
            .clone();
        Self { handle }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Housekeeping the exporter needs when it runs without its own listener.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Records one answered HTTP request.
    pub fn http_request(&self, method: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        metrics::counter!("moat_http_requests_total", "method" => method.to_owned(), "status" => status)
            .increment(1);
        metrics::histogram!("moat_http_request_duration_seconds", "method" => method.to_owned())
            .record(elapsed.as_secs_f64());
    }
}
