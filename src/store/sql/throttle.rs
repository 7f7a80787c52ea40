//! [`ThrottleStore`] on any engine. Claiming an attempt makes sure the key's row exists,
//! then loads it under the engine's lock ([`Engine::LOAD_FAILURES_FOR_UPDATE`]), so
//! concurrent attempts on one key, from any number of instances, each decide on the
//! count the previous one left.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::WriteTx;
use super::{Conn, End, Engine, Row, write_connection};
use crate::store::{Attempt, LoginThrottle, StoreError, ThrottleStore};

// A new key starts at zero failures: its first attempt is allowed whatever the time.
pub(super) const CREATE: &str = "INSERT INTO login_failures (key, failures, last_failure_at)
     VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING";
pub(super) const COUNT: &str =
    "UPDATE login_failures SET failures = $2, last_failure_at = $3 WHERE key = $1";
pub(super) const CLEAR: &str = "DELETE FROM login_failures WHERE key = $1";
pub(super) const RELEASE: &str =
    "UPDATE login_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0";
pub(super) const KNOWN: &str = "SELECT last_success_at FROM login_sources WHERE key = $1";
pub(super) const FORGET_SOURCES: &str = "DELETE FROM login_sources WHERE last_success_at < $1";
// On SQLite a text comparison of sqlx's fixed UTC format: exact to the second, enough.
pub(super) const FORGET: &str = "DELETE FROM login_failures WHERE last_failure_at < $1";

#[async_trait]
impl<E: Engine> ThrottleStore for E {
    async fn claim_login_attempt(
        &self,
        key: &[u8],
        source: Option<&[u8]>,
        now: OffsetDateTime,
        policy: LoginThrottle,
    ) -> Result<Attempt, StoreError> {
        WriteTx::run(self, async |tx| {
            let mut key = key;
            if let Some(source) = source {
                let row = tx.fetch_optional(KNOWN, &[source.into()]).await?;
                let last_success = row.map(|row| row.time("last_success_at")).transpose()?;
                if LoginThrottle::is_known(last_success, now) {
                    key = source;
                }
            }
            // A success elsewhere may delete the row between the insert that found it
            // and the locking read (PostgreSQL reads each statement afresh): then the
            // insert, tried again, makes a new one.
            let mut row = None;
            for _ in 0..3 {
                tx.execute(CREATE, &[key.into(), now.into()]).await?;
                row = tx
                    .fetch_optional(E::LOAD_FAILURES_FOR_UPDATE, &[key.into()])
                    .await?;
                if row.is_some() {
                    break;
                }
            }
            let row = row.ok_or(StoreError::Inconsistent(
                "the throttle row vanished in its transaction",
            ))?;
            let failures = u32::try_from(row.int("failures")?).unwrap_or(0);
            let last = row.time("last_failure_at")?;
            let failures = match policy.decide(failures, last, now) {
                Ok(failures) => failures,
                // Refused: nothing to count.
                Err(refused) => return Ok(End::RollBack(refused)),
            };
            let failures = i32::try_from(failures).unwrap_or(i32::MAX);
            tx.execute(COUNT, &[key.into(), failures.into(), now.into()])
                .await?;
            Ok(End::Commit(Attempt::Allowed))
        })
        .await
    }

    async fn release_login_attempt(
        &self,
        key: &[u8],
        source: Option<&[u8]>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut conn = write_connection(self).await?;
        let mut key = key;
        // The counter the claim chose: the source's own when it is a known one.
        if let Some(source) = source {
            let row = conn.fetch_optional(KNOWN, &[source.into()]).await?;
            let last_success = row.map(|row| row.time("last_success_at")).transpose()?;
            if LoginThrottle::is_known(last_success, now) {
                key = source;
            }
        }
        conn.execute(RELEASE, &[key.into()]).await?;
        Ok(())
    }

    async fn clear_login_failures(&self, key: &[u8]) -> Result<(), StoreError> {
        write_connection(self)
            .await?
            .execute(CLEAR, &[key.into()])
            .await?;
        Ok(())
    }

    async fn forget_login_failures(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let mut conn = write_connection(self).await?;
        let sources = before + LoginThrottle::FORGET_AFTER - LoginThrottle::KNOWN_SOURCE_FOR;
        conn.execute(FORGET_SOURCES, &[sources.into()]).await?;
        conn.execute(FORGET, &[before.into()]).await
    }
}
