//! What can go wrong in the store, in terms the layers above can act on.

/// The PostgreSQL name of the unique constraint on `users.email_normalized`; SQLite
/// names the column instead (`UNIQUE constraint failed: users.email_normalized`).
const EMAIL_CONSTRAINT: &str = "users_email_normalized_key";
const EMAIL_COLUMN: &str = "users.email_normalized";
/// The same for the unique name of a live API key.
const KEY_NAME_CONSTRAINT: &str = "api_keys_live_name";
const KEY_NAME_COLUMN: &str = "api_keys.name";
/// The same for a passkey's credential id, unique across users.
const PASSKEY_CONSTRAINT: &str = "passkeys_credential_id_key";
const PASSKEY_COLUMN: &str = "passkeys.credential_id";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("a live API key already has this name")]
    KeyNameTaken,
    #[error("this passkey is already registered")]
    PasskeyTaken,
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A file the store keeps is readable by others, or cannot be made private.
    #[error("{0}")]
    Permissions(String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    /// The password hash a login verified is no longer the user's: the password was
    /// changed (or the user deleted) while the login checked it.
    #[error("the credential changed during the login")]
    CredentialChanged,
    /// A row that the transaction itself wrote or locked is not there.
    #[error("inconsistent store: {0}")]
    Inconsistent(&'static str),
    /// A stored value that cannot be read back (a JSON column that is not what
    /// Sesame writes).
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    /// Connection-level failures (the database is down or unreachable, or its file
    /// cannot be written: a full disk, a read-only file) become
    /// [`StoreError::Unavailable`], which the HTTP layer answers with 503; a unique
    /// violation of the email constraint is [`StoreError::EmailTaken`]; anything else
    /// is an error in a query.
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err),
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources,
            // such as too many connections) and 57P (operator intervention: shutdown,
            // terminated backend).
            sqlx::Error::Database(db)
                if db.code().is_some_and(|code| {
                    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
                }) =>
            {
                Self::Unavailable(err)
            }
            sqlx::Error::Database(db)
                if db
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some_and(is_sqlite_outage) =>
            {
                Self::Unavailable(err)
            }
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    && (db.constraint() == Some(EMAIL_CONSTRAINT)
                        || db.message().contains(EMAIL_COLUMN)) =>
            {
                Self::EmailTaken
            }
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    && (db.constraint() == Some(KEY_NAME_CONSTRAINT)
                        || db.message().contains(KEY_NAME_COLUMN)) =>
            {
                Self::KeyNameTaken
            }
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    && (db.constraint() == Some(PASSKEY_CONSTRAINT)
                        || db.message().contains(PASSKEY_COLUMN)) =>
            {
                Self::PasskeyTaken
            }
            _ => Self::Database(err),
        }
    }
}

/// SQLite's primary result codes for a file that cannot be used right now, whatever
/// the query: BUSY (5, past the busy timeout), READONLY (8), IOERR (10), FULL (13) and
/// CANTOPEN (14). The extended codes carry the primary one in their low byte.
fn is_sqlite_outage(err: &sqlx::sqlite::SqliteError) -> bool {
    use sqlx::error::DatabaseError;
    err.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 8 | 10 | 13 | 14))
}
