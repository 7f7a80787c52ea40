//! The embedded default: one SQLite file in WAL mode with full fsync on commit.
//! Writing transactions begin `IMMEDIATE`: they take the write lock before their first
//! read, so concurrent rotations or throttle claims queue up instead of deciding on
//! stale reads (SQLite has no row locks). Writes go through a pool of their own with
//! one connection, so within a process they wait in line for it rather than in
//! SQLite's busy handler (see `Engine::writer`); reads use the other pool and, in WAL
//! mode, never wait for a writer.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::files::{self, Permissions};
use super::group_commit::{MAX_GROUP, RotationJob, group_commits};
use const_format::concatcp;

use super::sql::{
    CLAIMED_COLUMNS, Changed, DUE_MAIL, Engine, HotQuery, LOAD_REFRESH, RotationRequest,
};
use super::{Rotation, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How often start-up steps that can race with another process are tried.
const STARTUP_ATTEMPTS: u64 = 5;

pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    rotations: mpsc::Sender<RotationJob>,
}

/// How long a request waits for a connection before it answers 503: well inside the
/// request timeout, so a client hears "unavailable", not a timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

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
            // Deleted content is overwritten, not left in free pages: an erased mail
            // body (with its code) cannot be read back from the file.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        // Two processes opening a new file at once race to switch it to WAL, and the
        // loser gets SQLITE_BUSY without waiting: try again, as for migrations.
        let mut attempt = 1;
        loop {
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
                .await;
            match pool {
                Ok(pool) => {
                    let writer = if in_memory {
                        // A second pool would open a second, empty database.
                        pool.clone()
                    } else {
                        files::narrow_companions(&file)?;
                        SqlitePoolOptions::new()
                            .max_connections(1)
                            .acquire_timeout(ACQUIRE_TIMEOUT)
                            .connect_with(options.clone())
                            .await?
                    };
                    let (rotations, queue) = mpsc::channel(4 * MAX_GROUP);
                    tokio::spawn(group_commits::<SqliteStore>(writer.clone(), queue));
                    return Ok(Self {
                        pool,
                        writer,
                        rotations,
                    });
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
    // `BEGIN IMMEDIATE` already holds the database's one write lock.
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // One writer at a time: a claim is never raced.
    const CLAIM_MAIL: &'static str = concatcp!(DUE_MAIL, ")", CLAIMED_COLUMNS);
    // With secure_delete an erased body is zeroed in the database file, but the
    // write-ahead log still holds the pages that carried it until it is emptied.
    const SCRUB_ERASED: Option<&'static str> = Some("PRAGMA wal_checkpoint(TRUNCATE)");
    // Instances sharing one SQLite file see an ended session within the session-check
    // window; SQLite has no way to tell other processes.
    const ANNOUNCE_SESSIONS_ENDED: Option<&'static str> = None;
    const PLAN_COLUMN: &'static str = "detail";
    const PRICE_OUT_SCANS: Option<&'static str> = None;

    fn email_search(text: &str) -> (&'static str, String) {
        // A quoted FTS5 phrase: every character literal, matched as a substring.
        (
            super::sql::SEARCH_FTS,
            format!("\"{}\"", text.replace('"', "\"\"")),
        )
    }

    fn explain(query: &HotQuery) -> &'static str {
        query.sqlite
    }

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn commit_rotation(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        let (reply, result) = oneshot::channel();
        // Either end closes only if the group-commit task is gone, which it never is
        // while the store lives unless it panicked.
        let crashed = || StoreError::Unavailable(sqlx::Error::WorkerCrashed);
        self.rotations
            .send((request, reply))
            .await
            .map_err(|_| crashed())?;
        result.await.map_err(|_| crashed())?
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
#[path = "sqlite_tests.rs"]
mod tests;
