//! Request metrics in the Prometheus text format, kept in memory without a metrics library:
//! counters per route and status, and a latency histogram per route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    total: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry((method.to_owned(), route.to_owned())).or_default();
            for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            histogram.total += 1;
            histogram.sum += seconds;
        }
    }

    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP opora_http_requests_total HTTP requests answered, by route and status.");
        let _ = writeln!(out, "# TYPE opora_http_requests_total counter");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), count) in requests.iter() {
                let _ = writeln!(out, "opora_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}");
            }
        }
        let _ = writeln!(out, "# HELP opora_http_request_duration_seconds Time to answer, by route.");
        let _ = writeln!(out, "# TYPE opora_http_request_duration_seconds histogram");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), h) in latency.iter() {
                let labels = format!("method=\"{method}\",route=\"{route}\"");
                for (bound, count) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "opora_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(out, "opora_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.total);
                let _ = writeln!(out, "opora_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "opora_http_request_duration_seconds_count{{{labels}}} {}", h.total);
            }
        }
    }
}

/// Times every request and counts it under its route pattern (`/api/v1/cases/{id}`), never the
/// raw path, so ids do not explode the number of series.
pub async fn measure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Resident memory of this process, from `/proc/self/statm` (Linux).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
