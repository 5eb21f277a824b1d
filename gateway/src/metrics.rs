//! Prometheus metrics, kept and written by `prometheus-client` in the text exposition format
//! (0.0.4) that scrapers and `tests/gateway_test.sh` read.

use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use prometheus_text::CONTENT_TYPE;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

// Field order is label order in the output.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    function: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    fabric: Family<CallLabels, Counter>,
    file_bytes: Family<DirectionLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = HistogramFamily::new_with_constructor(|| Histogram::new(BUCKETS));
        let fabric = Family::<CallLabels, Counter>::default();
        let file_bytes = Family::<DirectionLabels, Counter>::default();
        // Both directions are shown from the start, at 0, as they always were.
        for direction in ["upload", "download"] {
            let _ = file_bytes.get_or_create(&DirectionLabels { direction });
        }
        // Counters are registered without `_total`: the encoder appends it.
        let mut registry = Registry::default();
        registry.register("svcflow_http_requests", "HTTP requests answered, by route and status", requests.clone());
        registry.register("svcflow_http_request_duration_seconds", "Time to answer an HTTP request (to the response head)", latency.clone());
        registry.register("svcflow_fabric_calls", "Chaincode calls through the Fabric Gateway, by function and outcome", fabric.clone());
        registry.register("svcflow_file_bytes", "Plaintext file bytes moved, by direction", file_bytes.clone());
        Self { registry, requests, latency, fabric, file_bytes }
    }
}

/// The label of a request's method: HTTP's own methods by name, every other one (a client may
/// send any token) as `other`, so that made-up methods cannot grow the metrics without bound.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { method: method_label(method).to_owned(), route: route.to_owned(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(took.as_secs_f64());
    }

    pub fn fabric_call(&self, function: &str, ok: bool) {
        self.fabric.get_or_create(&CallLabels { function: function.to_owned(), outcome: if ok { "ok" } else { "error" } }).inc();
    }

    pub fn uploaded(&self, bytes: u64) {
        self.file_bytes.get_or_create(&DirectionLabels { direction: "upload" }).inc_by(bytes);
    }

    pub fn downloaded(&self, bytes: u64) {
        self.file_bytes.get_or_create(&DirectionLabels { direction: "download" }).inc_by(bytes);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            // Writing to a String fails only if a metric's own encoding does; show what there is.
            tracing::error!(error = %e, "encoding the metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("GET", "/v1/projects", 200, Duration::from_millis(20));
        m.request("GET", "/v1/projects", 200, Duration::from_millis(700));
        m.fabric_call("ListProjects", true);
        m.uploaded(10);
        let text = m.render();
        assert!(text.contains(r#"svcflow_http_requests_total{method="GET",route="/v1/projects",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"svcflow_http_request_duration_seconds_bucket{route="/v1/projects",le="0.025"} 1"#), "{text}");
        assert!(text.contains(r#"svcflow_http_request_duration_seconds_bucket{route="/v1/projects",le="1"} 2"#), "{text}");
        assert!(text.contains(r#"svcflow_fabric_calls_total{function="ListProjects",outcome="ok"} 1"#), "{text}");
        assert!(text.contains(r#"svcflow_file_bytes_total{direction="upload"} 10"#), "{text}");
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::default();
        for i in 0..50 {
            m.request(&format!("FOO{i}"), "unmatched", 405, Duration::from_millis(1));
        }
        m.request("get", "unmatched", 405, Duration::from_millis(1));
        m.request("DELETE", "unmatched", 405, Duration::from_millis(1));
        let text = m.render();
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("svcflow_http_requests_total{")).collect();
        for want in [
            r#"svcflow_http_requests_total{method="other",route="unmatched",status="405"} 51"#,
            r#"svcflow_http_requests_total{method="DELETE",route="unmatched",status="405"} 1"#,
        ] {
            assert!(lines.contains(&want), "{want} missing from\n{text}");
        }
        assert_eq!(lines.len(), 2, "{text}");
    }

    #[test]
    fn names_and_help_are_the_exposition_formats() {
        let m = Metrics::default();
        m.request("PUT", "/v1/x", 201, Duration::from_millis(1));
        let text = m.render();
        for line in [
            "# HELP svcflow_http_requests_total HTTP requests answered, by route and status.",
            "# TYPE svcflow_http_requests_total counter",
            "# TYPE svcflow_http_request_duration_seconds histogram",
            r#"svcflow_http_request_duration_seconds_bucket{route="/v1/x",le="+Inf"} 1"#,
            r#"svcflow_http_request_duration_seconds_count{route="/v1/x"} 1"#,
            r#"svcflow_file_bytes_total{direction="download"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
