//! The audit trail's vocabulary: what happened ([`EventType`]), to whom, by whom
//! ([`Actor`]), from where ([`Origin`]) and how it ended ([`Outcome`]).
//!
//! The use cases build an [`Event`]; the store writes it in the transaction of the
//! change it records and, once that commits, writes it to the log as a structured line
//! (target `sesame::audit`). An event holds ids, names and reasons only: never a
//! password, token, code or hash, and no address typed by someone who has no account.
//!
//! Where a request came from is set once per request by the HTTP edge ([`within`]) and
//! read by [`Event::new`], so the use cases need not carry it through every call.

use std::future::Future;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Every kind of event, with its name in the API and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    SessionEnded,
    SessionReuseDetected,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
    EmailChanged,
    MfaEnrolled,
    MfaRemoved,
    MfaFailed,
    MfaRecoveryCodeUsed,
    PasskeyAdded,
    PasskeyRemoved,
    UserUpdated,
    UserDisabled,
    UserDeleted,
    KeyCreated,
    KeyRevoked,
}

impl EventType {
    pub const ALL: [Self; 22] = [
        Self::UserRegistered,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::SessionEnded,
        Self::SessionReuseDetected,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailVerified,
        Self::EmailChanged,
        Self::MfaEnrolled,
        Self::MfaRemoved,
        Self::MfaFailed,
        Self::MfaRecoveryCodeUsed,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::UserUpdated,
        Self::UserDisabled,
        Self::UserDeleted,
        Self::KeyCreated,
        Self::KeyRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserRegistered => "user.registered",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoginThrottled => "login.throttled",
            Self::SessionEnded => "session.ended",
            Self::SessionReuseDetected => "session.reuse_detected",
            Self::PasswordChanged => "password.changed",
            Self::PasswordResetRequested => "password.reset_requested",
            Self::PasswordReset => "password.reset",
            Self::EmailVerified => "email.verified",
            Self::EmailChanged => "email.changed",
            Self::MfaEnrolled => "mfa.enrolled",
            Self::MfaRemoved => "mfa.removed",
            Self::MfaFailed => "mfa.failed",
            Self::MfaRecoveryCodeUsed => "mfa.recovery_code_used",
            Self::PasskeyAdded => "passkey.added",
            Self::PasskeyRemoved => "passkey.removed",
            Self::UserUpdated => "user.updated",
            Self::UserDisabled => "user.disabled",
            Self::UserDeleted => "user.deleted",
            Self::KeyCreated => "key.created",
            Self::KeyRevoked => "key.revoked",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Who caused an event: the user themself, an admin (a user with the role `admin`), a
/// service with an API key, or Sesame itself (the command line, expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A user; `None` until the event names its subject, who is then its actor.
    User(Option<Uuid>),
    /// Someone who did not sign in (a forgotten-password request): stored as a user
    /// with no id, and never taken for the event's subject.
    Anonymous,
    Admin(Uuid),
    Key(Uuid),
    System,
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Self::User(_) | Self::Anonymous => "user",
            Self::Admin(_) => "admin",
            Self::Key(_) => "key",
            Self::System => "system",
        }
    }

    pub fn id(self) -> Option<Uuid> {
        match self {
            Self::User(id) => id,
            Self::Admin(id) | Self::Key(id) => Some(id),
            Self::System | Self::Anonymous => None,
        }
    }

    /// The actor a stored event names.
    pub fn from_parts(kind: &str, id: Option<Uuid>) -> Option<Self> {
        match (kind, id) {
            ("user", id) => Some(Self::User(id)),
            ("admin", Some(id)) => Some(Self::Admin(id)),
            ("key", Some(id)) => Some(Self::Key(id)),
            ("system", _) => Some(Self::System),
            _ => None,
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Runs `work` with `origin` as the origin of every event it records.
pub async fn within<F: Future>(origin: Origin, work: F) -> F::Output {
    ORIGIN.scope(origin, work).await
}

/// The origin of the request being served, for work that continues after its answer.
pub fn current_origin() -> Origin {
    ORIGIN.try_with(Origin::clone).unwrap_or_default()
}

/// One audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub kind: EventType,
    pub outcome: Outcome,
    pub actor: Actor,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub origin: Origin,
    pub details: Map<String, Value>,
}

impl Event {
    /// A successful event of `kind` at `at`, caused by an unknown user, from the
    /// current request's origin.
    pub fn new(kind: EventType, at: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            at,
            kind,
            outcome: Outcome::Success,
            actor: Actor::User(None),
            user_id: None,
            session_id: None,
            origin: current_origin(),
            details: Map::new(),
        }
    }

    /// The user the event is about; unless [`Event::by`] says otherwise, also the one
    /// who caused it.
    #[must_use]
    pub fn user(mut self, user_id: Uuid) -> Self {
        self.user_id = Some(user_id);
        if self.actor == Actor::User(None) {
            self.actor = Actor::User(Some(user_id));
        }
        self
    }

    #[must_use]
    pub fn session(mut self, session_id: Uuid) -> Self {
        self.session_id = Some(session_id);
        self
    }

    #[must_use]
    pub fn by(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    #[must_use]
    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }

    /// Adds a detail: a reason, a method, the names of changed fields. Never a secret.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The details as the store keeps them.
    pub fn details_json(&self) -> String {
        Value::Object(self.details.clone()).to_string()
    }

    /// Writes the event to the log, once it is stored.
    pub fn log(&self) {
        tracing::info!(
            target: "sesame::audit",
            event_id = %self.id,
            event = self.kind.as_str(),
            outcome = self.outcome.as_str(),
            actor = self.actor.kind(),
            actor_id = self.actor.id().map(tracing::field::display),
            user_id = self.user_id.map(tracing::field::display),
            session_id = self.session_id.map(tracing::field::display),
            ip = self.origin.ip.as_deref(),
            request_id = self.origin.request_id.as_deref(),
            details = %self.details_json(),
            "audit"
        );
    }
}

#[cfg(test)]
mod tests;
