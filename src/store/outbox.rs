//! The outbox: mail written in the transaction of what it reports, delivered later by
//! a worker (any instance), with retries, and erased once delivered.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

/// A rendered message to queue.
#[derive(Clone)]
pub struct NewMail {
    pub id: Uuid,
    pub kind: &'static str,
    /// The address, as typed; `None`: the user's address when the message is
    /// queued (a notice whose sender learns the user only by redeeming a code).
    pub recipient: Option<String>,
    /// Counts this message against the recipient's send limit (messages that carry
    /// a code); `None` for notices, which are never limited.
    pub recipient_key: Option<Vec<u8>>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: OffsetDateTime,
}

/// A message claimed for delivery.
pub struct QueuedMail {
    pub id: Uuid,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// Failed deliveries so far.
    pub attempts: i32,
}

// A message's body carries its code or link, and its recipient says who has an
// account: `Debug` shows neither.
impl std::fmt::Debug for NewMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &self.recipient.as_ref().map(|_| "[redacted]"))
            .field("body", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for QueuedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("recipient", &"[redacted]")
            .field("body", &"[redacted]")
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claims up to a batch of due messages until `lease_until`: no other worker takes
    /// them meanwhile, and a worker that dies lets them go when the lease ends.
    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// Records a delivery and erases the recipient and body.
    async fn mail_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Records a failed attempt; the message is due again at `retry_at`.
    async fn mail_retry(
        &self,
        id: Uuid,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Gives a message up for good, and erases its recipient and body.
    async fn mail_failed(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Messages waiting for delivery.
    async fn outbox_depth(&self) -> Result<i64, StoreError>;
    /// Deletes delivered and failed messages queued before `before` (they only count
    /// toward send limits), and makes erased bodies unrecoverable from the files
    /// (SQLite: a checkpoint that empties the write-ahead log).
    async fn purge_mail(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}
