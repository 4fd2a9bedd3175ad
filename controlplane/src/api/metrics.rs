//! Control-plane request counters, rendered as Prometheus text at `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Status classes counted: 1xx..5xx.
const STATUS_CLASSES: usize = 5;

/// Request counters (relaxed atomics: each is an independent monotonic count).
#[derive(Debug, Default)]
pub struct Metrics {
    by_class: [AtomicU64; STATUS_CLASSES],
    duration_us_sum: AtomicU64,
}

impl Metrics {
    fn record(&self, status: u16, micros: u64) {
        let class = usize::from(status / 100).clamp(1, STATUS_CLASSES) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.duration_us_sum.fetch_add(micros, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total Control-plane API requests by status class.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        let mut total = 0;
        for (i, counter) in self.by_class.iter().enumerate() {
            let n = counter.load(Ordering::Relaxed);
            total += n;
            out.push_str(&format!(
                "http_requests_total{{service=\"controlplane\",status=\"{}xx\"}} {n}\n",
                i + 1
            ));
        }
        let seconds = self.duration_us_sum.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str("# HELP http_request_duration_seconds Control-plane API request time.\n");
        out.push_str("# TYPE http_request_duration_seconds summary\n");
        out.push_str(&format!(
            "http_request_duration_seconds_sum{{service=\"controlplane\"}} {seconds}\n"
        ));
        out.push_str(&format!(
            "http_request_duration_seconds_count{{service=\"controlplane\"}} {total}\n"
        ));
        out
    }
}

/// Middleware: counts every response.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(req).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.record(response.status().as_u16(), micros);
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    (content_type, state.metrics.render_text()).into_response()
}
