//! Cross-cutting behaviour: request ids and the access log, and problem documents for
//! the bare error statuses produced by routing and limit layers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use super::error::ApiError;
use crate::telemetry::Metrics;

pub const REQUEST_ID: &str = "x-request-id";

/// An incoming request id is echoed only if it is short and plain, so it cannot be
/// used to inject anything into logs or headers.
fn valid_request_id(value: &HeaderValue) -> Option<String> {
    let id = value.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    (!id.is_empty() && id.len() <= 64 && id.chars().all(plain)).then(|| id.to_owned())
}

/// Gives every request an id (echoed or generated), runs it inside a span carrying that
/// id, writes one log line when it completes and counts it in the metrics. The path is
/// logged without its query string, which is where careless clients put secrets.
pub async fn observe(State(metrics): State<Metrics>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.request(&route, &method, status, elapsed);
    let _entered = span.enter();
    tracing::info!(
        target: "sesame::access",
        method = %method,
        path = %path,
        status,
        latency_ms = elapsed * 1000.0,
        "request"
    );
    response
}

/// Error statuses that arrive with no body (unknown path, wrong method, timeout, a
/// body limit) get the same problem document as everything else.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let mut problem = ApiError::from_status(status).into_response();
        // Keep headers such as Allow on 405.
        for (name, value) in response.headers() {
            if !problem.headers().contains_key(name) {
                problem.headers_mut().insert(name.clone(), value.clone());
            }
        }
        return problem;
    }
    response
}
