//! The store's durable-commit ceiling, for `bench/run`: single-row transactions
//! committed per second, one after another on one connection, with the settings
//! Sesame's store uses (SQLite: WAL, `synchronous=FULL`; PostgreSQL: the server's own,
//! fsync on). Each commit waits for the disk, so this is what a write that must be
//! durable costs on this machine, the figure `POST /refresh` is compared against.
//! Usage: commit_rate sqlite://FILE|postgres://URL SECONDS

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};

const TABLE: &str =
    "CREATE TABLE IF NOT EXISTS commit_rate_probe (id BIGINT PRIMARY KEY, at BIGINT NOT NULL)";
const INSERT: &str = "INSERT INTO commit_rate_probe (id, at) VALUES ($1, $2)";
const DROP: &str = "DROP TABLE IF EXISTS commit_rate_probe";

/// Commits one-row transactions for `duration`, returning how many per second.
async fn commit_rate<C>(conn: &mut C, duration: Duration) -> anyhow::Result<f64>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> i64: sqlx::Encode<'q, C::Database> + sqlx::Type<C::Database>,
    for<'q> <C::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<C::Database>,
{
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed() < duration {
        let mut tx = conn.begin().await?;
        let id = i64::try_from(count)?;
        sqlx::query(INSERT)
            .bind(id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        count += 1;
    }
    #[allow(clippy::cast_precision_loss)] // a count of commits fits an f64
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "sqlite://commit-rate.db".to_owned());
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let duration = Duration::from_secs_f64(seconds);
    let rate = if url.starts_with("postgres") {
        let mut conn = PgConnection::connect(&url).await?;
        // A probe table left by a run that was stopped halfway.
        conn.execute(DROP).await?;
        conn.execute(TABLE).await?;
        let rate = commit_rate(&mut conn, duration).await?;
        conn.execute(DROP).await?;
        rate
    } else {
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        conn.execute(TABLE).await?;
        let rate = commit_rate(&mut conn, duration).await?;
        conn.execute(DROP).await?;
        rate
    };
    println!("{rate:.1}");
    Ok(())
}
