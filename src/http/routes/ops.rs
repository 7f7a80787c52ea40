//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::error::{ApiError, Problem};

/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the store answers, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = String),
        (status = 503, description = "unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<(StatusCode, &'static str), ApiError> {
    state.auth.ready().await?;
    Ok((StatusCode::OK, "ready"))
}

/// Prometheus metrics: requests and latency per route, logins by outcome, the hashing
/// queue, active sessions. Served on the metrics listener only (`--metrics-bind`).
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Without the store the rest of the figures still matter most: leave the gauge out.
    let sessions = match state.auth.active_sessions().await {
        Ok(count) => Some(count),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count active sessions");
            None
        }
    };
    let mut response = state.metrics.render(sessions).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
