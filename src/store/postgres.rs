//! PostgreSQL: the backend for running several instances against one database. Writing
//! transactions lock the rows they decide on (`FOR UPDATE`), so concurrent rotations or
//! throttle claims, from any number of instances, queue up behind each other.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use const_format::concatcp;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::sql::{Arg, Conn, Engine, LOAD_REFRESH, Row};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

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

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // sqlx takes an advisory lock: instances starting together apply each once.
        Ok(MIGRATOR.run(&self.pool).await?)
    }
}

type Query<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind<'q>(sql: &'static str, args: &[Arg<'q>]) -> Query<'q> {
    args.iter().fold(sqlx::query(sql), |query, arg| match *arg {
        Arg::Uuid(v) => query.bind(v),
        Arg::OptUuid(v) => query.bind(v),
        Arg::Time(v) => query.bind(v),
        Arg::Text(v) => query.bind(v),
        Arg::OptText(v) => query.bind(v),
        Arg::Bytes(v) => query.bind(v),
        Arg::OptBytes(v) => query.bind(v),
        Arg::Int(v) => query.bind(v),
    })
}

#[async_trait]
impl Conn for PgConnection {
    type Row = PgRow;

    async fn execute(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        Ok(bind(sql, args).execute(self).await?.rows_affected())
    }

    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Option<PgRow>, StoreError> {
        Ok(bind(sql, args).fetch_optional(self).await?)
    }

    async fn fetch_all(
        &mut self,
        sql: &'static str,
        args: &[Arg<'_>],
    ) -> Result<Vec<PgRow>, StoreError> {
        Ok(bind(sql, args).fetch_all(self).await?)
    }
}

impl Row for PgRow {
    fn uuid(&self, column: &str) -> Result<Uuid, StoreError> {
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
}
