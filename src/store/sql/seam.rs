//! The seam between the shared SQL and each engine: values go in as [`Arg`]s and come
//! back through [`Row`], and [`Conn`] runs a statement on any engine's connection, so
//! no generic code needs sqlx's per-type trait bounds (see `mod.rs`).

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

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
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;
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
    /// Has the engine parse and plan a statement without running it: an unknown
    /// table or column is an error here.
    async fn prepare(&mut self, sql: &'static str) -> Result<(), StoreError>;
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

    async fn prepare(&mut self, sql: &'static str) -> Result<(), StoreError> {
        Executor::prepare(self, sqlx::SqlSafeStr::into_sql_str(sql)).await?;
        Ok(())
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
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(column)?)
    }
}
