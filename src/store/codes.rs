//! One-time codes (every emailed secret) and what redeeming one does, in the same
//! transaction as the redemption.

use async_trait::async_trait;
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::outbox::NewMail;
use super::{NewMfaTicket, NewUser, StoreError};
use crate::audit::Event;
use crate::domain::{NormalizedEmail, User};

/// What a code is for. A code of one purpose is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    SignIn,
    ChangeEmail,
    /// Sent after a reset by email to an account that still has second factors: its
    /// link removes them all (a squatter's, say).
    RemoveFactors,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::SignIn => "sign_in",
            Self::ChangeEmail => "change_email",
            Self::RemoveFactors => "remove_factors",
        }
    }

    /// How long a code of this purpose stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::ResetPassword => Duration::minutes(30),
            Self::SignIn => Duration::minutes(10),
            Self::ChangeEmail => Duration::hours(1),
            Self::RemoveFactors => Duration::hours(24),
        }
    }
}

/// Wrong codes a code survives; the next attempt fails whatever it presents.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Wrong codes a user and purpose survive over [`GUESS_WINDOW`], whatever new codes
/// are sent: then typed codes are refused until the window ends (links still work).
/// Four codes' worth of tries; NIST 800-63B §5.2.2 allows up to 100.
pub const MAX_DAILY_CODE_FAILURES: i32 = 20;

/// The window [`MAX_DAILY_CODE_FAILURES`] counts over, from its first failure.
pub const GUESS_WINDOW: Duration = Duration::DAY;

/// A code to store: only keyed hashes of its link token and 6-digit code.
#[derive(Debug)]
pub struct NewCode {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: Purpose,
    /// The normalized address it is sent to, where `{email, code}` is looked up.
    pub address: NormalizedEmail,
    pub token_hash: Vec<u8>,
    pub code_hash: Vec<u8>,
    /// The address an email change moves to, as typed.
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// How many messages of one kind an address may be sent: over either count, a send
/// is dropped without a word (the caller answers alike, so the limit is no oracle).
#[derive(Debug, Clone, Copy)]
pub struct SendLimit {
    pub per_minute: i64,
    pub per_hour: i64,
}

impl Default for SendLimit {
    fn default() -> Self {
        Self {
            per_minute: 1,
            per_hour: 5,
        }
    }
}

impl SendLimit {
    /// Whether one more message fits, given how many went out in the last minute
    /// and the last hour.
    pub fn allows(&self, last_minute: i64, last_hour: i64) -> bool {
        last_minute < self.per_minute && last_hour < self.per_hour
    }
}

/// The secret a client presents: the link token or the address with the code, each
/// already hashed as stored.
#[derive(Debug)]
pub enum Presented {
    Token {
        hash: Vec<u8>,
    },
    Code {
        address: NormalizedEmail,
        hash: Vec<u8>,
    },
}

/// A session opened without a password (a sign-in code, a second factor), with its
/// first refresh token.
#[derive(Debug)]
pub struct CodeSession {
    pub id: Uuid,
    pub expires_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub refresh_token_hash: Vec<u8>,
    pub refresh_expires_at: OffsetDateTime,
}

/// What a redeemed code does, committed with its consumption or not at all.
#[derive(Debug)]
pub enum Effect {
    /// Marks the address verified.
    VerifyEmail,
    /// Sets the password, ends every session, kills the user's other codes (an
    /// email change in progress too), marks the address verified and queues
    /// `notice` to it.
    ResetPassword {
        new_hash: SecretString,
        notice: NewMail,
    },
    /// Marks the address verified and, unless the account is disabled, opens
    /// `session`, or stores `ticket` instead when the user has a second factor.
    SignIn {
        session: CodeSession,
        ticket: NewMfaTicket,
    },
    /// Moves the account to the code's new address (verified), kills the user's other
    /// codes, and queues `notice` to the old address.
    ChangeEmail { notice: NewMail },
    /// Removes every second factor: TOTP, recovery codes, passkeys.
    RemoveFactors,
}

/// A code to redeem.
#[derive(Debug)]
pub struct Redemption {
    pub purpose: Purpose,
    pub presented: Presented,
    pub effect: Effect,
    pub now: OffsetDateTime,
    /// What to record once the code is used, completed with the code's user (and, for
    /// a sign-in, its session or why none was opened).
    pub event: Event,
}

/// A redeemed code: the user as the effect left them, and whether a session was
/// opened (a sign-in on a disabled account uses the code up and opens none).
#[derive(Debug)]
pub struct Redeemed {
    pub user: User,
    pub session_opened: bool,
    /// A sign-in whose user has a second factor: a ticket was stored instead.
    pub awaiting_second_factor: bool,
}

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Creates `user` with its first code and the message that carries it, in one
    /// transaction: an account never exists without its verification on its way.
    /// [`StoreError::EmailTaken`] as for [`UserStore::create_user`](super::UserStore).
    async fn create_user_with_code(
        &self,
        user: &NewUser,
        code: &NewCode,
        mail: &NewMail,
        event: &Event,
    ) -> Result<User, StoreError>;
    /// Queues `mail` (and stores `code`, deleting the user's older codes of its
    /// purpose) in one transaction, unless `limit` says the recipient has had enough
    /// messages of this kind: then nothing is written and the answer is `false`.
    /// `event`, if any, is recorded with them.
    async fn issue(
        &self,
        code: Option<&NewCode>,
        mail: &NewMail,
        limit: SendLimit,
        event: Option<&Event>,
    ) -> Result<bool, StoreError>;
    /// Consumes the presented code and applies its effect, in one transaction; of
    /// concurrent redemptions of one code exactly one succeeds. `None` for an unknown,
    /// wrong, expired, used or exhausted code; a wrong code counts an attempt.
    async fn redeem(&self, redemption: &Redemption) -> Result<Option<Redeemed>, StoreError>;
    /// Deletes expired codes; how many.
    async fn forget_expired_codes(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
