//! Second factors: the TOTP factor, recovery codes and logins waiting for a second
//! factor (tickets). Every change to a factor is one transaction with its audit event,
//! and keeps `users.mfa_enabled` true exactly while a confirmed factor exists.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::outbox::NewMail;
use super::{CodeSession, StoreError};
use crate::audit::Event;
use crate::domain::Amr;
use crate::domain::User;

/// Answers a ticket survives; the next one finds it dead.
pub const MAX_MFA_ATTEMPTS: i32 = 5;
/// How long a login waits for its second factor.
pub const MFA_TICKET_LIFETIME: Duration = Duration::minutes(5);

/// A user's TOTP factor as stored.
#[derive(Debug)]
pub struct TotpFactor {
    /// The secret sealed with the factor key (see `mfa::FactorKey`).
    pub sealed_secret: Vec<u8>,
    pub confirmed: bool,
}

/// A password (or emailed-code) login that must still present a second factor.
#[derive(Debug, Clone)]
pub struct NewMfaTicket {
    /// SHA-256 of the `mfa_token`.
    pub token_hash: Vec<u8>,
    pub user_id: Uuid,
    /// What the first step proved.
    pub amr: Amr,
    pub created_at: OffsetDateTime,
}

/// A live ticket whose attempt was counted.
#[derive(Debug)]
pub struct MfaTicket {
    pub user_id: Uuid,
    pub amr: Amr,
}

/// What a second step presents, as the store checks it.
#[derive(Debug)]
pub enum SecondFactor {
    /// A TOTP code that matched `step` (accepted only above the last accepted step).
    Totp { step: i64 },
    /// The digest of a recovery code (accepted once).
    RecoveryCode { hash: Vec<u8> },
    /// A verified passkey assertion: the passkey, with its credential brought up to date.
    Passkey { id: Uuid, credential: String },
}

/// Everything finishing a login with its second factor writes, in one transaction.
#[derive(Debug)]
pub struct MfaFinish {
    pub ticket_hash: Vec<u8>,
    pub factor: SecondFactor,
    pub session: CodeSession,
    /// The whole login's methods, recorded on the session.
    pub amr: Amr,
    /// The login-throttle counters the success clears.
    pub throttle_keys: Vec<Vec<u8>>,
    pub now: OffsetDateTime,
    /// `login.succeeded`, completed with the session.
    pub event: Event,
    /// For a recovery code: the notice to the user, and its audit event.
    pub recovery_notice: Option<(NewMail, Event)>,
}

/// How finishing went.
#[derive(Debug)]
pub enum MfaFinished {
    /// The session is open.
    LoggedIn(User),
    /// The ticket expired, was used, or its user is gone or disabled.
    TicketGone,
    /// The code's step was already used, or the recovery code is unknown or used:
    /// nothing was written.
    Refused,
}

/// A TOTP factor confirmed with its first code, and the recovery codes that come with it.
#[derive(Debug)]
pub struct TotpConfirmation {
    pub user_id: Uuid,
    pub step: i64,
    pub recovery_hashes: Vec<Vec<u8>>,
    /// Every other session of the user ends.
    pub keep_session: Uuid,
    pub now: OffsetDateTime,
    pub event: Event,
}

#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Stores a pending TOTP factor (replacing a pending one); `false`, and nothing
    /// written, when the user already has a confirmed one.
    async fn begin_totp(
        &self,
        user_id: Uuid,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn totp_factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, StoreError>;
    /// Confirms the pending factor with the step of its first code: sets the recovery
    /// codes, marks the user's second factor and ends their other sessions. `false`
    /// (nothing written) when there is no pending factor or the step was used.
    async fn confirm_totp(&self, confirmation: &TotpConfirmation) -> Result<bool, StoreError>;
    /// Removes the confirmed factor and the recovery codes, if `step` is a new one.
    async fn remove_totp(
        &self,
        user_id: Uuid,
        step: i64,
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// Replaces the recovery codes, if `step` is a new one for the confirmed factor.
    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        step: i64,
        hashes: &[Vec<u8>],
        event: &Event,
    ) -> Result<bool, StoreError>;
    /// An admin's removal of every factor, with `notice` to the user: how many
    /// factors there were (`event` gets it as its `removed` detail).
    async fn remove_factors(
        &self,
        user_id: Uuid,
        notice: &NewMail,
        event: &Event,
    ) -> Result<u64, StoreError>;
    async fn create_mfa_ticket(&self, ticket: &NewMfaTicket) -> Result<(), StoreError>;
    /// The live ticket `token_hash`, without counting an attempt.
    async fn mfa_ticket(
        &self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<MfaTicket>, StoreError>;
    /// Which second factors the user has: a confirmed TOTP, passkeys.
    async fn factors(&self, user_id: Uuid) -> Result<(bool, bool), StoreError>;
    /// Counts an attempt on the live ticket `token_hash`: the ticket, or `None` when
    /// it is unknown, expired or out of attempts.
    async fn claim_mfa_attempt(
        &self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<MfaTicket>, StoreError>;
    /// Uses up the ticket and the factor and opens the session, all or nothing.
    async fn finish_mfa(&self, finish: &MfaFinish) -> Result<MfaFinished, StoreError>;
}
