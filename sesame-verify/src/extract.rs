//! The axum side: the [`SesameUser`] extractor, the [`VerifyLayer`], and refusals as
//! RFC 6750 challenges.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{SesameClaims, Verifier};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token is signed with a key the issuer does not publish")]
    UnknownKey,
    #[error("the token is not a valid access token for this service")]
    Invalid,
}

impl IntoResponse for VerifyError {
    /// `401` with `WWW-Authenticate: Bearer` (RFC 6750 §3): with no error code when no
    /// token came, `invalid_token` and a description otherwise.
    fn into_response(self) -> Response {
        let challenge = match self {
            Self::Missing => "Bearer".to_owned(),
            other => format!("Bearer error=\"invalid_token\", error_description=\"{other}\""),
        };
        let body = serde_json::json!({ "detail": self.to_string() }).to_string();
        let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(VerifyError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(VerifyError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(VerifyError::Missing);
    }
    Ok(token.trim())
}

/// The caller, from a verified bearer token. Needs an `Arc<Verifier>` in the router's
/// state (directly or through `FromRef`), or a [`VerifyLayer`] in front.
#[derive(Debug, Clone)]
pub struct SesameUser(pub SesameClaims);

impl<S> FromRequestParts<S> for SesameUser
where
    S: Send + Sync,
    Arc<Verifier>: FromRef<S>,
{
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<SesameClaims>() {
            return Ok(Self(claims.clone()));
        }
        let verifier = Arc::<Verifier>::from_ref(state);
        let token = bearer(&parts.headers)?;
        verifier.verify(token).await.map(Self)
    }
}

/// A tower layer that lets through only requests with a valid Sesame token, their
/// claims in the request's extensions (where [`SesameUser`] finds them).
#[derive(Clone)]
pub struct VerifyLayer {
    verifier: Arc<Verifier>,
}

impl VerifyLayer {
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self { verifier }
    }
}

impl<S> tower_layer::Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyService {
            inner,
            verifier: Arc::clone(&self.verifier),
        }
    }
}

/// The service [`VerifyLayer`] wraps around a router.
#[derive(Clone)]
pub struct VerifyService<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

impl<S> tower_service::Service<Request> for VerifyService<S>
where
    S: tower_service::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let verifier = Arc::clone(&self.verifier);
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let verified = match bearer(request.headers()) {
                Ok(token) => verifier.verify(token).await,
                Err(e) => Err(e),
            };
            match verified {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(e) => Ok(e.into_response()),
            }
        })
    }
}
