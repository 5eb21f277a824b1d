//! Prometheus metrics in the text exposition format, kept by hand: a few counters and one
//! latency histogram do not justify a metrics framework in the build.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    /// (method, route, status) → requests
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency
    latency: BTreeMap<String, Histogram>,
    /// (function, outcome) → calls
    fabric: BTreeMap<(String, &'static str), u64>,
    upload_bytes: u64,
    download_bytes: u64,
}

#[derive(Default)]
pub struct Metrics(Mutex<Inner>);

/// Prometheus label values escape `\`, `"` and newlines.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding the lock must not stop metrics for good.
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.with(|m| {
            *m.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
            let h = m.latency.entry(route.to_owned()).or_default();
            let s = took.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if s <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += s;
        });
    }

    pub fn fabric_call(&self, function: &str, ok: bool) {
        self.with(|m| *m.fabric.entry((function.to_owned(), if ok { "ok" } else { "error" })).or_default() += 1);
    }

    pub fn uploaded(&self, bytes: u64) {
        self.with(|m| m.upload_bytes += bytes);
    }

    pub fn downloaded(&self, bytes: u64) {
        self.with(|m| m.download_bytes += bytes);
    }

    pub fn render(&self) -> String {
        self.with(|m| {
            let mut o = String::new();
            let _ = writeln!(o, "# HELP svcflow_http_requests_total HTTP requests answered, by route and status.");
            let _ = writeln!(o, "# TYPE svcflow_http_requests_total counter");
            for ((method, route, status), n) in &m.requests {
                let _ = writeln!(o, "svcflow_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}", esc(method), esc(route));
            }
            let _ = writeln!(o, "# HELP svcflow_http_request_duration_seconds Time to answer an HTTP request (to the response head).");
            let _ = writeln!(o, "# TYPE svcflow_http_request_duration_seconds histogram");
            for (route, h) in &m.latency {
                let r = esc(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(o, "svcflow_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}", h.counts[i]);
                }
                let _ = writeln!(o, "svcflow_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(o, "svcflow_http_request_duration_seconds_sum{{route=\"{r}\"}} {}", h.sum);
                let _ = writeln!(o, "svcflow_http_request_duration_seconds_count{{route=\"{r}\"}} {}", h.count);
            }
            let _ = writeln!(o, "# HELP svcflow_fabric_calls_total Chaincode calls through the Fabric Gateway, by function and outcome.");
            let _ = writeln!(o, "# TYPE svcflow_fabric_calls_total counter");
            for ((f, outcome), n) in &m.fabric {
                let _ = writeln!(o, "svcflow_fabric_calls_total{{function=\"{}\",outcome=\"{outcome}\"}} {n}", esc(f));
            }
            let _ = writeln!(o, "# HELP svcflow_file_bytes_total Plaintext file bytes moved, by direction.");
            let _ = writeln!(o, "# TYPE svcflow_file_bytes_total counter");
            let _ = writeln!(o, "svcflow_file_bytes_total{{direction=\"upload\"}} {}", m.upload_bytes);
            let _ = writeln!(o, "svcflow_file_bytes_total{{direction=\"download\"}} {}", m.download_bytes);
            o
        })
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
}
