//! The embedded default: one SQLite file in WAL mode with full fsync on commit.
//! Writing transactions begin `IMMEDIATE`: they take the write lock before their first
//! read, so concurrent rotations or throttle claims queue up instead of deciding on
//! stale reads (SQLite has no row locks).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection};

use super::StoreError;
use super::files::{self, Permissions};
use super::sql::{Changed, Engine, LOAD_REFRESH};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How often start-up steps that can race with another process are tried.
const STARTUP_ATTEMPTS: u64 = 5;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(
        url: &str,
        max_connections: u32,
        permissions: Permissions,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?;
        let file = options.get_filename().to_owned();
        // sqlx names an in-memory database `file:sqlx-in-memory-N`: no file to guard.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            files::prepare(&file, permissions)?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit that returned is on disk, even across a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // Two processes opening a new file at once race to switch it to WAL, and the
        // loser gets SQLITE_BUSY without waiting: try again, as for migrations.
        let mut attempt = 1;
        loop {
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .connect_with(options.clone())
                .await;
            match pool {
                Ok(pool) => {
                    if !in_memory {
                        files::narrow_companions(&file)?;
                    }
                    return Ok(Self { pool });
                }
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("5") && attempt < STARTUP_ATTEMPTS =>
                {
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[async_trait]
impl Engine for SqliteStore {
    type Conn = SqliteConnection;
    type Db = Sqlite;

    const LOAD_REFRESH_FOR_UPDATE: &'static str = LOAD_REFRESH;
    const LOAD_FAILURES_FOR_UPDATE: &'static str =
        "SELECT failures, last_failure_at FROM login_failures WHERE key = $1";

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // SQLite has no migration lock: two processes starting on a new file can both
        // try the first migration. Each migration is one transaction, so the loser
        // fails cleanly; on a retry it sees the winner's work recorded and goes on.
        let mut attempt = 1;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(_) if attempt < STARTUP_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Changed for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;
    use crate::store::{NewUser, Store, UserStore};

    fn user(id: Uuid, email: &str) -> NewUser {
        NewUser {
            id,
            email: email.to_owned(),
            email_normalized: email.to_owned(),
            password_hash: SecretString::from("$argon2id$stand-in"),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn only_the_email_constraint_means_email_taken() {
        let store = SqliteStore::connect("sqlite::memory:", 1, Permissions::Strict)
            .await
            .unwrap();
        Store::migrate(&store).await.unwrap();
        let id = Uuid::now_v7();
        store
            .create_user(&user(id, "ada@example.com"))
            .await
            .unwrap();
        let same_email = store
            .create_user(&user(Uuid::now_v7(), "ada@example.com"))
            .await;
        assert!(
            matches!(same_email, Err(StoreError::EmailTaken)),
            "{same_email:?}"
        );
        let same_id = store.create_user(&user(id, "bob@example.com")).await;
        assert!(
            matches!(same_id, Err(StoreError::Database(_))),
            "{same_id:?}"
        );
    }
}
