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
use const_format::concatcp;

use super::sql::{
    CLAIMED_COLUMNS, Changed, DUE_MAIL, Engine, HotQuery, LOAD_REFRESH, RotationRequest,
    SELECT_ADMIN_USERS, WriteTx, rotate_in,
};
use super::{Rotation, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How often start-up steps that can race with another process are tried.
const STARTUP_ATTEMPTS: u64 = 5;

/// The most rotations one commit takes: a burst's worth, while one transaction stays
/// short.
const MAX_GROUP: usize = 256;

/// A rotation waiting for the writer, and where its result goes.
type RotationJob = (
    RotationRequest,
    oneshot::Sender<Result<Rotation, StoreError>>,
);

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
                    tokio::spawn(group_commits(writer.clone(), queue));
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

/// `admin::PAGE` of the users whose email matches the trigram phrase `$4`.
pub(crate) const SEARCH_EMAIL: &str = concatcp!(
    SELECT_ADMIN_USERS,
    "WHERE u.rowid IN (SELECT rowid FROM users_email_search WHERE users_email_search MATCH $4)
       AND u.id > $2 ORDER BY u.id LIMIT $3"
);

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
        (SEARCH_EMAIL, format!("\"{}\"", text.replace('"', "\"\"")))
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

/// Commits concurrent rotations together. SQLite takes one writer at a time and each
/// commit waits for the disk (`synchronous=FULL`), so the rotations that queued while
/// the last commit was flushing run in one transaction, in the order they came, and
/// share one flush. Each caller still hears only after that commit: nothing is
/// acknowledged before it is on disk. Should a statement or the commit fail, the group
/// is rolled back and each rotation runs again on its own, so that one request's
/// failure is never another's. Ends when the store is dropped.
async fn group_commits(writer: SqlitePool, mut queue: mpsc::Receiver<RotationJob>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let requests: Vec<&RotationRequest> = group.iter().map(|(request, _)| request).collect();
        match commit_together(&writer, &requests).await {
            Ok(rotations) => {
                for ((_, reply), rotation) in group.drain(..).zip(rotations) {
                    // A caller that went away (its client hung up) needs no answer.
                    let _ = reply.send(Ok(rotation));
                }
            }
            Err(_) => {
                for (request, reply) in group.drain(..) {
                    let result = commit_together(&writer, &[&request]).await;
                    let _ = reply.send(result.map(|mut rotations| rotations.remove(0)));
                }
            }
        }
    }
}

/// Runs `requests` in order in one writing transaction and commits it.
async fn commit_together(
    writer: &SqlitePool,
    requests: &[&RotationRequest],
) -> Result<Vec<Rotation>, StoreError> {
    let mut tx = WriteTx::<SqliteStore>::on(writer).await?;
    let outcome = async {
        let mut rotations = Vec::with_capacity(requests.len());
        for request in requests {
            rotations.push(rotate_in::<SqliteStore>(&mut tx, request).await?);
        }
        Ok((rotations, true))
    }
    .await;
    tx.settle(outcome).await
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
    use crate::audit::{Event, EventType};
    use crate::store::{
        NewRefreshToken, NewSession, NewUser, RotationPolicy, SessionStore, Store, UserStore,
    };

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
            .create_user(&user(id, "ada@example.com"), &event())
            .await
            .unwrap();
        let same_email = store
            .create_user(&user(Uuid::now_v7(), "ada@example.com"), &event())
            .await;
        assert!(
            matches!(same_email, Err(StoreError::EmailTaken)),
            "{same_email:?}"
        );
        let same_id = store
            .create_user(&user(id, "bob@example.com"), &event())
            .await;
        assert!(
            matches!(same_id, Err(StoreError::Database(_))),
            "{same_id:?}"
        );
    }

    fn event() -> Event {
        Event::new(EventType::UserRegistered, OffsetDateTime::now_utc())
    }

    fn digest(n: u32) -> Vec<u8> {
        let mut digest = vec![0u8; 32];
        digest[..4].copy_from_slice(&n.to_be_bytes());
        digest
    }

    /// Rotations that arrive together are committed together; one of them failing
    /// (here: its new token collides with a stored one) must cost the others nothing,
    /// and must leave nothing of its own behind.
    #[tokio::test]
    async fn a_failing_rotation_does_not_take_its_group_down() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let store = SqliteStore::connect(&url, 4, Permissions::Strict)
            .await
            .unwrap();
        Store::migrate(&store).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let id = Uuid::now_v7();
        let mut ada = user(id, "ada@example.com");
        ada.created_at = now;
        store.create_user(&ada, &event()).await.unwrap();
        let sessions = 20;
        for n in 0..sessions {
            let session = NewSession {
                id: Uuid::now_v7(),
                user_id: id,
                created_at: now,
                expires_at: now + time::Duration::days(30),
                user_agent: None,
                ip: None,
                refresh_token_hash: digest(n),
                refresh_expires_at: now + time::Duration::days(30),
                verified_hash: ada.password_hash.clone(),
                rehash: None,
                throttle_key: vec![1],
                source_key: None,
                amr: crate::mfa::Amr::of(crate::mfa::Amr::PWD),
            };
            store.record_login(&session, &event()).await.unwrap();
        }
        let policy = RotationPolicy {
            idle_timeout: time::Duration::days(30),
            grace: time::Duration::seconds(10),
        };
        let next = |n: u32| NewRefreshToken {
            hash: digest(n),
            expires_at: now + time::Duration::days(30),
        };
        // Session 0's new token would be session 1's current one: a primary-key clash.
        let clash = next(1);
        let rotations = (0..sessions).map(|n| {
            let replacement = if n == 0 {
                clash.clone()
            } else {
                next(1000 + n)
            };
            let presented = digest(n);
            let store = &store;
            async move {
                store
                    .rotate_refresh_token(&presented, &replacement, now, policy)
                    .await
            }
        });
        let results = futures::future::join_all(rotations).await;

        assert!(
            matches!(results[0], Err(StoreError::Database(_))),
            "{:?}",
            results[0]
        );
        for result in &results[1..] {
            assert!(matches!(result, Ok(Rotation::Rotated { .. })), "{result:?}");
        }
        // Session 0's token was not marked used by the failed attempt: it rotates as a
        // first use, not as a replay.
        let retried = store
            .rotate_refresh_token(&digest(0), &next(999), now, policy)
            .await;
        assert!(
            matches!(retried, Ok(Rotation::Rotated { .. })),
            "{retried:?}"
        );
        // The others' new tokens were committed: each rotates in turn.
        for n in 1..sessions {
            let again = store
                .rotate_refresh_token(&digest(1000 + n), &next(2000 + n), now, policy)
                .await;
            assert!(matches!(again, Ok(Rotation::Rotated { .. })), "{again:?}");
        }
    }
}
