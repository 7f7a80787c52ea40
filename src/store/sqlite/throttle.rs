//! The login throttle's counters on SQLite. Claiming an attempt runs in a
//! `BEGIN IMMEDIATE` transaction, so concurrent attempts on one key queue up behind the
//! write lock and each decides on the count the previous one left.

use sqlx::Row;
use time::OffsetDateTime;

use super::SqliteStore;
use crate::store::{Attempt, LoginThrottle, StoreError};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

impl SqliteStore {
    pub(super) async fn claim_attempt(
        &self,
        key: &[u8],
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let row = sqlx::query("SELECT failures, last_failure_at FROM login_failures WHERE key = ?")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        let failures = match row {
            Some(row) => {
                let failures: u32 = row.try_get("failures").map_err(db)?;
                let last: OffsetDateTime = row.try_get("last_failure_at").map_err(db)?;
                match policy.decide(failures, last, now) {
                    Ok(failures) => failures,
                    Err(refused) => return Ok(refused),
                }
            }
            None => 1,
        };
        sqlx::query(
            "INSERT INTO login_failures (key, failures, last_failure_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE
             SET failures = excluded.failures, last_failure_at = excluded.last_failure_at",
        )
        .bind(key)
        .bind(failures)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Attempt::Allowed)
    }

    pub(super) async fn forget_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        // Text comparison of sqlx's fixed UTC format: exact to the second, enough here.
        let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
