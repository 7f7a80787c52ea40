//! [`AdminStore`] on any engine. Pages are keyset ranges of the primary key: ids are
//! UUIDv7, so a user created between two pages lands after the last one, and no user
//! is skipped or shown twice whatever is inserted or deleted meanwhile.

use async_trait::async_trait;
use const_format::concatcp;
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use uuid::Uuid;

use super::codes::DELETE_CODES;
use super::users::{roles_json, user_from_row};
use super::{Conn, End, Engine, Row, WriteTx, announce_sessions_ended, connection};
use crate::audit::Event;
use crate::domain::{EndReason, NormalizedEmail};
use crate::store::{AdminNewUser, AdminStore, AdminUser, StoreError, UserPatch, UserQuery};

/// Below this many characters a substring has no trigram, so no index can find it.
const SHORTEST_INDEXED: usize = 3;

/// The columns of an [`AdminUser`], for users `u` (`$1`: now, for the session count).
pub(super) const ADMIN_USER_COLUMNS: &str = "SELECT u.id, u.email, u.email_verified,
        u.disabled, u.created_at, u.roles, u.mfa_enabled, u.last_login_at, u.metadata,
        (SELECT count(*) FROM sessions s
         WHERE s.user_id = u.id AND s.ended_at IS NULL AND s.expires_at > $1) AS sessions ";
pub(crate) const SELECT_ADMIN_USERS: &str = concatcp!(ADMIN_USER_COLUMNS, "FROM users u ");
/// How many users, in id order from the cursor, a search looks through before it asks
/// the trigram index.
const NEARBY: usize = 5_000;
/// The users matching `$4` (a `LIKE` pattern) among the next [`NEARBY`] from the
/// cursor. When a page's worth match there, that is the page, found without the index:
/// a substring most addresses share (a common domain) is cheap this way and ruinous
/// through a trigram index, which must gather every match to sort them.
pub(super) const SEARCH_NEARBY: &str = concatcp!(
    ADMIN_USER_COLUMNS,
    "FROM (SELECT * FROM users WHERE id > $2 ORDER BY id LIMIT ",
    NEARBY,
    ") u WHERE u.email_normalized LIKE $4 ESCAPE '\\' ORDER BY u.id LIMIT $3"
);
pub(super) const PAGE: &str =
    concatcp!(SELECT_ADMIN_USERS, "WHERE u.id > $2 ORDER BY u.id LIMIT $3");
/// The same page of users whose email contains `$4` (a `LIKE` pattern): PostgreSQL
/// answers it from its trigram index; SQLite, for substrings too short for its own.
pub(crate) const SEARCH_LIKE: &str = concatcp!(
    SELECT_ADMIN_USERS,
    "WHERE u.email_normalized LIKE $4 ESCAPE '\\' AND u.id > $2 ORDER BY u.id LIMIT $3"
);
pub(super) const BY_ID: &str = concatcp!(SELECT_ADMIN_USERS, "WHERE u.id = $2");
/// SQLite's email search: `PAGE` of the users whose email matches the trigram phrase `$4`.
pub(crate) const SEARCH_FTS: &str = concatcp!(
    SELECT_ADMIN_USERS,
    "WHERE u.rowid IN (SELECT rowid FROM users_email_search WHERE users_email_search MATCH $4)
       AND u.id > $2 ORDER BY u.id LIMIT $3"
);

pub(super) const BY_EMAIL: &str = concatcp!(SELECT_ADMIN_USERS, "WHERE u.email_normalized = $2");
pub(super) const INSERT: &str = "INSERT INTO users
     (id, email, email_normalized, password_hash, created_at, updated_at, email_verified, roles)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7)";
pub(super) const UPDATE: &str = "UPDATE users SET
        email = COALESCE($2, email), email_normalized = COALESCE($3, email_normalized),
        email_verified = COALESCE($4, email_verified), disabled = COALESCE($5, disabled),
        roles = COALESCE($6, roles), metadata = COALESCE($7, metadata), updated_at = $8
     WHERE id = $1";
pub(super) const END_ALL: &str = "UPDATE sessions SET ended_at = $2, end_reason = $3
     WHERE user_id = $1 AND ended_at IS NULL";

/// A `LIKE` pattern matching any string that contains `text`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn admin_user_from_row(row: &impl Row) -> Result<AdminUser, StoreError> {
    let metadata = match serde_json::from_str(&row.text("metadata")?) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(StoreError::Corrupt("user metadata".to_owned())),
    };
    Ok(AdminUser {
        user: user_from_row(row)?,
        last_login_at: row.opt_time("last_login_at")?,
        sessions: row.count("sessions")?,
        metadata,
    })
}

#[async_trait]
impl<E: Engine> AdminStore for E {
    async fn list_users(&self, query: &UserQuery) -> Result<Vec<AdminUser>, StoreError> {
        let limit = i32::try_from(query.limit).unwrap_or(i32::MAX);
        let after = query.after.unwrap_or(Uuid::nil());
        let mut conn = connection(self).await?;
        let rows = match query.email_contains.as_deref() {
            None => {
                let args = [query.now.into(), after.into(), limit.into()];
                conn.fetch_all(PAGE, &args).await?
            }
            Some(text) => {
                let pattern = contains_pattern(text);
                let args = [
                    query.now.into(),
                    after.into(),
                    limit.into(),
                    pattern.as_str().into(),
                ];
                let nearby = conn.fetch_all(SEARCH_NEARBY, &args).await?;
                if nearby.len() == query.limit as usize {
                    nearby
                } else if text.chars().count() < SHORTEST_INDEXED {
                    conn.fetch_all(SEARCH_LIKE, &args).await?
                } else {
                    let (sql, needle) = E::email_search(text);
                    let args = [
                        query.now.into(),
                        after.into(),
                        limit.into(),
                        needle.as_str().into(),
                    ];
                    conn.fetch_all(sql, &args).await?
                }
            }
        };
        rows.iter().map(admin_user_from_row).collect()
    }

    async fn admin_user(
        &self,
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<AdminUser>, StoreError> {
        let mut conn = connection(self).await?;
        let row = conn
            .fetch_optional(BY_ID, &[now.into(), user_id.into()])
            .await?;
        row.map(|row| admin_user_from_row(&row)).transpose()
    }

    async fn admin_user_by_email(
        &self,
        email_normalized: &NormalizedEmail,
        now: OffsetDateTime,
    ) -> Result<Option<AdminUser>, StoreError> {
        let mut conn = connection(self).await?;
        let row = conn
            .fetch_optional(BY_EMAIL, &[now.into(), email_normalized.as_str().into()])
            .await?;
        row.map(|row| admin_user_from_row(&row)).transpose()
    }

    async fn admin_create_user(
        &self,
        user: &AdminNewUser,
        event: &Event,
    ) -> Result<(), StoreError> {
        let roles = roles_json(&user.roles);
        let new = &user.user;
        WriteTx::run(self, async |tx| {
            let args = [
                new.id.into(),
                new.email.as_str().into(),
                new.email_normalized.as_str().into(),
                new.password_hash.expose_secret().into(),
                new.created_at.into(),
                Some(user.email_verified).into(),
                roles.as_str().into(),
            ];
            tx.execute(INSERT, &args).await?;
            tx.record(event).await?;
            Ok(End::Commit(()))
        })
        .await
    }

    async fn update_user(
        &self,
        user_id: Uuid,
        patch: &UserPatch,
        now: OffsetDateTime,
        events: &[Event],
    ) -> Result<bool, StoreError> {
        let roles = patch.roles.as_deref().map(roles_json);
        let metadata = (patch.metadata.clone()).map(|m| serde_json::Value::Object(m).to_string());
        let (email, normalized) = match &patch.email {
            Some((email, normalized)) => (Some(email.as_str()), Some(normalized.as_str())),
            None => (None, None),
        };
        WriteTx::run(self, async |tx| {
            let args = [
                user_id.into(),
                email.into(),
                normalized.into(),
                patch.email_verified.into(),
                patch.disabled.into(),
                roles.as_deref().into(),
                metadata.as_deref().into(),
                now.into(),
            ];
            if tx.execute(UPDATE, &args).await? == 0 {
                return Ok(End::RollBack(false));
            }
            if patch.email.is_some() {
                // Codes sent to the old address must not act on the account any more.
                tx.execute(DELETE_CODES, &[user_id.into()]).await?;
            }
            if patch.disabled == Some(true) {
                let reason = EndReason::Disabled.as_str();
                let args = [user_id.into(), now.into(), reason.into()];
                tx.execute(END_ALL, &args).await?;
            }
            // Sessions ended, or the user that live ones show changed: every instance
            // drops what it cached of them.
            announce_sessions_ended::<E>(tx).await?;
            for event in events {
                tx.record(event).await?;
            }
            Ok(End::Commit(true))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn wildcards_in_the_searched_text_match_only_themselves() {
        assert_eq!(contains_pattern("ada"), "%ada%");
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
