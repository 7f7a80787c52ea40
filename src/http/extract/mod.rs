//! Extractors that answer in our error format: request bodies (JSON or form), the
//! bearer token, the client's address, and the refusal of credentials in the URL.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ApiError, retry_after_seconds};
use crate::audit::Actor;
use crate::auth::{Authenticated, ClientInfo};

/// A request body in JSON (`application/json`) or form (`application/x-www-form-urlencoded`)
/// encoding. Malformed bodies get 400 `malformed_body`, bodies of the wrong shape
/// (unknown or missing fields, wrong types) 422 `invalid_body`, others 413 or 415.
pub struct Body<T>(pub T);

#[derive(Debug, Clone, Copy)]
enum Encoding {
    Json,
    Form,
}

fn encoding(parts: &Parts) -> Option<Encoding> {
    let content_type = parts.headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = content_type.split(';').next()?.trim().to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Some(Encoding::Json)
    } else if mime == "application/x-www-form-urlencoded" {
        Some(Encoding::Form)
    } else {
        None
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let Some(encoding) = encoding(&parts) else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json or application/x-www-form-urlencoded.",
            ));
        };
        let bytes = axum::body::to_bytes(body, state.body_limit)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "The request body is larger than {} bytes.",
                        state.body_limit
                    ),
                )
            })?;
        decode(encoding, &bytes).map(Body)
    }
}

/// A body of `encoding` as a `T`: a problem with status 400 (not JSON) or 422 (not the
/// expected fields) when it is not one.
fn decode<T: DeserializeOwned>(encoding: Encoding, bytes: &[u8]) -> Result<T, ApiError> {
    match encoding {
        // serde would also fill a struct from a JSON array; the contract is objects.
        Encoding::Json if bytes.trim_ascii_start().first() == Some(&b'[') => Err(invalid_body(
            "expected a JSON object, not an array".to_owned(),
        )),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => invalid_body(e.to_string()),
                _ => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    format!("The body is not valid JSON: {e}."),
                ),
            }
        }),
        Encoding::Form => {
            serde_urlencoded::from_bytes(bytes).map_err(|e| invalid_body(e.to_string()))
        }
    }
}

pub(crate) fn invalid_body(reason: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        format!("The body does not have the expected fields: {reason}."),
    )
}

/// Refuses requests that carry credentials in the query string, before anything else
/// is read: URLs end up in proxy logs, browser history and referrers.
pub struct NoCredentialsInQuery;

/// The query parameters refused as credentials (docs/api.md lists them; a test checks).
pub const QUERY_SECRETS: [&str; 9] = [
    "password",
    "new_password",
    "current_password",
    "refresh_token",
    "client_secret",
    "code",
    "token",
    "mfa_token",
    "recovery_code",
];

/// Whether a query parameter's name is a secret's, as frameworks read names: in any
/// case, and with the `[]` that PHP and Rails append to arrays.
fn is_secret_name(key: &str) -> bool {
    let key = key.trim_end_matches("[]");
    QUERY_SECRETS
        .iter()
        .any(|secret| key.eq_ignore_ascii_case(secret))
}

impl<S: Send + Sync> FromRequestParts<S> for NoCredentialsInQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(query) = parts.uri.query() else {
            return Ok(Self);
        };
        let carries_secret = match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
            Ok(pairs) => pairs.iter().any(|(key, _)| is_secret_name(key)),
            // Undecodable: be conservative and look at the raw query.
            Err(_) => {
                let query = query.to_ascii_lowercase();
                QUERY_SECRETS.iter().any(|k| query.contains(k))
            }
        };
        if carries_secret {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "credentials_in_query",
                "Credentials must be sent in the request body, never in the URL.",
            ));
        }
        Ok(Self)
    }
}

/// A valid bearer token whose session is live, with its user: a handler that takes
/// one cannot run unauthenticated, nor for a session that has ended.
pub struct AuthUser(pub Authenticated);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts)?;
        Ok(Self(state.auth.authenticate(token).await?))
    }
}

/// Who calls an admin endpoint: a user with the role `admin` or an API key, checked
/// against the store on every request. Anything else is refused: 401, or 403
/// `forbidden` for a user who is no admin.
pub struct Admin(pub Actor);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts)?;
        Ok(Self(state.auth.authenticate_admin(token).await?))
    }
}

/// The token of the request's `Authorization: Bearer` header; the RFC 6750 answers
/// when there is none, or the header is malformed.
fn presented_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        // RFC 6750 §3.1: no credentials, no error code in the challenge.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "This endpoint needs an access token: send `Authorization: Bearer <token>`.",
        )
        .challenge("Bearer"));
    };
    bearer_token(value).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The Authorization header must be `Bearer <token>`.",
        )
        .challenge("Bearer error=\"invalid_request\"")
    })
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme in any case).
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && !token.contains(' '))
}

/// The client's address: the peer, or what a trusted proxy says (see `client_ip`).
fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(state.proxies.client(peer.ip(), &parts.headers))
}

/// Proof that the client's address is within its request rate on the endpoints that
/// check a password or exchange a refresh token; otherwise 429 `rate_limited` with
/// `Retry-After`.
pub struct WithinRateLimit;

impl FromRequestParts<AppState> for WithinRateLimit {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (Some(limiter), Some(ip)) = (&state.ip_limiter, client_ip(parts, state)) else {
            return Ok(Self);
        };
        limiter.check(ip).map(|()| Self).map_err(|wait| {
            let seconds = retry_after_seconds(wait);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests from your address; try again in {seconds} seconds."),
            )
            .retry_after(seconds)
        })
    }
}

/// The client's address and user agent, recorded on sessions.
pub struct Client(pub ClientInfo);

/// Long enough for any real browser's user agent; longer ones are cut.
pub(crate) const MAX_USER_AGENT: usize = 512;

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts, state);
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Ok(Self(ClientInfo { ip, user_agent }))
    }
}

#[cfg(test)]
mod properties;
