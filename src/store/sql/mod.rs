//! The SQL both engines share, and the small seam that lets it be written once.
//!
//! Every query is a `&'static str` with numbered parameters (`$1`, `$2`, ...), which
//! SQLite and PostgreSQL both accept, so a query's text lives in exactly one place. The
//! code around it (load, decide, write) is written once too, against [`Engine`]: what a
//! backend supplies is its pool, how it begins a writing transaction, and the few
//! statements whose text truly differs between the engines (row locks). Values cross
//! the seam as [`Arg`]s and come back through [`Row`], so nothing here names an
//! engine's type and no generic code needs sqlx's per-type trait bounds.
//!
//! Why not one generic function per query over `sqlx::Database`? Each would carry a
//! dozen `Encode`/`Decode`/`Type` bounds that Rust does not let a trait imply, repeated
//! on every impl; the enum below says the same in one place, and a newcomer reads
//! `conn.execute(SQL, &[id.into(), now.into()])` as what it is.

mod admin;
mod api_keys;
mod audit;
mod code_guesses;
mod codes;
mod keys;
mod mfa;
mod mfa_finish;
mod outbox;
mod passkeys;
mod plans;
mod rotate;
mod seam;
mod sessions;
mod statements;
mod throttle;
mod users;
mod write_tx;

pub(crate) use admin::{SEARCH_FTS, SEARCH_LIKE, contains_pattern};
pub(crate) use outbox::{CLAIMED_COLUMNS, DUE_MAIL};
pub(crate) use plans::HotQuery;
pub use plans::QueryPlan;
pub(crate) use rotate::rotate_in;
pub(crate) use seam::{Arg, Changed, Conn, Row};
pub(crate) use sessions::{LOAD_REFRESH, RotationRequest};
pub(crate) use write_tx::{End, WriteTx};

use async_trait::async_trait;

use super::{Rotation, SessionEnds, StoreError};

/// What a backend supplies to the shared store code.
#[async_trait]
pub(crate) trait Engine: Send + Sync + 'static {
    type Conn: Conn + sqlx::Connection<Database = Self::Db>;
    type Db: sqlx::Database<Connection = Self::Conn>;

    /// Loads a refresh token with its session and user (columns as in
    /// `sessions::LOAD_REFRESH`), locking the token and session against concurrent
    /// rotations until the transaction ends.
    const LOAD_REFRESH_FOR_UPDATE: &'static str;
    /// Loads a throttle counter (`failures`, `last_failure_at`) by `key` ($1), locked
    /// until the transaction ends.
    const LOAD_FAILURES_FOR_UPDATE: &'static str;
    /// Reads a user's `id` by `id` ($1), locking the row until the transaction ends:
    /// what concurrent writers about one user take turns on.
    const LOCK_USER: &'static str;
    /// Claims due messages (`$1`: now) until `$2`, returning [`CLAIMED_COLUMNS`];
    /// concurrent workers must never claim the same message.
    const CLAIM_MAIL: &'static str;
    /// How a writing transaction begins (see `write_tx.rs`). A transaction that will
    /// write after reading must hold its locks from the first read on, so that
    /// concurrent ones decide in turn, never on stale reads.
    const BEGIN_WRITE: &'static str;
    /// A statement that makes erased data unrecoverable from the database's files,
    /// where deleting it is not enough.
    const SCRUB_ERASED: Option<&'static str>;
    /// A statement that, run in a transaction that ends sessions, tells every
    /// instance once it commits (see [`Engine::watch_session_ends`]).
    const ANNOUNCE_SESSIONS_ENDED: Option<&'static str>;
    /// The column of `EXPLAIN`'s rows that holds a step of the plan.
    const PLAN_COLUMN: &'static str;
    /// A statement that makes full scans the planner's last resort for the rest of
    /// the transaction, where the planner prefers them on small tables.
    const PRICE_OUT_SCANS: Option<&'static str>;

    /// The statement and its `$4` that find a page of users whose normalized email
    /// contains `text` (three characters or more) through the engine's trigram index;
    /// the other parameters are those of `admin::PAGE`.
    fn email_search(text: &str) -> (&'static str, String);

    /// The `EXPLAIN` of a hot query in this engine's dialect.
    fn explain(query: &HotQuery) -> &'static str;

    fn pool(&self) -> &sqlx::Pool<Self::Db>;

    /// Where writes go. SQLite takes one writer at a time: a writer that finds the
    /// lock taken sleeps in its busy handler, in steps up to 100 ms, so writes from a
    /// shared pool wait far longer than their turn. Its engine gives writes a pool of
    /// one connection, where they queue in order and each starts as the last commits.
    fn writer(&self) -> &sqlx::Pool<Self::Db> {
        self.pool()
    }

    /// Applies pending migrations; safe to run from several processes at once.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// The notices of [`Engine::ANNOUNCE_SESSIONS_ENDED`], where there are any.
    async fn watch_session_ends(&self) -> Result<Option<Box<dyn SessionEnds>>, StoreError> {
        Ok(None)
    }

    /// Runs a refresh-token rotation and commits it. By default each rotation is a
    /// transaction of its own; an engine whose writers take turns (SQLite) can instead
    /// commit concurrent rotations together, one disk flush for many.
    async fn commit_rotation(&self, request: RotationRequest) -> Result<Rotation, StoreError> {
        WriteTx::run(self, async |tx| {
            Ok(End::Commit(rotate_in::<Self>(tx, &request).await?))
        })
        .await
    }
}

/// Tells every instance, once `tx` commits, that sessions ended in it.
async fn announce_sessions_ended<E: Engine + ?Sized>(tx: &mut E::Conn) -> Result<(), StoreError> {
    if let Some(announce) = E::ANNOUNCE_SESSIONS_ENDED {
        tx.execute(announce, &[]).await?;
    }
    Ok(())
}

/// A pooled connection, for reads that need no transaction.
async fn connection<E: Engine>(
    engine: &E,
) -> Result<sqlx::pool::PoolConnection<E::Db>, StoreError> {
    Ok(engine.pool().acquire().await?)
}

/// A connection for writes that need no transaction.
async fn write_connection<E: Engine>(
    engine: &E,
) -> Result<sqlx::pool::PoolConnection<E::Db>, StoreError> {
    Ok(engine.writer().acquire().await?)
}

#[async_trait]
impl<E: Engine> super::Store for E {
    async fn migrate(&self) -> Result<(), StoreError> {
        Engine::migrate(self).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        connection(self).await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn query_plans(&self, price_out_scans: bool) -> Result<Vec<QueryPlan>, StoreError> {
        plans::hot_query_plans(self, price_out_scans).await
    }

    async fn unpreparable(&self) -> Result<Vec<(&'static str, String)>, StoreError> {
        statements::unpreparable(self).await
    }

    async fn scrub(&self) -> Result<(), StoreError> {
        if let Some(scrub) = E::SCRUB_ERASED {
            write_connection(self).await?.execute(scrub, &[]).await?;
        }
        Ok(())
    }
}
