//! A writing transaction begun and ended with plain statements, whose connection is
//! closed rather than pooled whenever its end is in doubt.
//!
//! Why not `sqlx::Transaction`? When a statement fails in a way that makes SQLite roll
//! the transaction back itself (a full disk, an I/O error), sqlx's own `ROLLBACK`
//! fails too and its bookkeeping still counts a transaction open, and the connection
//! goes back to the pool that way: the next writer to take it is refused ("begin_with
//! at non-zero transaction depth", a 500) until the pool happens to replace it. Here a
//! transaction that did not end with a `COMMIT` or `ROLLBACK` that succeeded, or that
//! was dropped half-way (a cancelled request), takes its connection with it.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;

use super::audit::insert_event;
use super::{Conn, Engine};
use crate::audit::Event;
use crate::store::StoreError;

pub(crate) struct WriteTx<E: Engine + ?Sized> {
    conn: PoolConnection<E::Db>,
    /// Until a `COMMIT` or `ROLLBACK` has succeeded.
    open: bool,
    /// Audit events written in this transaction, logged once it commits.
    recorded: Vec<Event>,
}

impl<E: Engine + ?Sized> WriteTx<E> {
    /// A connection from `pool`, inside a writing transaction.
    async fn on(pool: &sqlx::Pool<E::Db>) -> Result<Self, StoreError> {
        // Counted open before `BEGIN` is sent: a request cancelled while it runs (a
        // client that went away) must not hand the pool a connection inside a
        // transaction, where the next writer's `BEGIN` fails ("cannot start a
        // transaction within a transaction", a 500 seen under bench/run).
        let mut tx = Self {
            conn: pool.acquire().await?,
            open: true,
            recorded: Vec::new(),
        };
        tx.conn.execute(E::BEGIN_WRITE, &[]).await?;
        Ok(tx)
    }

    /// Writes `event` in this transaction; it goes to the log if the transaction
    /// commits, and nowhere if it does not.
    pub(crate) async fn record(&mut self, event: &Event) -> Result<(), StoreError> {
        insert_event(&mut *self.conn, event).await?;
        self.recorded.push(event.clone());
        Ok(())
    }

    /// Runs `work` in a writing transaction on `engine`'s writers: commits when it
    /// answers [`End::Commit`], rolls back on [`End::RollBack`] or an error, and
    /// answers its value or error. The one way the store writes.
    pub(crate) async fn run<T>(
        engine: &E,
        work: impl AsyncFnOnce(&mut Self) -> Result<End<T>, StoreError>,
    ) -> Result<T, StoreError> {
        Self::run_on(engine.writer(), work).await
    }

    /// [`Self::run`] on a connection from `pool`.
    pub(crate) async fn run_on<T>(
        pool: &sqlx::Pool<E::Db>,
        work: impl AsyncFnOnce(&mut Self) -> Result<End<T>, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = Self::on(pool).await?;
        let outcome = work(&mut tx).await;
        tx.settle(outcome).await
    }

    /// Ends the transaction as `outcome` says, and answers its value or error.
    async fn settle<T>(mut self, outcome: Result<End<T>, StoreError>) -> Result<T, StoreError> {
        let (value, end) = match outcome {
            Ok(End::Commit(value)) => (Ok(value), "COMMIT"),
            Ok(End::RollBack(value)) => (Ok(value), "ROLLBACK"),
            Err(e) => (Err(e), "ROLLBACK"),
        };
        let ended = self.conn.execute(end, &[]).await;
        self.open = ended.is_err();
        match (value, ended) {
            // The error that ended the transaction is the one worth reporting.
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(e),
            (Ok(value), Ok(_)) => {
                if end == "COMMIT" {
                    self.recorded.iter().for_each(Event::log);
                }
                Ok(value)
            }
        }
    }
}

/// How a transaction's work ends: what it keeps, or what it answers having kept
/// nothing (a compare-and-set that found the row changed, say).
pub(crate) enum End<T> {
    Commit(T),
    RollBack(T),
}

impl<E: Engine + ?Sized> Deref for WriteTx<E> {
    type Target = E::Conn;

    fn deref(&self) -> &E::Conn {
        &self.conn
    }
}

impl<E: Engine + ?Sized> DerefMut for WriteTx<E> {
    fn deref_mut(&mut self) -> &mut E::Conn {
        &mut self.conn
    }
}

impl<E: Engine + ?Sized> Drop for WriteTx<E> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}
