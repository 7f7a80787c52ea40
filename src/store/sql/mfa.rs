//! [`MfaStore`] on any engine. A TOTP step and a recovery code are each used with one
//! conditional `UPDATE`: of concurrent uses, the database lets exactly one through.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::mfa_finish::{USE_STEP, finish_in};
use super::outbox::queue_mail;
use super::sessions::amr_from_json;
use super::users::{END_OTHER_SESSIONS, RECOMPUTE_MFA};
use super::{
    Conn, End, Engine, Row, WriteTx, announce_sessions_ended, connection, write_connection,
};
use crate::audit::Event;
use crate::domain::EndReason;
use crate::store::outbox::NewMail;
use crate::store::{
    MAX_MFA_ATTEMPTS, MFA_TICKET_LIFETIME, MfaFinish, MfaFinished, MfaStore, MfaTicket,
    NewMfaTicket, StoreError, TotpConfirmation, TotpFactor,
};

pub(super) const BEGIN_TOTP: &str = "INSERT INTO totp_factors (user_id, secret_sealed, created_at)
     VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE
     SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at, last_step = NULL
     WHERE totp_factors.confirmed_at IS NULL";
pub(super) const TOTP_FACTOR: &str =
    "SELECT secret_sealed, confirmed_at FROM totp_factors WHERE user_id = $1";
pub(super) const CONFIRM_TOTP: &str = "UPDATE totp_factors SET confirmed_at = $3, last_step = $2
     WHERE user_id = $1 AND confirmed_at IS NULL AND (last_step IS NULL OR last_step < $2)";
pub(super) const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = $1";
pub(super) const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)";
pub(super) const DELETE_TOTP: &str = "DELETE FROM totp_factors WHERE user_id = $1";
pub(super) const DELETE_TICKETS: &str = "DELETE FROM mfa_tickets WHERE user_id = $1";
pub(super) const DELETE_PASSKEYS: &str = "DELETE FROM passkeys WHERE user_id = $1";
pub(super) const INSERT_TICKET: &str =
    "INSERT INTO mfa_tickets (token_hash, user_id, amr, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)";
pub(super) const CLAIM_ATTEMPT: &str = "UPDATE mfa_tickets SET attempts = attempts + 1
     WHERE token_hash = $1 AND expires_at > $2 AND attempts < $3
     RETURNING user_id, amr";
pub(super) const PEEK_TICKET: &str = "SELECT user_id, amr FROM mfa_tickets
     WHERE token_hash = $1 AND expires_at > $2 AND attempts < $3";
pub(super) const FACTORS: &str = "SELECT
        EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS totp,
        EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) AS passkey";
pub(super) const FORGET_TICKETS: &str = "DELETE FROM mfa_tickets WHERE expires_at <= $1";

fn ticket_from_row(row: &impl Row) -> Result<MfaTicket, StoreError> {
    Ok(MfaTicket {
        user_id: row.uuid("user_id")?,
        amr: amr_from_json(&row.text("amr")?)?,
    })
}

/// Stores `ticket` on `conn` (a sign-in code's redemption stores one too).
pub(super) async fn insert_ticket<C: Conn + ?Sized>(
    conn: &mut C,
    ticket: &NewMfaTicket,
) -> Result<(), StoreError> {
    let amr = ticket.amr.to_json();
    let args = [
        ticket.token_hash.as_slice().into(),
        ticket.user_id.into(),
        amr.as_str().into(),
        ticket.created_at.into(),
        (ticket.created_at + MFA_TICKET_LIFETIME).into(),
    ];
    conn.execute(INSERT_TICKET, &args).await?;
    Ok(())
}

async fn set_recovery_codes<C: Conn + ?Sized>(
    tx: &mut C,
    user_id: Uuid,
    hashes: &[Vec<u8>],
) -> Result<(), StoreError> {
    tx.execute(DELETE_RECOVERY_CODES, &[user_id.into()]).await?;
    for hash in hashes {
        let args = [user_id.into(), hash.as_slice().into()];
        tx.execute(INSERT_RECOVERY_CODE, &args).await?;
    }
    Ok(())
}

/// Deletes every factor of the user (passkeys too) and clears the flag: how many
/// factors there were.
pub(super) async fn delete_factors<C: Conn + ?Sized>(
    tx: &mut C,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let removed = tx.execute(DELETE_TOTP, &[user_id.into()]).await?;
    tx.execute(DELETE_RECOVERY_CODES, &[user_id.into()]).await?;
    tx.execute(DELETE_TICKETS, &[user_id.into()]).await?;
    let passkeys = tx.execute(DELETE_PASSKEYS, &[user_id.into()]).await?;
    tx.execute(RECOMPUTE_MFA, &[user_id.into(), now.into()])
        .await?;
    Ok(removed + passkeys)
}

#[async_trait]
impl<E: Engine> MfaStore for E {
    async fn begin_totp(
        &self,
        user_id: Uuid,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let args = [user_id.into(), sealed_secret.into(), now.into()];
        let written = write_connection(self)
            .await?
            .execute(BEGIN_TOTP, &args)
            .await?;
        Ok(written == 1)
    }

    async fn totp_factor(&self, user_id: Uuid) -> Result<Option<TotpFactor>, StoreError> {
        let row = connection(self)
            .await?
            .fetch_optional(TOTP_FACTOR, &[user_id.into()])
            .await?;
        row.map(|row| {
            Ok(TotpFactor {
                sealed_secret: row.bytes("secret_sealed")?,
                confirmed: row.opt_time("confirmed_at")?.is_some(),
            })
        })
        .transpose()
    }

    async fn confirm_totp(&self, confirmation: &TotpConfirmation) -> Result<bool, StoreError> {
        let TotpConfirmation {
            user_id,
            step,
            recovery_hashes,
            keep_session,
            now,
            event,
        } = confirmation;
        let (user_id, now) = (*user_id, *now);
        WriteTx::run(self, async |tx| {
            let args = [user_id.into(), (*step).into(), now.into()];
            if tx.execute(CONFIRM_TOTP, &args).await? == 0 {
                return Ok(End::RollBack(false));
            }
            set_recovery_codes(&mut **tx, user_id, recovery_hashes).await?;
            tx.execute(RECOMPUTE_MFA, &[user_id.into(), now.into()])
                .await?;
            let reason = EndReason::SecondFactorAdded.as_str();
            let args = [
                user_id.into(),
                (*keep_session).into(),
                now.into(),
                reason.into(),
            ];
            if tx.execute(END_OTHER_SESSIONS, &args).await? > 0 {
                announce_sessions_ended::<E>(tx).await?;
            }
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }

    async fn remove_totp(
        &self,
        user_id: Uuid,
        step: i64,
        event: &Event,
    ) -> Result<bool, StoreError> {
        WriteTx::run(self, async |tx| {
            if tx.execute(USE_STEP, &[user_id.into(), step.into()]).await? == 0 {
                return Ok(End::RollBack(false));
            }
            tx.execute(DELETE_TOTP, &[user_id.into()]).await?;
            tx.execute(DELETE_RECOVERY_CODES, &[user_id.into()]).await?;
            tx.execute(RECOMPUTE_MFA, &[user_id.into(), event.at.into()])
                .await?;
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        step: i64,
        hashes: &[Vec<u8>],
        event: &Event,
    ) -> Result<bool, StoreError> {
        WriteTx::run(self, async |tx| {
            if tx.execute(USE_STEP, &[user_id.into(), step.into()]).await? == 0 {
                return Ok(End::RollBack(false));
            }
            set_recovery_codes(&mut **tx, user_id, hashes).await?;
            tx.record(event).await?;
            Ok(End::Commit(true))
        })
        .await
    }

    async fn remove_factors(
        &self,
        user_id: Uuid,
        notice: &NewMail,
        event: &Event,
    ) -> Result<u64, StoreError> {
        WriteTx::run(self, async |tx| {
            let removed = delete_factors(&mut **tx, user_id, event.at).await?;
            if removed > 0 {
                queue_mail(&mut **tx, notice, Some(user_id)).await?;
            }
            tx.record(&event.clone().detail("removed", removed)).await?;
            Ok(End::Commit(removed))
        })
        .await
    }

    async fn create_mfa_ticket(&self, ticket: &NewMfaTicket) -> Result<(), StoreError> {
        insert_ticket(&mut *write_connection(self).await?, ticket).await
    }

    async fn mfa_ticket(
        &self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<MfaTicket>, StoreError> {
        let args = [token_hash.into(), now.into(), MAX_MFA_ATTEMPTS.into()];
        let row = connection(self)
            .await?
            .fetch_optional(PEEK_TICKET, &args)
            .await?;
        row.map(|row| ticket_from_row(&row)).transpose()
    }

    async fn factors(&self, user_id: Uuid) -> Result<(bool, bool), StoreError> {
        let row = connection(self)
            .await?
            .fetch_optional(FACTORS, &[user_id.into()])
            .await?
            .ok_or(StoreError::Inconsistent(
                "a SELECT of constants returned nothing",
            ))?;
        Ok((row.flag("totp")?, row.flag("passkey")?))
    }

    async fn claim_mfa_attempt(
        &self,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<MfaTicket>, StoreError> {
        let args = [token_hash.into(), now.into(), MAX_MFA_ATTEMPTS.into()];
        let row = write_connection(self)
            .await?
            .fetch_optional(CLAIM_ATTEMPT, &args)
            .await?;
        row.map(|row| ticket_from_row(&row)).transpose()
    }

    async fn finish_mfa(&self, finish: &MfaFinish) -> Result<MfaFinished, StoreError> {
        WriteTx::run(self, async |tx| finish_in(tx, finish).await).await
    }
}
