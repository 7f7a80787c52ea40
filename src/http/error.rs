//! The one error type at the HTTP edge: [`ApiError`] renders RFC 9457 problem documents
//! with a stable `code` (`/token` answers in RFC 6749's shape instead: `oauth.rs`).
//! Internal causes are logged (inside the request's span, so with its id) and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use secrecy::{ExposeSecret, SecretString};

use crate::tokens::TokenError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field's complaint in a validation error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` carries the meaning.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    /// A sentence a person can act on.
    pub detail: String,
    /// A stable snake_case identifier to switch on.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With `mfa_required`: what finishes the login at `/login/mfa` (5 minutes, 5
    /// attempts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    /// With `mfa_required`: the second factors the account can answer with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    challenge: Option<String>,
    retry_after: Option<u64>,
    /// `mfa_required`'s members: the ticket (a secret: never in `Debug`) and methods.
    /// Boxed: most errors have none, and every `Result` carries the size.
    second_factor: Option<Box<(SecretString, Vec<&'static str>)>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
            retry_after: None,
            second_factor: None,
        }
    }

    /// Adds `mfa_required`'s `mfa_token` and `methods` members.
    pub fn second_factor(mut self, mfa_token: SecretString, methods: Vec<&'static str>) -> Self {
        self.second_factor = Some(Box::new((mfa_token, methods)));
        self
    }

    /// The `mfa_token` and `methods` this error carries, if it is `mfa_required`.
    pub fn mfa_challenge(&self) -> Option<(&str, &[&'static str])> {
        let (token, methods) = self.second_factor.as_deref()?;
        Some((token.expose_secret(), methods))
    }

    pub fn field(mut self, field: &'static str, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field,
            message: message.into(),
        });
        self
    }

    /// Adds a `WWW-Authenticate` challenge (RFC 6750 §3).
    pub fn challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The `Retry-After` this error sends, in seconds.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side; the request id identifies it in our logs.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service cannot reach its database right now; try again shortly.",
        )
        .retry_after(1)
    }

    /// The problem for a bare status (404, 405, 408, 413, ...) from the routing layers.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "There is nothing at this path."),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "This path does not accept this method; see /docs.",
            ),
            StatusCode::REQUEST_TIMEOUT => (
                "timeout",
                "The request took too long to complete; try again.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body_too_large",
                "The request body is larger than this server accepts.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "Send application/json or application/x-www-form-urlencoded.",
            ),
            s if s.is_server_error() => return Self::internal(),
            _ => ("bad_request", "The request could not be understood."),
        };
        Self::new(status, code, detail)
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
            mfa_token: self.mfa_challenge().map(|(token, _)| token.to_owned()),
            methods: self.mfa_challenge().map(|(_, methods)| methods.to_vec()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // Some problems carry a secret (`mfa_required`'s `mfa_token`), and none is
        // worth keeping: no cache holds any of them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, and at least 1, so a client
/// that waits as told is never early.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// 401 with the RFC 6750 `invalid_token` challenge.
pub fn invalid_token(err: &TokenError) -> ApiError {
    let description = match err {
        TokenError::Expired => "The access token has expired; refresh it or log in again.",
        _ => "The access token is invalid.",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description).challenge(format!(
        "Bearer error=\"invalid_token\", error_description=\"{description}\""
    ))
}
