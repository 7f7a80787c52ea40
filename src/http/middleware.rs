//! Cross-cutting behaviour: request ids and the access log, and problem documents for
//! the bare error statuses produced by routing and limit layers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use super::TrustedProxies;
use super::error::ApiError;
use super::extract::MAX_USER_AGENT;
use crate::audit::{self, Origin};
use crate::telemetry::{Metrics, method_label};

pub const REQUEST_ID: &str = "x-request-id";

/// Which requests get a line in the access log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessLog {
    /// Every request.
    All,
    /// Every request but a successful read: every request with a method that can
    /// change something (POST, PUT, PATCH, DELETE: sign-ups, logins, refreshes,
    /// logouts), and every request answered with an error, whatever its method. A
    /// successful GET or HEAD (`/me`, JWKS, health checks, scrapes) is counted in the
    /// metrics but not written out.
    #[default]
    Changes,
    /// None; errors inside a request are still logged.
    Off,
}

impl AccessLog {
    fn wants(self, method: &Method, status: StatusCode) -> bool {
        match self {
            Self::All => true,
            Self::Changes => {
                !method.is_safe() || status.is_client_error() || status.is_server_error()
            }
            Self::Off => false,
        }
    }
}

impl std::str::FromStr for AccessLog {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "all" => Ok(Self::All),
            "changes" => Ok(Self::Changes),
            "off" => Ok(Self::Off),
            _ => Err(format!("access_log: {text:?} is not all, changes or off")),
        }
    }
}

/// What [`observe`] needs: where requests are counted, which are logged, and whose
/// forwarding headers name the client.
#[derive(Clone)]
pub struct Observer {
    pub metrics: Metrics,
    pub access_log: AccessLog,
    pub proxies: Arc<TrustedProxies>,
}

/// An incoming request id is echoed only if it is short and plain, so it cannot be
/// used to inject anything into logs or headers.
fn valid_request_id(value: &HeaderValue) -> bool {
    let id = value.as_bytes();
    let plain = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    !id.is_empty() && id.len() <= 64 && id.iter().all(plain)
}

/// Gives every request an id (echoed or generated), runs it inside a span carrying that
/// id with where it came from as the origin of the audit events it records, counts it
/// in the metrics and, as `--access-log` says, writes one line when it completes. The
/// path is logged without its query string, which is where careless clients put
/// secrets. (One layer, not one per concern: each layer costs every request.)
pub async fn observe(
    State(observer): State<Observer>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let mut generated = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = match request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| valid_request_id(v))
    {
        Some(incoming) => incoming.clone(),
        None => HeaderValue::from_str(Uuid::now_v7().hyphenated().encode_lower(&mut generated))
            .unwrap_or_else(|_| HeaderValue::from_static("-")),
    };
    // Clones of shared buffers, not copies: this runs on every request.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let request_id = id.to_str().unwrap_or("-");
    let span = tracing::info_span!("request", request_id = %request_id);
    let origin = origin(&observer.proxies, &request, request_id);
    let mut response = audit::within(origin, next.run(request))
        .instrument(span.clone())
        .await;
    response.headers_mut().insert(REQUEST_ID, id.clone());
    let elapsed = started.elapsed().as_secs_f64();
    let status = response.status();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    observer
        .metrics
        .request(route, &method, status.as_u16(), elapsed);
    if !observer.access_log.wants(&method, status) {
        return response;
    }
    let status = status.as_u16();
    let _entered = span.enter();
    // Written with Display, not Debug: these values cannot hold a quote, a control
    // character or a space (a path reaches here only as a parsed URI, a route is one of
    // ours, a method label one of a closed set), so escaping them would only cost time,
    // on every request.
    tracing::info!(
        target: "sesame::access",
        method = %method_label(&method),
        route = %route,
        path = %bounded(uri.path()),
        status,
        latency_ms = elapsed * 1000.0,
        "request"
    );
    response
}

/// Where the request came from (the client's address as the trusted proxies tell it,
/// its user agent and the request id): the origin of every audit event recorded while
/// it is served.
fn origin(proxies: &TrustedProxies, request: &Request, request_id: &str) -> Origin {
    let headers = request.headers();
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| proxies.client(peer.ip(), headers).to_string());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT).collect::<String>());
    Origin {
        ip,
        user_agent,
        request_id: Some(request_id.to_owned()),
    }
}

/// The longest path written to the access log; a longer one is cut (a client chooses
/// its path, and one log line per request must stay small).
const MAX_LOGGED_PATH: usize = 256;

fn bounded(path: &str) -> &str {
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
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
