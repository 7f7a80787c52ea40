//! RFC 6749 §5.2 errors, for `/token`: the same failures as everywhere else, in the
//! shape OAuth2 clients expect.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::auth;

/// An RFC 6749 §5.2 error, for the OAuth2 token endpoint. `detail` repeats the
/// description for clients written against the FastAPI seed, which read `.detail`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    #[serde(skip)]
    status: StatusCode,
    pub error: &'static str,
    pub error_description: String,
    pub detail: String,
    /// Sesame's own code, where it says more than `error` (`credentials_in_query`,
    /// `too_many_attempts`, `rate_limited`, `overloaded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// With `mfa_required`: finish the login at `/login/mfa` with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<&'static str>>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            status,
            error,
            detail: description.clone(),
            error_description: description,
            code: None,
            mfa_token: None,
            methods: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<auth::Error> for OAuthError {
    /// A refused grant is RFC 6749's `invalid_grant`; anything else is what the problem
    /// document would say, in RFC 6749's shape.
    fn from(err: auth::Error) -> Self {
        use auth::Error as E;
        match err {
            E::InvalidCredentials
            | E::AccountDisabled
            | E::EmailNotVerified
            | E::InvalidRefreshToken(_) => {
                let problem = ApiError::from(err);
                Self::new(StatusCode::BAD_REQUEST, "invalid_grant", problem.detail())
            }
            // Not a refused grant: the grant was right, and a second step remains.
            E::MfaRequired { .. } => {
                let problem = ApiError::from(err);
                let (token, methods) = problem.mfa_challenge().unzip();
                Self {
                    mfa_token: token.map(str::to_owned),
                    methods: methods.map(<[_]>::to_vec),
                    ..Self::new(StatusCode::FORBIDDEN, "mfa_required", problem.detail())
                }
            }
            other => Self::from(ApiError::from(other)),
        }
    }
}

impl From<ApiError> for OAuthError {
    /// Server errors keep their status as `server_error` or `temporarily_unavailable`;
    /// throttling keeps 429 (RFC 6749 has no error for it); every other refusal is an
    /// `invalid_request`. Sesame's own `code` says which.
    fn from(err: ApiError) -> Self {
        let (status, error) = match err.status() {
            s @ StatusCode::SERVICE_UNAVAILABLE => (s, "temporarily_unavailable"),
            s if s.is_server_error() => (s, "server_error"),
            s @ StatusCode::TOO_MANY_REQUESTS => (s, "invalid_request"),
            _ => (StatusCode::BAD_REQUEST, "invalid_request"),
        };
        Self {
            code: Some(err.code()),
            retry_after: err.retry_after_seconds(),
            ..Self::new(status, error, err.detail())
        }
    }
}
