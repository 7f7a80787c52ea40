//! [`CodeStore`] on any engine. A code is consumed by deleting its row: of concurrent
//! redemptions the database lets exactly one delete it, and only that one goes on to
//! the effect, in the same transaction.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use super::WriteTx;
use super::code_guesses::{CLEAR_GUESSES, FORGET_GUESSES, count_wrong};
use super::mfa::{FORGET_TICKETS, delete_factors, insert_ticket};
use super::outbox::queue_mail;
use super::passkeys::FORGET_CHALLENGES;
use super::sessions::open_session;
use super::users::{USER, insert_user, user_from_row};
use super::{Conn, End, Engine, Row, announce_sessions_ended, write_connection};
use crate::audit::Event;
use crate::domain::Amr;
use crate::domain::{EndReason, User};
use crate::store::{
    CodeStore, Effect, GUESS_WINDOW, MAX_CODE_ATTEMPTS, MAX_DAILY_CODE_FAILURES, NewCode, NewMail,
    NewMfaTicket, NewUser, Presented, Redeemed, Redemption, SendLimit, StoreError,
};

pub(super) const SENT_SINCE: &str =
    "SELECT count(*) AS n FROM outbox WHERE recipient_key = $1 AND created_at > $2";
pub(super) const KILL_OLDER: &str =
    "DELETE FROM one_time_codes WHERE user_id = $1 AND purpose = $2";
pub(super) const INSERT: &str = "INSERT INTO one_time_codes
     (id, user_id, purpose, address, token_hash, code_hash, new_email, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
// A link's token is 256 bits: wrong codes typed by others never kill it.
pub(super) const CONSUME_TOKEN: &str = "DELETE FROM one_time_codes
     WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3
     RETURNING user_id, address, new_email";
// A typed code is refused once its row, or its user and purpose over the day, had
// too many wrong ones.
pub(super) const CONSUME_CODE: &str = "DELETE FROM one_time_codes
     WHERE purpose = $1 AND address = $2 AND code_hash = $3 AND expires_at > $4
       AND attempts < $5
       AND NOT EXISTS (SELECT 1 FROM code_guesses g
           WHERE g.user_id = one_time_codes.user_id AND g.purpose = one_time_codes.purpose
             AND g.failures >= $6 AND g.window_start > $7)
     RETURNING user_id, address, new_email";
pub(super) const VERIFY: &str =
    "UPDATE users SET email_verified = TRUE, updated_at = $2 WHERE id = $1";
pub(super) const RESET: &str =
    "UPDATE users SET password_hash = $2, email_verified = TRUE, updated_at = $3
     WHERE id = $1";
pub(super) const END_ALL: &str = "UPDATE sessions SET ended_at = $2, end_reason = $3
     WHERE user_id = $1 AND ended_at IS NULL";
pub(super) const MOVE_EMAIL: &str = "UPDATE users
     SET email = $2, email_normalized = $3, email_verified = TRUE, updated_at = $4
     WHERE id = $1";
pub(super) const DELETE_CODES: &str = "DELETE FROM one_time_codes WHERE user_id = $1";
pub(super) const FORGET_EXPIRED: &str = "DELETE FROM one_time_codes WHERE expires_at <= $1";

#[async_trait]
impl<E: Engine> CodeStore for E {
    async fn create_user_with_code(
        &self,
        user: &NewUser,
        code: &NewCode,
        mail: &NewMail,
        event: &Event,
    ) -> Result<User, StoreError> {
        WriteTx::run(self, async |tx| {
            let created = insert_user(&mut **tx, user).await?;
            insert_code(&mut **tx, code).await?;
            queue_mail(&mut **tx, mail, None).await?;
            tx.record(event).await?;
            Ok(End::Commit(created))
        })
        .await
    }

    async fn issue(
        &self,
        code: Option<&NewCode>,
        mail: &NewMail,
        limit: SendLimit,
        event: Option<&Event>,
    ) -> Result<bool, StoreError> {
        WriteTx::run(self, async |tx| {
            issue_in::<E>(tx, code, mail, limit, event).await
        })
        .await
    }

    async fn redeem(&self, redemption: &Redemption) -> Result<Option<Redeemed>, StoreError> {
        WriteTx::run(self, async |tx| redeem_in::<E>(tx, redemption).await).await
    }

    async fn forget_expired_codes(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut conn = write_connection(self).await?;
        let codes = conn.execute(FORGET_EXPIRED, &[now.into()]).await?;
        let tickets = conn.execute(FORGET_TICKETS, &[now.into()]).await?;
        let day_ago = now - GUESS_WINDOW;
        let guesses = conn.execute(FORGET_GUESSES, &[day_ago.into()]).await?;
        let challenges = conn.execute(FORGET_CHALLENGES, &[now.into()]).await?;
        Ok(codes + tickets + guesses + challenges)
    }
}

/// [`CodeStore::issue`] inside `tx`: its answer, and whether to commit.
async fn issue_in<E: Engine>(
    tx: &mut WriteTx<E>,
    code: Option<&NewCode>,
    mail: &NewMail,
    limit: SendLimit,
    event: Option<&Event>,
) -> Result<End<bool>, StoreError> {
    if let Some(code) = code {
        // Concurrent sends to one user take turns here, so each counts what the one
        // before it sent (PostgreSQL; SQLite's writers already take turns).
        tx.fetch_optional(E::LOCK_USER, &[code.user_id.into()])
            .await?;
    }
    if let Some(key) = mail.recipient_key.as_deref() {
        let since = |ago: Duration| [key.into(), (mail.created_at - ago).into()];
        let mut sent = [0; 2];
        for (n, ago) in sent.iter_mut().zip([Duration::MINUTE, Duration::HOUR]) {
            let row = tx.fetch_optional(SENT_SINCE, &since(ago)).await?;
            *n = row.map_or(Ok(0), |row| row.count("n"))?;
        }
        if !limit.allows(sent[0], sent[1]) {
            return Ok(End::RollBack(false));
        }
    }
    if let Some(code) = code {
        insert_code(&mut **tx, code).await?;
    }
    queue_mail(&mut **tx, mail, None).await?;
    if let Some(event) = event {
        tx.record(event).await?;
    }
    Ok(End::Commit(true))
}

/// Stores `code`, deleting the user's older code of its purpose.
async fn insert_code<C: Conn + ?Sized>(tx: &mut C, code: &NewCode) -> Result<(), StoreError> {
    let purpose = code.purpose.as_str();
    tx.execute(KILL_OLDER, &[code.user_id.into(), purpose.into()])
        .await?;
    let args = [
        code.id.into(),
        code.user_id.into(),
        purpose.into(),
        code.address.as_str().into(),
        code.token_hash.as_slice().into(),
        code.code_hash.as_slice().into(),
        code.new_email.as_deref().into(),
        code.created_at.into(),
        code.expires_at.into(),
    ];
    tx.execute(INSERT, &args).await?;
    Ok(())
}

/// [`CodeStore::redeem`] inside `tx`: its answer, and whether to commit.
async fn redeem_in<E: Engine>(
    tx: &mut WriteTx<E>,
    redemption: &Redemption,
) -> Result<End<Option<Redeemed>>, StoreError> {
    let Redemption {
        purpose,
        presented,
        effect,
        now,
        event,
    } = redemption;
    let (purpose, now) = (purpose.as_str(), *now);
    let consumed = match presented {
        Presented::Token { hash } => {
            let args = [hash.as_slice().into(), purpose.into(), now.into()];
            tx.fetch_optional(CONSUME_TOKEN, &args).await?
        }
        Presented::Code { address, hash } => {
            let args = [
                purpose.into(),
                address.as_str().into(),
                hash.as_slice().into(),
                now.into(),
                MAX_CODE_ATTEMPTS.into(),
                MAX_DAILY_CODE_FAILURES.into(),
                (now - GUESS_WINDOW).into(),
            ];
            tx.fetch_optional(CONSUME_CODE, &args).await?
        }
    };
    let Some(consumed) = consumed else {
        let failed = event.clone().failed().detail("reason", "invalid_code");
        return count_wrong(tx, redemption.purpose, presented, now, failed).await;
    };
    let user_id = consumed.uuid("user_id")?;
    tx.execute(CLEAR_GUESSES, &[user_id.into(), purpose.into()])
        .await?;
    let (mut session_opened, mut awaiting_second_factor) = (false, false);
    match effect {
        Effect::VerifyEmail => {
            tx.execute(VERIFY, &[user_id.into(), now.into()]).await?;
        }
        Effect::ResetPassword { new_hash, notice } => {
            let hash = new_hash.expose_secret();
            tx.execute(RESET, &[user_id.into(), hash.into(), now.into()])
                .await?;
            let reason = EndReason::PasswordReset.as_str();
            tx.execute(END_ALL, &[user_id.into(), now.into(), reason.into()])
                .await?;
            announce_sessions_ended::<E>(&mut **tx).await?;
            // Recovery ends whatever else was pending, an email change included.
            tx.execute(DELETE_CODES, &[user_id.into()]).await?;
            queue_mail(&mut **tx, notice, Some(user_id)).await?;
        }
        Effect::SignIn { session, ticket } => {
            let row = tx.fetch_optional(USER, &[user_id.into()]).await?;
            let user = row.map(|row| user_from_row(&row)).transpose()?;
            let (disabled, second) = user.map_or((true, false), |u| (u.disabled, u.mfa_enabled));
            if !disabled && second {
                tx.execute(VERIFY, &[user_id.into(), now.into()]).await?;
                insert_ticket(
                    &mut **tx,
                    &NewMfaTicket {
                        user_id,
                        ..ticket.clone()
                    },
                )
                .await?;
                awaiting_second_factor = true;
            } else if !disabled {
                tx.execute(VERIFY, &[user_id.into(), now.into()]).await?;
                let amr = Amr::of(Amr::OTP);
                open_session(&mut **tx, user_id, session, &amr, now).await?;
                session_opened = true;
            }
        }
        Effect::ChangeEmail { notice } => {
            // The notice goes to the address the account is leaving: queue it first.
            queue_mail(&mut **tx, notice, Some(user_id)).await?;
            let new_email = consumed
                .opt_text("new_email")?
                .ok_or(StoreError::Inconsistent(
                    "an email-change code without its address",
                ))?;
            let address = consumed.text("address")?;
            let args = [
                user_id.into(),
                new_email.as_str().into(),
                address.as_str().into(),
                now.into(),
            ];
            tx.execute(MOVE_EMAIL, &args).await?;
            // Codes sent to the old address must not act on the new one.
            tx.execute(DELETE_CODES, &[user_id.into()]).await?;
        }
        Effect::RemoveFactors => {
            delete_factors(&mut **tx, user_id, now).await?;
        }
    }
    // Every effect changes the user live sessions show (a verified address, a new
    // one, ended sessions): other instances drop what they cached of them.
    if !matches!(effect, Effect::ResetPassword { .. }) {
        announce_sessions_ended::<E>(&mut **tx).await?;
    }
    let row = tx.fetch_optional(USER, &[user_id.into()]).await?;
    let row = row.ok_or(StoreError::Inconsistent("a code outlived its user"))?;
    let user = user_from_row(&row)?;
    let mut event = event.clone().user(user_id);
    if let Effect::SignIn { session, .. } = effect {
        event = match (session_opened, awaiting_second_factor) {
            (true, _) => event.session(session.id),
            // The code was right; the login goes on at `/login/mfa`.
            (false, true) => event.failed().detail("reason", "mfa_required"),
            (false, false) => event.failed().detail("reason", "account_disabled"),
        };
    }
    tx.record(&event).await?;
    let redeemed = Redeemed {
        user,
        session_opened,
        awaiting_second_factor,
    };
    Ok(End::Commit(Some(redeemed)))
}
