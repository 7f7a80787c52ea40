//! PostgreSQL: the backend for running several instances against one database. Writing
//! transactions lock the rows they decide on (`FOR UPDATE`), so concurrent rotations or
//! throttle claims, from any number of instances, queue up behind each other.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use const_format::concatcp;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use super::sql::{CLAIMED_COLUMNS, Changed, DUE_MAIL, Engine, HotQuery, LOAD_REFRESH};
use super::{SessionEnds, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Where transactions that end sessions announce it.
const CHANNEL: &str = "sesame_sessions_ended";

struct Listener(PgListener);

#[async_trait]
impl SessionEnds for Listener {
    async fn next(&mut self) -> Result<(), StoreError> {
        // `None`: the connection was lost, and notices with it; the next call
        // reconnects. A spurious notice is the safe answer.
        self.0.try_recv().await?;
        Ok(())
    }
}

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::UnsupportedUrl(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            // A request waits this long for a connection before answering 503.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Engine for PostgresStore {
    type Conn = PgConnection;
    type Db = Postgres;

    const LOAD_REFRESH_FOR_UPDATE: &'static str = concatcp!(LOAD_REFRESH, " FOR UPDATE OF t, s");
    const LOAD_FAILURES_FOR_UPDATE: &'static str =
        "SELECT failures, last_failure_at FROM login_failures WHERE key = $1 FOR UPDATE";
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1 FOR UPDATE";
    const BEGIN_WRITE: &'static str = "BEGIN";
    // SKIP LOCKED: instances polling at once each take different messages.
    const CLAIM_MAIL: &'static str =
        concatcp!(DUE_MAIL, " FOR UPDATE SKIP LOCKED)", CLAIMED_COLUMNS);
    // Dead tuples wait for VACUUM; PostgreSQL has no per-statement scrub.
    const SCRUB_ERASED: Option<&'static str> = None;
    // Delivered at commit, to every listening instance (and not at all on rollback).
    const ANNOUNCE_SESSIONS_ENDED: Option<&'static str> = Some(concatcp!("NOTIFY ", CHANNEL));
    const PLAN_COLUMN: &'static str = "QUERY PLAN";
    const PRICE_OUT_SCANS: Option<&'static str> = Some("SET LOCAL enable_seqscan = off");

    fn email_search(text: &str) -> (&'static str, String) {
        // `LIKE '%text%'` is what the trigram index (`gin_trgm_ops`) answers.
        (super::sql::SEARCH_LIKE, super::sql::contains_pattern(text))
    }

    fn explain(query: &HotQuery) -> &'static str {
        query.postgres
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn watch_session_ends(&self) -> Result<Option<Box<dyn SessionEnds>>, StoreError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Box::new(Listener(listener))))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx takes an advisory lock: instances starting together apply each once.
        Ok(MIGRATOR.run(&self.pool).await?)
    }
}

impl Changed for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}
