//! The audit trail: `GET /admin/audit`, newest first, for admins and API keys.

use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::admin::{cursor, invalid_query, limit, next_cursor, query};
use super::no_store;
use crate::audit::{Event, EventType};
use crate::http::AppState;
use crate::http::error::{ApiError, Problem};
use crate::http::extract::Admin;
use crate::store::AuditQuery;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    pub user_id: Option<Uuid>,
    /// An event type, such as `login.failed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Events before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// 1 to 200; 50 by default.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorBody {
    /// `user`, `admin`, `key` or `system`.
    pub kind: &'static str,
    pub id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventBody {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: &'static str,
    /// `success` or `failure`.
    pub outcome: &'static str,
    pub actor: ActorBody,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// Reasons, methods, changed fields: never a secret.
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

impl From<Event> for AuditEventBody {
    fn from(event: Event) -> Self {
        Self {
            id: event.id,
            at: event.at,
            kind: event.kind.as_str(),
            outcome: event.outcome.as_str(),
            actor: ActorBody {
                kind: event.actor.kind(),
                id: event.actor.id(),
            },
            user_id: event.user_id,
            session_id: event.session_id,
            ip: event.origin.ip,
            user_agent: event.origin.user_agent,
            request_id: event.origin.request_id,
            details: event.details,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventBody>,
    /// Pass as `cursor` for the next (older) page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditListQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 403, description = "forbidden: not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_query: an unknown type, a bad time, a limit out of range, an unknown cursor or parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<AuditListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let kind = params
        .kind
        .as_deref()
        .map(|name| {
            EventType::parse(name)
                .ok_or_else(|| invalid_query(format!("{name:?} is not an event type.")))
        })
        .transpose()?;
    let limit = limit(params.limit)?;
    let audit_query = AuditQuery {
        user_id: params.user_id,
        kind,
        since: params.since,
        until: params.until,
        before: cursor(params.cursor.as_deref())?,
        limit,
    };
    let events = state.auth.audit_events(&audit_query).await?;
    let next_cursor = next_cursor(&events, limit, |e| e.id);
    let events = events.into_iter().map(AuditEventBody::from).collect();
    Ok(no_store(AuditPage {
        events,
        next_cursor,
    }))
}
