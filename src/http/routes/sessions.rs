//! Sessions: `POST /refresh`, `POST /logout`, `POST /logout/all`, `GET /me/sessions`,
//! `DELETE /me/sessions/{id}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{TokenResponse, no_store};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{AuthUser, Body};
use crate::store::SessionInfo;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

/// Exchange a refresh token for a new pair (the old refresh token stops working).
///
/// Grace window: a rotated token presented again within `--refresh-reuse-grace` seconds
/// (default 10) of its first use, as concurrent requests of one client do, gets the
/// same new refresh token as the first use, so a session never holds two live refresh
/// tokens. Presented again after the window, it is treated as stolen: the whole
/// session ends.
#[utoipa::path(
    post, path = "/refresh", tag = "sessions",
    request_body(content((RefreshRequest = "application/json"), (RefreshRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "A new pair in the same session", body = TokenResponse),
        (status = 401, description = "invalid_refresh_token: unknown, expired, ended, or reused (which ends the session)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Body(request): Body<RefreshRequest>,
) -> Result<Response, ApiError> {
    let pair = state.auth.refresh(&request.refresh_token).await?;
    Ok(no_store(TokenResponse::from(pair)))
}

/// End the session of this access token.
#[utoipa::path(post, path = "/logout", tag = "sessions", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "The session has ended"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<StatusCode, ApiError> {
    state.auth.logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End every session of the user, this one included.
#[utoipa::path(post, path = "/logout/all", tag = "sessions", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Every session has ended"),
    ))]
pub async fn logout_all(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<StatusCode, ApiError> {
    state.auth.logout_all(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An active session of the user.
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session of the token that asked.
    pub current: bool,
}

impl SessionBody {
    fn new(session: SessionInfo, current: Uuid) -> Self {
        Self {
            current: session.id == current,
            id: session.id,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            user_agent: session.user_agent,
            ip: session.ip,
        }
    }
}

/// The user's active sessions, newest first.
#[utoipa::path(get, path = "/me/sessions", tag = "sessions", security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Active sessions", body = [SessionBody]),
    ))]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
) -> Result<Response, ApiError> {
    let sessions = state.auth.sessions(&who).await?;
    let body: Vec<SessionBody> = sessions
        .into_iter()
        .map(|s| SessionBody::new(s, who.session_id()))
        .collect();
    Ok(no_store(body))
}

/// End one of the user's sessions.
#[utoipa::path(delete, path = "/me/sessions/{id}", tag = "sessions", security(("bearer" = []), ("oauth2" = [])),
    params(("id" = Uuid, Path, description = "The session id")),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 404, description = "session_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end(
    State(state): State<AppState>,
    AuthUser(who): AuthUser,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::from(crate::auth::Error::SessionNotFound));
    };
    state.auth.end_session(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
