//! [`OutboxStore`] on any engine, and [`queue_mail`] for the transactions that queue
//! a message with what it reports.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Conn, Engine, Row, connection, write_connection};
use crate::store::{NewMail, OutboxStore, QueuedMail, StoreError};

pub(super) const INSERT: &str = "INSERT INTO outbox
     (id, kind, recipient_key, recipient, subject, body_text, body_html, created_at,
      next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)";
// A notice to whatever address the user has at this point of the transaction.
pub(super) const INSERT_TO_USER: &str = "INSERT INTO outbox
     (id, kind, recipient_key, recipient, subject, body_text, body_html, created_at,
      next_attempt_at)
     SELECT $1, $2, $3, email, $4, $5, $6, $7, $7 FROM users WHERE id = $8";
/// What every `CLAIM_MAIL` returns.
pub(crate) const CLAIMED_COLUMNS: &str =
    " RETURNING id, kind, recipient, subject, body_text, body_html, attempts";
/// The due messages, oldest first, a batch at most: every `CLAIM_MAIL` claims these,
/// each engine with its own row locks.
pub(crate) const DUE_MAIL: &str = "UPDATE outbox SET claimed_until = $2 WHERE id IN (
     SELECT id FROM outbox
     WHERE next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
     ORDER BY next_attempt_at LIMIT 16";
pub(super) const SENT: &str = "UPDATE outbox SET sent_at = $2, next_attempt_at = NULL,
     claimed_until = NULL, recipient = NULL, subject = NULL, body_text = NULL,
     body_html = NULL
     WHERE id = $1";
pub(super) const RETRY: &str = "UPDATE outbox SET attempts = attempts + 1,
     next_attempt_at = $2, claimed_until = NULL, last_error = $3
     WHERE id = $1";
pub(super) const FAILED: &str = "UPDATE outbox SET attempts = attempts + 1, failed_at = $2,
     next_attempt_at = NULL, claimed_until = NULL, last_error = $3, recipient = NULL,
     subject = NULL, body_text = NULL, body_html = NULL
     WHERE id = $1";
pub(super) const DEPTH: &str = "SELECT count(*) AS n FROM outbox WHERE next_attempt_at IS NOT NULL";
pub(super) const PURGE: &str =
    "DELETE FROM outbox WHERE created_at < $1 AND next_attempt_at IS NULL";

/// Queues `mail` in the transaction `tx`: to its recipient, or with none, to the
/// current address of `user`.
pub(super) async fn queue_mail<C: Conn + ?Sized>(
    tx: &mut C,
    mail: &NewMail,
    user: Option<Uuid>,
) -> Result<(), StoreError> {
    let key = mail.recipient_key.as_deref();
    match (&mail.recipient, user) {
        (Some(recipient), _) => {
            let args = [
                mail.id.into(),
                mail.kind.into(),
                key.into(),
                recipient.as_str().into(),
                mail.subject.as_str().into(),
                mail.body_text.as_str().into(),
                mail.body_html.as_str().into(),
                mail.created_at.into(),
            ];
            tx.execute(INSERT, &args).await?;
        }
        (None, Some(user)) => {
            let args = [
                mail.id.into(),
                mail.kind.into(),
                key.into(),
                mail.subject.as_str().into(),
                mail.body_text.as_str().into(),
                mail.body_html.as_str().into(),
                mail.created_at.into(),
                user.into(),
            ];
            tx.execute(INSERT_TO_USER, &args).await?;
        }
        (None, None) => return Err(StoreError::Inconsistent("a message with no recipient")),
    }
    Ok(())
}

#[async_trait]
impl<E: Engine> OutboxStore for E {
    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut conn = write_connection(self).await?;
        let rows = conn
            .fetch_all(E::CLAIM_MAIL, &[now.into(), lease_until.into()])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueuedMail {
                    id: row.uuid("id")?,
                    kind: row.text("kind")?,
                    recipient: row.text("recipient")?,
                    subject: row.text("subject")?,
                    body_text: row.text("body_text")?,
                    body_html: row.text("body_html")?,
                    attempts: row.int("attempts")?,
                })
            })
            .collect()
    }

    async fn mail_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut conn = write_connection(self).await?;
        conn.execute(SENT, &[id.into(), now.into()]).await?;
        Ok(())
    }

    async fn mail_retry(
        &self,
        id: Uuid,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut conn = write_connection(self).await?;
        conn.execute(RETRY, &[id.into(), retry_at.into(), error.into()])
            .await?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut conn = write_connection(self).await?;
        conn.execute(FAILED, &[id.into(), now.into(), error.into()])
            .await?;
        Ok(())
    }

    async fn outbox_depth(&self) -> Result<i64, StoreError> {
        let row = connection(self).await?.fetch_optional(DEPTH, &[]).await?;
        row.map_or(Ok(0), |row| row.count("n"))
    }

    async fn purge_mail(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut conn = write_connection(self).await?;
        let purged = conn.execute(PURGE, &[before.into()]).await?;
        if let Some(scrub) = E::SCRUB_ERASED {
            conn.execute(scrub, &[]).await?;
        }
        Ok(purged)
    }
}
