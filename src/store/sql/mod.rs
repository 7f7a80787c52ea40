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
mod sessions;
mod throttle;
mod users;
mod write_tx;

pub(crate) use admin::{SEARCH_LIKE, SELECT_ADMIN_USERS, contains_pattern};
pub(crate) use outbox::{CLAIMED_COLUMNS, DUE_MAIL};
pub(crate) use plans::HotQuery;
pub use plans::QueryPlan;
pub(crate) use sessions::{LOAD_REFRESH, RotationRequest, rotate_in};
pub(crate) use write_tx::WriteTx;

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Rotation, SessionEnds, StoreError};

/// A value bound to a numbered parameter. Each engine encodes it as its schema expects
/// (a UUID is a `UUID` in PostgreSQL and a 16-byte `BLOB` in SQLite).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Time(OffsetDateTime),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bytes(&'a [u8]),
    OptBytes(Option<&'a [u8]>),
    Int(i32),
    Long(i64),
    OptFlag(Option<bool>),
}

impl From<Uuid> for Arg<'_> {
    fn from(value: Uuid) -> Self {
        Self::Uuid(value)
    }
}

impl From<Option<Uuid>> for Arg<'_> {
    fn from(value: Option<Uuid>) -> Self {
        Self::OptUuid(value)
    }
}

impl From<OffsetDateTime> for Arg<'_> {
    fn from(value: OffsetDateTime) -> Self {
        Self::Time(value)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::OptText(value)
    }
}

impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(value: &'a [u8]) -> Self {
        Self::Bytes(value)
    }
}

impl<'a> From<Option<&'a [u8]>> for Arg<'a> {
    fn from(value: Option<&'a [u8]>) -> Self {
        Self::OptBytes(value)
    }
}

impl From<Option<bool>> for Arg<'_> {
    fn from(value: Option<bool>) -> Self {
        Self::OptFlag(value)
    }
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Self::Long(value)
    }
}

impl From<i32> for Arg<'_> {
    fn from(value: i32) -> Self {
        Self::Int(value)
    }
}

/// A result row, read by column name.
pub(crate) trait Row: Send {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError>;
    fn time(&self, column: &str) -> Result<OffsetDateTime, StoreError>;
    fn opt_time(&self, column: &str) -> Result<Option<OffsetDateTime>, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn int(&self, column: &str) -> Result<i32, StoreError>;
    fn count(&self, column: &str) -> Result<i64, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
}

/// One connection (pooled, or inside a transaction) of an engine.
#[async_trait]
pub(crate) trait Conn: Send {
    type Row: Row;
    /// Runs a statement; the number of rows it changed.
    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError>;
    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<Self::Row>, StoreError>;
    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<Self::Row>, StoreError>;
}

/// How many rows a statement changed: each engine's result type says it alike, but
/// under no common trait.
pub(crate) trait Changed {
    fn rows(&self) -> u64;
}

/// A Rust type that engine `DB` binds as a parameter. (A bound on a helper trait like
/// this one carries its supertraits along, where a bare `Encode + Type` bound would
/// have to be repeated at every use.)
pub(crate) trait Encodes<DB: Database>: for<'q> Encode<'q, DB> + Type<DB> {}
impl<T, DB: Database> Encodes<DB> for T where T: for<'q> Encode<'q, DB> + Type<DB> {}

/// A Rust type that engine `DB` reads from a column.
pub(crate) trait Decodes<DB: Database>: for<'r> Decode<'r, DB> + Type<DB> {}
impl<T, DB: Database> Decodes<DB> for T where T: for<'r> Decode<'r, DB> + Type<DB> {}

/// A statement with its arguments bound, each as engine `DB` encodes its type.
fn bind<'q, DB>(sql: &'static str, args: &[Arg<'q>]) -> Query<'q, DB, DB::Arguments>
where
    DB: Database,
    Uuid: Encodes<DB>,
    Option<Uuid>: Encodes<DB>,
    OffsetDateTime: Encodes<DB>,
    String: Encodes<DB>,
    Option<String>: Encodes<DB>,
    Vec<u8>: Encodes<DB>,
    Option<Vec<u8>>: Encodes<DB>,
    i32: Encodes<DB>,
    i64: Encodes<DB>,
    Option<bool>: Encodes<DB>,
{
    args.iter().fold(sqlx::query(sql), |query, arg| match *arg {
        Arg::Uuid(v) => query.bind(v),
        Arg::OptUuid(v) => query.bind(v),
        Arg::Time(v) => query.bind(v),
        // Owned copies: sqlx binds borrowed text and bytes under lifetime bounds that
        // generic code cannot state; the copies are a few short strings per statement.
        Arg::Text(v) => query.bind(v.to_owned()),
        Arg::OptText(v) => query.bind(v.map(str::to_owned)),
        Arg::Bytes(v) => query.bind(v.to_vec()),
        Arg::OptBytes(v) => query.bind(v.map(<[u8]>::to_vec)),
        Arg::Int(v) => query.bind(v),
        Arg::Long(v) => query.bind(v),
        Arg::OptFlag(v) => query.bind(v),
    })
}

#[async_trait]
impl<C> Conn for C
where
    C: sqlx::Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::Row: Row,
    <C::Database as Database>::QueryResult: Changed,
    Uuid: Encodes<C::Database>,
    Option<Uuid>: Encodes<C::Database>,
    OffsetDateTime: Encodes<C::Database>,
    String: Encodes<C::Database>,
    Option<String>: Encodes<C::Database>,
    Vec<u8>: Encodes<C::Database>,
    Option<Vec<u8>>: Encodes<C::Database>,
    i32: Encodes<C::Database>,
    i64: Encodes<C::Database>,
    Option<bool>: Encodes<C::Database>,
{
    type Row = <C::Database as Database>::Row;

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let done = bind::<C::Database>(sql, args).execute(self).await?;
        Ok(done.rows())
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<Self::Row>, StoreError> {
        Ok(bind::<C::Database>(sql, args).fetch_optional(self).await?)
    }

    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<Self::Row>, StoreError> {
        Ok(bind::<C::Database>(sql, args).fetch_all(self).await?)
    }
}

impl<R> Row for R
where
    R: sqlx::Row,
    for<'c> &'c str: ColumnIndex<R>,
    Uuid: Decodes<R::Database>,
    OffsetDateTime: Decodes<R::Database>,
    String: Decodes<R::Database>,
    bool: Decodes<R::Database>,
    i32: Decodes<R::Database>,
    i64: Decodes<R::Database>,
    Vec<u8>: Decodes<R::Database>,
{
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn time(&self, column: &str) -> Result<OffsetDateTime, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_time(&self, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> Result<i32, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn count(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

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
        let mut tx = WriteTx::begin(self).await?;
        let outcome = rotate_in::<Self>(&mut tx, &request).await;
        tx.settle(outcome.map(|rotation| (rotation, true))).await
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

    async fn scrub(&self) -> Result<(), StoreError> {
        if let Some(scrub) = E::SCRUB_ERASED {
            write_connection(self).await?.execute(scrub, &[]).await?;
        }
        Ok(())
    }
}
