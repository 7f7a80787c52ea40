//! Every statement the store sends, by name: what `Store::unpreparable` prepares on
//! the engine at hand, so a misspelled column or table fails `cargo test` on both
//! engines rather than the one request that runs it.

use super::{Conn, Engine, connection};
use super::{
    admin, api_keys, audit, code_guesses, codes, keys, mfa, mfa_finish, outbox, passkeys, rotate,
    sessions, throttle, users,
};
use crate::store::StoreError;

macro_rules! statements {
    ($($module:ident::$name:ident,)*) => {
        /// Each statement of `sql/`, named `module::NAME`.
        const SHARED: &[(&str, &str)] = &[
            $((concat!(stringify!($module), "::", stringify!($name)), $module::$name),)*
        ];
    };
}

statements! {
    admin::SEARCH_NEARBY,
    admin::PAGE,
    admin::BY_ID,
    admin::BY_EMAIL,
    admin::INSERT,
    admin::UPDATE,
    admin::END_ALL,
    api_keys::INSERT,
    api_keys::LIVE,
    api_keys::STAMP,
    api_keys::LIST,
    api_keys::REVOKE,
    audit::INSERT,
    audit::BY_USER,
    audit::BY_TYPE,
    audit::ALL,
    audit::EXPIRE,
    code_guesses::COUNT_WRONG,
    code_guesses::COUNT_GUESS,
    code_guesses::CLEAR_GUESSES,
    code_guesses::FORGET_GUESSES,
    codes::SENT_SINCE,
    codes::KILL_OLDER,
    codes::INSERT,
    codes::CONSUME_TOKEN,
    codes::CONSUME_CODE,
    codes::VERIFY,
    codes::RESET,
    codes::END_ALL,
    codes::MOVE_EMAIL,
    codes::DELETE_CODES,
    codes::FORGET_EXPIRED,
    keys::SIGNING_KEYS,
    keys::INSERT_KEY,
    keys::SEAL_KEY,
    keys::DELETE_KEY,
    keys::DELETE_SEALED_KEYS,
    keys::SECRET_IF_NONE,
    keys::SECRET,
    keys::REPLACE_SECRET,
    keys::SEALED_SECRETS,
    keys::SEALED_USERS,
    mfa::BEGIN_TOTP,
    mfa::TOTP_FACTOR,
    mfa::CONFIRM_TOTP,
    mfa::DELETE_RECOVERY_CODES,
    mfa::INSERT_RECOVERY_CODE,
    mfa::DELETE_TOTP,
    mfa::DELETE_TICKETS,
    mfa::DELETE_PASSKEYS,
    mfa::INSERT_TICKET,
    mfa::CLAIM_ATTEMPT,
    mfa::PEEK_TICKET,
    mfa::FACTORS,
    mfa::FORGET_TICKETS,
    mfa_finish::USE_STEP,
    mfa_finish::USE_RECOVERY_CODE,
    mfa_finish::TAKE_TICKET,
    outbox::INSERT,
    outbox::INSERT_TO_USER,
    outbox::SENT,
    outbox::RETRY,
    outbox::FAILED,
    outbox::DEPTH,
    outbox::PURGE,
    passkeys::PUT_CHALLENGE,
    passkeys::TAKE_CHALLENGE,
    passkeys::FORGET_CHALLENGES,
    passkeys::BY_USER,
    passkeys::BY_CREDENTIAL,
    passkeys::INSERT,
    passkeys::DELETE,
    passkeys::USED,
    rotate::MARK_USED,
    rotate::CHILD_EXPIRY,
    rotate::TOUCH,
    sessions::LOAD_REFRESH,
    sessions::INSERT_SESSION,
    sessions::INSERT_REFRESH,
    sessions::STAMP_LOGIN,
    sessions::STAMP_LOGIN_TIME,
    sessions::REHASH,
    sessions::CLEAR_FAILURES,
    sessions::REMEMBER_SOURCE,
    sessions::END,
    sessions::SESSION_USER,
    sessions::LIST,
    sessions::END_ONE,
    sessions::END_ALL,
    sessions::COUNT_ACTIVE,
    throttle::CREATE,
    throttle::COUNT,
    throttle::CLEAR,
    throttle::RELEASE,
    throttle::KNOWN,
    throttle::FORGET_SOURCES,
    throttle::FORGET,
    users::RECOMPUTE_MFA,
    users::INSERT,
    users::INSERT_UNLESS_TAKEN,
    users::CREDENTIALS_BY_EMAIL,
    users::USER,
    users::PASSWORD_HASH,
    users::SET_PASSWORD,
    users::END_OTHER_SESSIONS,
    users::EXPORT,
    users::DELETE,
}

/// Constants that are parts of statements, not statements: checked inside the
/// statements built from them (and the email searches through [`Engine::email_search`]).
#[cfg(test)]
const PARTS: &[&str] = &[
    "admin::ADMIN_USER_COLUMNS",
    "admin::SEARCH_FTS",
    "admin::SEARCH_LIKE",
    "admin::SELECT_ADMIN_USERS",
    "outbox::CLAIMED_COLUMNS",
    "outbox::DUE_MAIL",
    "passkeys::COLUMNS",
];

/// Every statement `engine` would send, with the name it is known by.
fn all<E: Engine>() -> Vec<(&'static str, &'static str)> {
    let mut all = SHARED.to_vec();
    all.extend([
        (
            "Engine::LOAD_REFRESH_FOR_UPDATE",
            E::LOAD_REFRESH_FOR_UPDATE,
        ),
        (
            "Engine::LOAD_FAILURES_FOR_UPDATE",
            E::LOAD_FAILURES_FOR_UPDATE,
        ),
        ("Engine::LOCK_USER", E::LOCK_USER),
        ("Engine::BEGIN_WRITE", E::BEGIN_WRITE),
        ("Engine::CLAIM_MAIL", E::CLAIM_MAIL),
        ("Engine::email_search", E::email_search("ada").0),
    ]);
    let optional = [
        ("Engine::SCRUB_ERASED", E::SCRUB_ERASED),
        (
            "Engine::ANNOUNCE_SESSIONS_ENDED",
            E::ANNOUNCE_SESSIONS_ENDED,
        ),
        ("Engine::PRICE_OUT_SCANS", E::PRICE_OUT_SCANS),
    ];
    all.extend(
        optional
            .into_iter()
            .filter_map(|(name, sql)| Some((name, sql?))),
    );
    all
}

/// The statements `engine` refuses to prepare, each with the engine's reason.
pub(super) async fn unpreparable<E: Engine>(
    engine: &E,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut conn = connection(engine).await?;
    let mut refused = Vec::new();
    for (name, sql) in all::<E>() {
        if let Err(e) = conn.prepare(sql).await {
            refused.push((name, e.to_string()));
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement added to a file of `sql/` without a line above would go unchecked.
    #[test]
    fn every_statement_constant_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/sql");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_string_lossy().into_owned();
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let Some(rest) = line.split("const ").nth(1) else {
                    continue;
                };
                let Some((name, kind)) = rest.split_once(": ") else {
                    continue;
                };
                if !kind.starts_with("&str") && !kind.starts_with("&'static str") {
                    continue;
                }
                // A definition, not a comment, and not the `Engine` trait's declarations.
                if !line.contains('=')
                    || line.trim_start().starts_with("//")
                    || module == "statements"
                {
                    continue;
                }
                let named = format!("{module}::{name}");
                assert!(
                    SHARED.iter().any(|(n, _)| *n == named) || PARTS.contains(&named.as_str()),
                    "{named} is in neither SHARED nor PARTS of statements.rs"
                );
            }
        }
    }
}
