//! Prometheus metrics: requests by route and status, a latency histogram,
//! and the database pool. Counters are per process, as Prometheus expects:
//! it scrapes each server and adds them up.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct RouteLatency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_micros: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, RouteLatency>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, micros: u64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let l = m.entry(route.to_string()).or_default();
            let secs = micros as f64 / 1e6;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    l.buckets[i] += 1;
                }
            }
            l.count += 1;
            l.sum_micros += micros;
        }
    }

    /// The text exposition format.
    pub fn render(&self, pool_size: u32, pool_idle: usize, pool_max: u32) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP weiops_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE weiops_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "weiops_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP weiops_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE weiops_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            for (route, l) in m.iter() {
                let route = escape(route);
                for (i, bound) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "weiops_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                        l.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "weiops_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    l.count
                );
                let _ = writeln!(
                    out,
                    "weiops_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    l.sum_micros as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "weiops_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    l.count
                );
            }
        }
        out.push_str("# HELP weiops_db_pool_connections Open database connections.\n");
        out.push_str("# TYPE weiops_db_pool_connections gauge\n");
        let _ = writeln!(out, "weiops_db_pool_connections {pool_size}");
        out.push_str("# HELP weiops_db_pool_idle Idle database connections.\n");
        out.push_str("# TYPE weiops_db_pool_idle gauge\n");
        let _ = writeln!(out, "weiops_db_pool_idle {pool_idle}");
        out.push_str("# HELP weiops_db_pool_max Most database connections allowed.\n");
        out.push_str("# TYPE weiops_db_pool_max gauge\n");
        let _ = writeln!(out, "weiops_db_pool_max {pool_max}");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Records every request. The route label is the matched pattern
/// (`/users/{id}`), never the raw path, so the label set stays small.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    let micros = start.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
    metrics.observe(&method, &route, res.status().as_u16(), micros);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.observe("GET", "/healthz", 200, 300);
        m.observe("GET", "/healthz", 200, 20_000);
        let text = m.render(2, 1, 8);
        assert!(text.contains(
            "weiops_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "weiops_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "weiops_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.025\"} 2"
        ));
        assert!(text.contains("weiops_http_request_duration_seconds_count{route=\"/healthz\"} 2"));
        assert!(text.contains("weiops_db_pool_connections 2"));
    }
}
