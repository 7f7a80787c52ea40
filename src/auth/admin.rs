//! The admin use cases: who may call them ([`Auth::authenticate_admin`]), users and
//! the audit trail (API keys are in `api_keys.rs`). Every change names its [`Actor`]
//! on the events it records.

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::admin_update::valid_roles;
use super::{Auth, Error, normalize_email};
use crate::audit::{Actor, Event, EventType};
use crate::domain::EndReason;
use crate::mail::Kind;
use crate::password::{ImportedHash, validate_new};
use crate::store::{AdminNewUser, AdminUser, AuditQuery, NewUser, Purpose, UserQuery};
use crate::tokens::{API_KEY_PREFIX, TokenError, api_key_digest};

/// The role that opens the admin API.
pub const ADMIN_ROLE: &str = "admin";

/// Writes a refused call of the admin API to the audit log stream (ASVS 5.0 V16.3.2),
/// with the request's id and address from its span; the audit table keeps changes.
fn denied(reason: &'static str, user: Option<Uuid>) {
    tracing::warn!(
        target: "sesame::audit",
        event = "admin.denied",
        outcome = "failure",
        reason,
        user_id = user.map(|id| id.to_string()),
        "admin API call refused"
    );
}

/// The stored hash of an account that has no password yet (created by an admin with
/// none): no password verifies against it, since it is no hash at all.
pub const NO_PASSWORD: &str = "!";

/// How an admin creates a user.
#[derive(Debug, Default)]
pub struct NewAccount {
    pub email: String,
    pub password: Option<SecretString>,
    /// A bcrypt or Argon2 PHC hash, kept as it is and upgraded at the first login.
    pub password_hash: Option<SecretString>,
    pub email_verified: bool,
    pub roles: Vec<String>,
}

impl Auth {
    /// The caller of an admin endpoint: an API key (`ssk_…`) that is live now, or an
    /// access token whose session is live and whose user has the role `admin` now.
    /// Both are checked against the store on every call, never from a cache, so a
    /// revoked key, a disabled admin or a role taken away stop working at once on
    /// every instance.
    pub async fn authenticate_admin(&self, token: &str) -> Result<Actor, Error> {
        let now = self.clock.now();
        if token.starts_with(API_KEY_PREFIX) {
            let digest = api_key_digest(token);
            return match self.store.use_api_key(&digest, now).await? {
                Some(id) => Ok(Actor::Key(id)),
                None => {
                    denied("unknown_or_revoked_key", None);
                    Err(Error::InvalidToken(TokenError::Invalid))
                }
            };
        }
        let claims = self.verified_claims(token, now).inspect_err(|_| {
            denied("invalid_token", None);
        })?;
        let Some(user) = self
            .store
            .active_session_user(claims.sid, claims.sub, now)
            .await?
        else {
            denied("session_ended", Some(claims.sub));
            return Err(Error::InvalidToken(TokenError::Invalid));
        };
        if !user.roles.iter().any(|role| role == ADMIN_ROLE) {
            denied("not_an_admin", Some(user.id));
            return Err(Error::Forbidden);
        }
        Ok(Actor::Admin(user.id))
    }

    /// A page of users in creation order after `after`, whose email contains `search`
    /// (case-insensitively) if given.
    pub async fn list_users(
        &self,
        search: Option<&str>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AdminUser>, Error> {
        // No stored address holds a control character, and SQLite's full-text query
        // syntax cannot quote a NUL: such a search matches nobody, without asking.
        if search.is_some_and(|text| text.chars().any(char::is_control)) {
            return Ok(Vec::new());
        }
        let query = UserQuery {
            email_contains: search.map(str::to_lowercase),
            after,
            limit,
            now: self.clock.now(),
        };
        Ok(self.store.list_users(&query).await?)
    }

    pub async fn admin_user(&self, user_id: Uuid) -> Result<AdminUser, Error> {
        let now = self.clock.now();
        self.store
            .admin_user(user_id, now)
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// The user with this email, for the command line.
    pub async fn admin_user_by_email(&self, email: &str) -> Result<AdminUser, Error> {
        let (_, normalized) = normalize_email(email).map_err(|_| Error::UserNotFound)?;
        let now = self.clock.now();
        self.store
            .admin_user_by_email(&normalized, now)
            .await?
            .ok_or(Error::UserNotFound)
    }

    /// Creates a user with a password, an imported hash, or neither: then the user is
    /// invited by a password-reset mail.
    pub async fn admin_create_user(
        &self,
        by: Actor,
        account: NewAccount,
    ) -> Result<AdminUser, Error> {
        let (email, email_normalized) = normalize_email(&account.email)?;
        let roles = valid_roles(account.roles)?;
        let (password_hash, invite) = match (account.password, account.password_hash) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "password_hash",
                    "Give a password or a password_hash, not both.",
                ));
            }
            (Some(password), None) => {
                let password = validate_new(&password, &email)?;
                (self.hasher.hash(password, None).await?, false)
            }
            (None, Some(hash)) => {
                let hash = ImportedHash::parse(hash.expose_secret()).map_err(|reason| {
                    Error::invalid("password_hash", format!("Not an accepted hash: {reason}."))
                })?;
                (hash.into_secret(), false)
            }
            (None, None) => (SecretString::from(NO_PASSWORD), true),
        };
        let user = NewUser {
            id: Uuid::now_v7(),
            email,
            email_normalized,
            password_hash,
            created_at: self.clock.now(),
        };
        let event = Event::new(EventType::UserRegistered, user.created_at)
            .by(by)
            .user(user.id)
            .detail("invited", invite);
        let new = AdminNewUser {
            user,
            email_verified: account.email_verified,
            roles,
        };
        self.store.admin_create_user(&new, &event).await?;
        let created = self.admin_user(new.user.id).await?;
        if invite {
            let purpose = Purpose::ResetPassword;
            self.send_code_by(&created.user, purpose, None, by).await?;
        }
        Ok(created)
    }

    pub async fn admin_delete_user(&self, by: Actor, user_id: Uuid) -> Result<(), Error> {
        let event = Event::new(EventType::UserDeleted, self.clock.now())
            .by(by)
            .user(user_id);
        if !self.store.delete_user(user_id, &event).await? {
            return Err(Error::UserNotFound);
        }
        self.cache.forget_sessions();
        Ok(())
    }

    /// Ends every session of the user.
    pub async fn admin_logout(&self, by: Actor, user_id: Uuid) -> Result<(), Error> {
        self.admin_user(user_id).await?;
        let (now, reason) = (self.clock.now(), EndReason::AdminLogout);
        let event = Event::new(EventType::SessionEnded, now)
            .by(by)
            .user(user_id)
            .detail("reason", reason.as_str());
        self.store
            .end_sessions(user_id, None, now, reason, &event)
            .await?;
        self.cache.forget_sessions();
        Ok(())
    }

    /// Mails the user a password-reset code (within the per-recipient send limit).
    pub async fn admin_password_reset(&self, by: Actor, user_id: Uuid) -> Result<(), Error> {
        let user = self.admin_user(user_id).await?.user;
        self.send_code_by(&user, Purpose::ResetPassword, None, by)
            .await
    }

    /// Removes every second factor of the user (a lost phone), and tells them by mail.
    pub async fn remove_factors(&self, by: Actor, user_id: Uuid) -> Result<(), Error> {
        self.admin_user(user_id).await?;
        let event = Event::new(EventType::MfaRemoved, self.clock.now())
            .by(by)
            .user(user_id);
        let notice = self.notice(Kind::FactorsRemoved)?;
        if self.store.remove_factors(user_id, &notice, &event).await? > 0 {
            self.email.wake.notify_one();
            self.cache.forget_sessions();
        }
        Ok(())
    }

    pub async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<Event>, Error> {
        Ok(self.store.audit_events(query).await?)
    }
}
