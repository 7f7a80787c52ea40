//! The HTTP edge: parse, authenticate, map errors. Decisions live in `auth`.

mod auth_errors;
mod client_ip;
pub mod error;
pub mod extract;
mod middleware;
pub mod oauth;
mod openapi;
mod policy;
mod rate_limit;
pub mod routes;
mod serve;
mod ui;
mod wording;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::Auth;
use crate::telemetry::Metrics;
pub use client_ip::{ForwardedHeader, TrustedProxies};
pub use middleware::AccessLog;
pub use openapi::ApiDoc;
pub use rate_limit::IpLimiter;
pub use serve::{ConnectionLimits, serve};

/// Shared by every handler: one reference-counted pointer, since the router and its
/// middleware clone it several times for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
pub struct Shared {
    pub auth: Arc<Auth>,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Whose forwarding headers name the client.
    pub proxies: Arc<TrustedProxies>,
    /// Per-address request limits on the credential endpoints; `None` when turned off.
    pub ip_limiter: Option<Arc<IpLimiter>>,
    pub metrics: Metrics,
}

/// The metrics listener's one route: `GET /metrics`, apart from the public router so
/// that no one who can reach the API can read the figures.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(routes::ops::metrics))
        .with_state(state)
}

/// Everything an HTTP request goes through, outermost first: request id and access
/// log, panic guard, security headers, problem documents for bare errors, timeout.
pub fn router(state: AppState, request_timeout: Duration, access_log: AccessLog) -> Router {
    let headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    let observer = middleware::Observer {
        metrics: state.metrics.clone(),
        access_log,
        proxies: state.proxies.clone(),
    };
    openapi::routes(state.clone())
        .merge(ui::routes(state.clone()))
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    observer,
                    middleware::observe,
                ))
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a handler panicked");
                    axum::response::IntoResponse::into_response(error::ApiError::internal())
                }))
                .layer(headers)
                .layer(axum::middleware::from_fn(
                    middleware::problem_for_bare_errors,
                ))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    request_timeout,
                )),
        )
}
