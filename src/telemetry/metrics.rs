//! `/metrics` in Prometheus text format. Each application has its own recorder (not the
//! process-wide one), so several instances in one process, as in the tests, each count
//! only their own requests. The handles the hot paths use are registered once here.

use std::hash::Hash;
use std::sync::Arc;

use axum::http::Method;
use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use quick_cache::Equivalent;
use quick_cache::sync::Cache;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Latency buckets, in seconds: from a cached bearer check to a queued password hash.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The series of one route, method and status. The set is bounded (routes are ours,
/// methods and statuses closed sets), and so is the cache, in case.
const REQUEST_SERIES: usize = 1024;

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    /// The request counter and histogram of each route, method and status, registered
    /// on first use: registering builds the labels and looks the key up in the
    /// recorder's map, too much to do again on every request.
    requests: Arc<Cache<RequestSeries, (Counter, Histogram)>>,
}

#[derive(PartialEq, Eq, Hash)]
struct RequestSeries {
    route: String,
    method: &'static str,
    status: u16,
}

/// A [`RequestSeries`] to look up without allocating; it hashes the same fields in
/// the same order.
#[derive(Hash)]
struct RequestSeriesRef<'a> {
    route: &'a str,
    method: &'static str,
    status: u16,
}

impl Equivalent<RequestSeries> for RequestSeriesRef<'_> {
    fn equivalent(&self, key: &RequestSeries) -> bool {
        self.route == key.route && self.method == key.method && self.status == key.status
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("seconds".to_owned()), &BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            // Only an empty bucket list is refused, and ours is not empty.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let metrics = Self {
            recorder: Arc::new(recorder),
            requests: Arc::new(Cache::new(REQUEST_SERIES)),
        };
        metrics.describe();
        metrics
    }

    fn describe(&self) {
        let describe = |name: &'static str, unit: Option<Unit>, help: &'static str| {
            self.recorder.describe_counter(
                KeyName::from_const_str(name),
                unit,
                SharedString::const_str(help),
            );
        };
        describe(
            "sesame_http_requests_total",
            None,
            "HTTP requests answered, by route, method and status.",
        );
        describe(
            "sesame_http_request_duration_seconds",
            Some(Unit::Seconds),
            "Time to answer an HTTP request.",
        );
        describe(
            "sesame_logins_total",
            None,
            "Password logins by outcome: succeeded, failed or throttled.",
        );
        describe(
            "sesame_hash_queue_depth",
            None,
            "Password hashes admitted and not yet finished.",
        );
        describe(
            "sesame_hash_wait_seconds",
            Some(Unit::Seconds),
            "Time a password hash waited for a worker.",
        );
        describe("sesame_hashes_total", None, "Password hashes computed.");
        describe(
            "sesame_hash_rejections_total",
            None,
            "Requests refused with 503 because the hashing queue was full.",
        );
        describe(
            "sesame_log_lines_dropped_total",
            None,
            "Log lines dropped because the log writer fell 32k lines behind.",
        );
        describe(
            "sesame_active_sessions",
            None,
            "Sessions that have neither ended nor expired.",
        );
    }

    fn key(name: &'static str, labels: Vec<Label>) -> Key {
        Key::from_parts(name, labels)
    }

    /// A counter that the caller increments on its own path (no lookup per event).
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
        let labels = labels
            .iter()
            .map(|&(key, value)| Label::from_static_parts(key, value))
            .collect();
        self.recorder
            .register_counter(&Self::key(name, labels), &METADATA)
    }

    pub fn gauge(&self, name: &'static str) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_static_name(name), &METADATA)
    }

    pub fn histogram(&self, name: &'static str) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_static_name(name), &METADATA)
    }

    /// Counts one answered request. `route` is the matched route pattern (never the raw
    /// path, which would make a series per user id, or per invented path) or
    /// `unmatched`; the method is one of a closed set ([`method_label`]).
    pub fn request(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        let series = RequestSeriesRef {
            route,
            method,
            status,
        };
        let (counter, histogram) = self.requests.get(&series).unwrap_or_else(|| {
            let handles = self.register_request_series(route, method, status);
            let key = RequestSeries {
                route: route.to_owned(),
                method,
                status,
            };
            self.requests.insert(key, handles.clone());
            handles
        });
        counter.increment(1);
        histogram.record(seconds);
    }

    fn register_request_series(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
    ) -> (Counter, Histogram) {
        let labels = |with_status: bool| {
            let mut labels = vec![
                Label::new("route", route.to_owned()),
                Label::from_static_parts("method", method),
            ];
            if with_status {
                labels.push(Label::new("status", status.to_string()));
            }
            labels
        };
        let counter = self.recorder.register_counter(
            &Self::key("sesame_http_requests_total", labels(true)),
            &METADATA,
        );
        let histogram = self.recorder.register_histogram(
            &Self::key("sesame_http_request_duration_seconds", labels(false)),
            &METADATA,
        );
        (counter, histogram)
    }

    /// The exposition text, with the active-session count when the store gave one.
    pub fn render(&self, active_sessions: Option<i64>) -> String {
        if let Some(count) = active_sessions {
            #[allow(clippy::cast_precision_loss)] // a count of sessions fits an f64
            self.recorder
                .register_gauge(&Key::from_static_name("sesame_active_sessions"), &METADATA)
                .set(count as f64);
        }
        self.recorder
            .register_counter(
                &Key::from_static_name("sesame_log_lines_dropped_total"),
                &METADATA,
            )
            .absolute(super::dropped_log_lines());
        self.recorder.handle().render()
    }

    /// Folds recorded histogram samples into their buckets; run every few seconds so
    /// samples do not pile up between scrapes.
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }
}

/// The method as a label from a closed set: HTTP lets a client invent any method name
/// (of any length), and each new label value would be a new series kept forever.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}
