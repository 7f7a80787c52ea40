//! [`AuditStore`] on any engine, and [`insert_event`], with which every other store
//! method writes its events inside its own transaction.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Conn, Engine, Row, connection, write_connection};
use crate::audit::{Actor, Event, EventType, Origin, Outcome};
use crate::store::{AuditQuery, AuditStore, StoreError};

pub(super) const INSERT: &str = "INSERT INTO audit_events
     (id, at, type, outcome, actor_kind, actor_id, user_id, session_id, ip, user_agent,
      request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
// Three texts, so each filter is served by its own index ((user_id, id), (type, id),
// the primary key) and walked newest first from the cursor; the other filters are
// always bound, with bounds that let every row through when they are not asked for.
pub(super) const BY_USER: &str = "SELECT * FROM audit_events
     WHERE user_id = $1 AND ($2 = '' OR type = $2) AND at >= $3 AND at < $4 AND id < $5
     ORDER BY id DESC LIMIT $6";
// `$1` (no user) is compared with `user_id` as well as with NULL, so that PostgreSQL
// can tell its type from the statement alone (statements.rs prepares each unbound).
pub(super) const BY_TYPE: &str = "SELECT * FROM audit_events
     WHERE type = $2 AND (user_id = $1 OR $1 IS NULL) AND at >= $3 AND at < $4 AND id < $5
     ORDER BY id DESC LIMIT $6";
pub(super) const ALL: &str = "SELECT * FROM audit_events
     WHERE (user_id = $1 OR $1 IS NULL) AND $2 = '' AND at >= $3 AND at < $4 AND id < $5
     ORDER BY id DESC LIMIT $6";
// One short statement per batch through the index on `at`: no long lock, however
// much has expired (Keycloak's single DELETE of every expired event is what not to do).
pub(super) const EXPIRE: &str = "DELETE FROM audit_events WHERE id IN
     (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)";

/// Writes `event` on `conn`, inside the caller's transaction.
pub(super) async fn insert_event<C: Conn + ?Sized>(
    conn: &mut C,
    event: &Event,
) -> Result<(), StoreError> {
    let details = event.details_json();
    conn.execute(
        INSERT,
        &[
            event.id.into(),
            event.at.into(),
            event.kind.as_str().into(),
            event.outcome.as_str().into(),
            event.actor.kind().into(),
            event.actor.id().into(),
            event.user_id.into(),
            event.session_id.into(),
            event.origin.ip.as_deref().into(),
            event.origin.user_agent.as_deref().into(),
            event.origin.request_id.as_deref().into(),
            details.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

fn event_from_row(row: &impl Row) -> Result<Event, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("audit event {what}"));
    let kind = EventType::parse(&row.text("type")?).ok_or_else(|| corrupt("type"))?;
    let outcome = match row.text("outcome")?.as_str() {
        "success" => Outcome::Success,
        "failure" => Outcome::Failure,
        _ => return Err(corrupt("outcome")),
    };
    let actor = Actor::from_parts(&row.text("actor_kind")?, row.opt_uuid("actor_id")?)
        .ok_or_else(|| corrupt("actor"))?;
    let details = match serde_json::from_str(&row.text("details")?) {
        Ok(serde_json::Value::Object(details)) => details,
        _ => return Err(corrupt("details")),
    };
    Ok(Event {
        id: row.uuid("id")?,
        at: row.time("at")?,
        kind,
        outcome,
        actor,
        user_id: row.opt_uuid("user_id")?,
        session_id: row.opt_uuid("session_id")?,
        origin: Origin {
            ip: row.opt_text("ip")?,
            user_agent: row.opt_text("user_agent")?,
            request_id: row.opt_text("request_id")?,
        },
        details,
    })
}

/// Bounds that let every event through: before the first and after the last.
fn open_range() -> (OffsetDateTime, OffsetDateTime) {
    let far = time::Duration::days(365 * 1000);
    (OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH + far)
}

#[async_trait]
impl<E: Engine> AuditStore for E {
    async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
        insert_event(&mut *write_connection(self).await?, event).await?;
        event.log();
        Ok(())
    }

    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<Event>, StoreError> {
        let sql = match (query.user_id, query.kind) {
            (Some(_), _) => BY_USER,
            (None, Some(_)) => BY_TYPE,
            (None, None) => ALL,
        };
        let (first, last) = open_range();
        let limit = i32::try_from(query.limit).unwrap_or(i32::MAX);
        let rows = connection(self)
            .await?
            .fetch_all(
                sql,
                &[
                    query.user_id.into(),
                    query.kind.map_or("", EventType::as_str).into(),
                    query.since.unwrap_or(first).into(),
                    query.until.unwrap_or(last).into(),
                    query.before.unwrap_or(Uuid::max()).into(),
                    limit.into(),
                ],
            )
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn expire_audit_events(
        &self,
        before: OffsetDateTime,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let batch = i32::try_from(batch).unwrap_or(i32::MAX);
        write_connection(self)
            .await?
            .execute(EXPIRE, &[before.into(), batch.into()])
            .await
    }
}
