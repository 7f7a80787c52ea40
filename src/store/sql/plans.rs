//! The plans of the queries on the request paths, as the database would run them: a
//! test holds that none scans a table, and `bench/run` prints them at a million users.
//! The locking variants (`FOR UPDATE` on PostgreSQL) are shown without the lock
//! clause: it adds a `LockRows` step on top and changes no access path.

use const_format::concatcp;
use time::OffsetDateTime;
use uuid::Uuid;

use super::outbox::{CLAIMED_COLUMNS, DUE_MAIL};
use super::{Arg, Conn, Engine, Row, connection};
use super::{
    LOAD_REFRESH, admin, api_keys, audit, code_guesses, codes, mfa, mfa_finish, outbox, rotate,
    sessions, throttle, users,
};
use crate::store::StoreError;

/// One query's plan, a line per step.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// What the query serves.
    pub name: &'static str,
    pub steps: Vec<String>,
}

/// A query with its `EXPLAIN` in each dialect and sample arguments of the right types
/// (PostgreSQL plans for the types it is given).
pub(crate) struct HotQuery {
    name: &'static str,
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
    args: fn() -> Vec<Arg<'static>>,
}

macro_rules! hot {
    ($($name:literal: $sql:expr => $args:expr;)*) => {
        &[$(HotQuery {
            name: $name,
            sqlite: concatcp!("EXPLAIN QUERY PLAN ", $sql),
            postgres: concatcp!("EXPLAIN ", $sql),
            args: $args,
        }),*]
    };
}

fn id() -> Arg<'static> {
    Uuid::nil().into()
}

fn at() -> Arg<'static> {
    OffsetDateTime::UNIX_EPOCH.into()
}

static DIGEST: [u8; 32] = [0; 32];

fn digest() -> Arg<'static> {
    DIGEST.as_slice().into()
}

const HOT: &[HotQuery] = hot! {
    "login: the account by email": users::CREDENTIALS_BY_EMAIL => || vec!["ada@example.com".into()];
    "login: stamp the user (compare-and-set on the hash)": sessions::STAMP_LOGIN => || vec![id(), at(), "h".into()];
    "login: store a rehash": sessions::REHASH => || vec![id(), "h".into(), at()];
    "login: clear the throttle's count": sessions::CLEAR_FAILURES => || vec![digest()];
    "login throttle: is this a known source": throttle::KNOWN => || vec![digest()];
    "login throttle: the failure count": throttle::COUNT => || vec![digest(), 1.into(), at()];
    "bearer check: the session and its user": sessions::SESSION_USER => || vec![id(), id()];
    "refresh: the token with its session and user": LOAD_REFRESH => || vec![digest()];
    "refresh: mark the token used": rotate::MARK_USED => || vec![digest(), at()];
    "refresh: a replay's child token": rotate::CHILD_EXPIRY => || vec![digest(), digest()];
    "refresh: touch the session": rotate::TOUCH => || vec![id(), at()];
    "refresh: end the session (reuse, expiry)": sessions::END => || vec![id(), at(), "r".into()];
    "sessions: list the user's": sessions::LIST => || vec![id()];
    "logout: end one session": sessions::END_ONE => || vec![id(), id(), at(), "r".into()];
    "logout everywhere: end the others": sessions::END_ALL => || vec![id(), Some(Uuid::nil()).into(), at(), "r".into()];
    "password change: the stored hash": users::PASSWORD_HASH => || vec![id()];
    "password change: set the hash": users::SET_PASSWORD => || vec![id(), "h".into(), at()];
    "password change: end the other sessions": users::END_OTHER_SESSIONS => || vec![id(), id(), at(), "r".into()];
    "account deletion": users::DELETE => || vec![id()];
    "codes: messages sent to a recipient lately": codes::SENT_SINCE => || vec![digest(), at()];
    "codes: kill the user's older code": codes::KILL_OLDER => || vec![id(), "p".into()];
    "codes: redeem a link token": codes::CONSUME_TOKEN => || vec![digest(), "p".into(), at()];
    "codes: redeem a code": codes::CONSUME_CODE => || vec!["p".into(), "ada@example.com".into(), digest(), at(), 5.into(), 20.into(), at()];
    "codes: count a wrong guess for the day": code_guesses::COUNT_GUESS => || vec!["p".into(), "ada@example.com".into(), at(), at()];
    "codes: clear the day's wrong guesses": code_guesses::CLEAR_GUESSES => || vec![id(), "p".into()];
    "cleanup: old wrong-guess counts": code_guesses::FORGET_GUESSES => || vec![at()];
    "codes: count a wrong code": code_guesses::COUNT_WRONG => || vec!["p".into(), "ada@example.com".into()];
    "codes: the user's other codes": codes::DELETE_CODES => || vec![id()];
    "outbox: claim due messages": concatcp!(DUE_MAIL, ")", CLAIMED_COLUMNS) => || vec![at(), at()];
    "outbox: record a delivery": outbox::SENT => || vec![id(), at()];
    "outbox: the queue's depth": outbox::DEPTH => Vec::new;
    "cleanup: delivered messages": outbox::PURGE => || vec![at()];
    "cleanup: expired codes": codes::FORGET_EXPIRED => || vec![at()];
    "cleanup: old failure counts": throttle::FORGET => || vec![at()];
    "cleanup: old known sources": throttle::FORGET_SOURCES => || vec![at()];
    "admin: a page of users": admin::PAGE => || vec![at(), id(), 50.into()];
    "admin: a user by id": admin::BY_ID => || vec![at(), id()];
    "admin: search the users next in line": admin::SEARCH_NEARBY => || vec![at(), id(), 50.into(), "%ada%".into()];
    "admin: an API key by digest": api_keys::LIVE => || vec![digest()];
    "audit: a user's events": audit::BY_USER => || vec![Some(Uuid::nil()).into(), "".into(), at(), at(), id(), 50.into()];
    "audit: events of a type": audit::BY_TYPE => || vec![None::<Uuid>.into(), "login.failed".into(), at(), at(), id(), 50.into()];
    "audit: every event": audit::ALL => || vec![None::<Uuid>.into(), "".into(), at(), at(), id(), 50.into()];
    "cleanup: expired audit events": audit::EXPIRE => || vec![at(), 1_000.into()];
    "mfa: count an answer on the ticket": mfa::CLAIM_ATTEMPT => || vec![digest(), at(), 5.into()];
    "mfa: take the ticket": mfa_finish::TAKE_TICKET => || vec![digest(), at()];
    "mfa: accept a TOTP step once": mfa_finish::USE_STEP => || vec![id(), 1i64.into()];
    "mfa: use a recovery code": mfa_finish::USE_RECOVERY_CODE => || vec![id(), digest(), at()];
    "cleanup: expired mfa tickets": mfa::FORGET_TICKETS => || vec![at()];
};

/// Email search: its text and its `$4` differ between the engines (an FTS5 phrase on
/// SQLite, a `LIKE` pattern on PostgreSQL), each served by its own trigram index.
const SEARCH: HotQuery = HotQuery {
    name: "admin: search users by part of the email",
    sqlite: concatcp!("EXPLAIN QUERY PLAN ", admin::SEARCH_FTS),
    postgres: concatcp!("EXPLAIN ", admin::SEARCH_LIKE),
    args: Vec::new,
};

/// The plan of every hot query. With `price_out_scans`, an engine that would pick a
/// full scan because a table is small (PostgreSQL) is told to avoid one where it can,
/// which shows whether an index serves the query whatever the table's size.
pub(crate) async fn hot_query_plans<E: Engine>(
    engine: &E,
    price_out_scans: bool,
) -> Result<Vec<QueryPlan>, StoreError> {
    let mut conn = connection(engine).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if price_out_scans && let Some(setting) = E::PRICE_OUT_SCANS {
        tx.execute(setting, &[]).await?;
    }
    let mut plans = Vec::with_capacity(HOT.len() + 1);
    let (_, needle) = E::email_search("ada");
    let search_args = vec![at(), id(), 50.into(), needle.as_str().into()];
    let queries = HOT
        .iter()
        .map(|query| (query, (query.args)()))
        .chain([(&SEARCH, search_args)]);
    for (query, args) in queries {
        let rows = tx.fetch_all(E::explain(query), &args).await?;
        let steps = rows
            .iter()
            .map(|row| row.text(E::PLAN_COLUMN))
            .collect::<Result<_, _>>()?;
        plans.push(QueryPlan {
            name: query.name,
            steps,
        });
    }
    // Nothing was written; the setting goes with the transaction.
    tx.rollback().await?;
    Ok(plans)
}
