//! The admin API's users: `/admin/users…` (the trail is in `audit.rs`). Every handler
//! takes an [`Admin`], so none runs for anyone but an admin user or a live API key.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{UserBody, no_store};
use crate::auth::{self, Changes, NewAccount};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::{Admin, Body};
use crate::store::AdminUser;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// A user as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserBody {
    #[serde(flatten)]
    pub user: UserBody,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
    /// Sessions neither ended nor past their absolute lifetime.
    pub sessions: i64,
    /// Set by admins only; at most 4 KiB.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

impl From<AdminUser> for AdminUserBody {
    fn from(user: AdminUser) -> Self {
        Self {
            disabled: user.user.disabled,
            user: UserBody::from(user.user),
            last_login_at: user.last_login_at,
            sessions: user.sessions,
            metadata: user.metadata,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<AdminUserBody>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// A query string that cannot be used: 422 `invalid_query`.
pub(super) fn invalid_query(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", detail)
}

/// The query string as `T`, or 422 `invalid_query` saying what is wrong with it.
pub(super) fn query<T>(
    parsed: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    parsed
        .map(|Query(query)| query)
        .map_err(|rejection| invalid_query(rejection.body_text()))
}

pub(super) fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked.unwrap_or(DEFAULT_LIMIT) {
        limit @ 1..=MAX_LIMIT => Ok(limit),
        _ => Err(invalid_query(format!("limit must be 1 to {MAX_LIMIT}."))),
    }
}

/// The cursor of the page after `page`: its last id, unless it was the last page (it
/// came back short of `limit`).
pub(super) fn next_cursor<T>(page: &[T], limit: u32, id: impl Fn(&T) -> Uuid) -> Option<String> {
    let full = page.len() == limit as usize;
    page.last()
        .filter(|_| full)
        .map(|last| id(last).to_string())
}

pub(super) fn cursor(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| invalid_query("cursor is not one this API gave.")))
        .transpose()
}

/// The longest search text: that of the longest email address.
const MAX_SEARCH: usize = 254;

/// A user id from the path; one that is no UUID names no user.
pub(super) fn user_id(
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<Uuid, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|_| ApiError::from(auth::Error::UserNotFound))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Part of the email, any case.
    pub q: Option<String>,
    /// 1 to 200; 50 by default.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List users, oldest first, or search them by part of their email. Pages are stable
/// under inserts and deletes: each user appears once across them.
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])),
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_query: a limit out of range, an unknown cursor or parameter, a q over 254 characters", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<UserListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let limit = limit(params.limit)?;
    let after = cursor(params.cursor.as_deref())?;
    let search = params.q.as_deref().filter(|q| !q.is_empty());
    // No address is longer, and a long pattern costs the database dear (PostgreSQL
    // refuses one as "too complex").
    if search.is_some_and(|q| q.chars().count() > MAX_SEARCH) {
        return Err(invalid_query(format!(
            "q is at most {MAX_SEARCH} characters, the longest an email address can be."
        )));
    }
    let users = state.auth.list_users(search, after, limit).await?;
    let next_cursor = next_cursor(&users, limit, |u| u.user.id);
    let users = users.into_iter().map(AdminUserBody::from).collect();
    Ok(no_store(UserPage { users, next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    /// The user's password; or give `password_hash`, or neither: then the user gets a
    /// password-reset mail as an invitation.
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<SecretString>,
    /// A bcrypt (`$2a$`, `$2b$`, `$2y$`) or Argon2 PHC hash, upgraded at the next login.
    #[schema(value_type = Option<String>)]
    pub password_hash: Option<SecretString>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Create a user.
#[utoipa::path(post, path = "/admin/users", tag = "admin", security(("bearer" = [])),
    request_body(content((CreateUser = "application/json"))),
    responses(
        (status = 201, description = "Created", body = AdminUserBody),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_email, weak_password, password_too_long, invalid_field (a role, a hash)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded (the hashing queue is full), with Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    Body(body): Body<CreateUser>,
) -> Result<Response, ApiError> {
    let account = NewAccount {
        email: body.email,
        password: body.password,
        password_hash: body.password_hash,
        email_verified: body.email_verified,
        roles: body.roles,
    };
    let created = state.auth.admin_create_user(by, account).await?;
    let location = format!("/admin/users/{}", created.user.id);
    let mut response = no_store(AdminUserBody::from(created));
    *response.status_mut() = StatusCode::CREATED;
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// One user.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 200, description = "The user", body = AdminUserBody),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    _: Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<Response, ApiError> {
    let user = state.auth.admin_user(user_id(id)?).await?;
    Ok(no_store(AdminUserBody::from(user)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new address is unverified unless `email_verified` is given with it.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// `true` ends every session at once.
    pub disabled: Option<bool>,
    /// Replaces the roles.
    pub roles: Option<Vec<String>>,
    /// Replaces the metadata: a JSON object of at most 4 KiB.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// Change a user. Disabling ends every session and refuses the user's access tokens
/// at once.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    request_body(content((UpdateUser = "application/json"))),
    responses(
        (status = 200, description = "The user as changed", body = AdminUserBody),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_email, invalid_field (a role, metadata over 4 KiB)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
    Body(body): Body<UpdateUser>,
) -> Result<Response, ApiError> {
    let changes = Changes {
        email: body.email,
        email_verified: body.email_verified,
        disabled: body.disabled,
        roles: body.roles,
        metadata: body.metadata,
    };
    let user = state.auth.update_user(by, user_id(id)?, changes).await?;
    Ok(no_store(AdminUserBody::from(user)))
}

/// Delete a user, with their sessions. The address can register again.
#[utoipa::path(delete, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "user_not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    Admin(by): Admin,
    id: Result<Path<Uuid>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    state.auth.admin_delete_user(by, user_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
