//! The audit trail: events written in the transaction of the change they record (each
//! store method that makes such a change takes its [`Event`]), the few that record no
//! change of their own, the admin's query, and expiry in small batches.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::audit::{Event, EventType};

/// Which events `GET /admin/audit` asks for: newest first, older than `before` (the
/// cursor), at most `limit`.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub user_id: Option<Uuid>,
    pub kind: Option<EventType>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub before: Option<Uuid>,
    pub limit: u32,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Stores an event that records no change of its own (a failed or throttled login).
    async fn record_event(&self, event: &Event) -> Result<(), StoreError>;
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<Event>, StoreError>;
    /// Deletes at most `batch` of the oldest events from before `before`: one short
    /// statement, so expiry never holds a lock for long. The number deleted.
    async fn expire_audit_events(
        &self,
        before: OffsetDateTime,
        batch: u32,
    ) -> Result<u64, StoreError>;
}
