//! The login throttle's counters on PostgreSQL. Claiming an attempt locks the key's row
//! (`FOR UPDATE`, after making sure it exists), so concurrent attempts on one key, from
//! any number of instances, each decide on the count the previous one left.

use sqlx::Row;
use time::OffsetDateTime;

use super::PostgresStore;
use crate::store::{Attempt, LoginThrottle, StoreError};

fn db(e: sqlx::Error) -> StoreError {
    StoreError::from_sqlx(e)
}

impl PostgresStore {
    pub(super) async fn claim_attempt(
        &self,
        key: &[u8],
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // A new key starts at zero failures, long ago: the first attempt is allowed.
        sqlx::query(
            "INSERT INTO login_failures (key, failures, last_failure_at)
             VALUES ($1, 0, '-infinity') ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let row = sqlx::query(
            "SELECT failures, last_failure_at FROM login_failures WHERE key = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let failures: i32 = row.try_get("failures").map_err(db)?;
        let failures = u32::try_from(failures).unwrap_or(0);
        let failures = if failures == 0 {
            1
        } else {
            let last: OffsetDateTime = row.try_get("last_failure_at").map_err(db)?;
            match policy.decide(failures, last, now) {
                Ok(failures) => failures,
                Err(refused) => return Ok(refused),
            }
        };
        sqlx::query("UPDATE login_failures SET failures = $2, last_failure_at = $3 WHERE key = $1")
            .bind(key)
            .bind(i32::try_from(failures).unwrap_or(i32::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Attempt::Allowed)
    }

    pub(super) async fn forget_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_failures WHERE last_failure_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
