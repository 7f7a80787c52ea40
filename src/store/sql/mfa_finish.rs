//! Finishing a login with its second factor ([`MfaStore::finish_mfa`]): the ticket,
//! the factor and the new session, all in one transaction.

use super::outbox::queue_mail;
use super::passkeys::USED as PASSKEY_USED;
use super::sessions::{CLEAR_FAILURES, open_session};
use super::users::{USER, user_from_row};
use super::{Conn, End, Engine, Row, WriteTx};
use crate::store::{MfaFinish, MfaFinished, SecondFactor, StoreError};

/// The replay check: a step is accepted only above the last accepted one.
pub(super) const USE_STEP: &str = "UPDATE totp_factors SET last_step = $2
     WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $2)";
pub(super) const USE_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = $3
     WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL";
pub(super) const TAKE_TICKET: &str =
    "DELETE FROM mfa_tickets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id";

/// [`MfaStore::finish_mfa`] inside `tx`: its answer, and whether to commit.
pub(super) async fn finish_in<E: Engine>(
    tx: &mut WriteTx<E>,
    finish: &MfaFinish,
) -> Result<End<MfaFinished>, StoreError> {
    let MfaFinish {
        ticket_hash,
        factor,
        session,
        amr,
        throttle_keys,
        now,
        event,
        recovery_notice,
    } = finish;
    let now = *now;
    let taken = tx
        .fetch_optional(TAKE_TICKET, &[ticket_hash.as_slice().into(), now.into()])
        .await?;
    let Some(taken) = taken else {
        return Ok(End::RollBack(MfaFinished::TicketGone));
    };
    let user_id = taken.uuid("user_id")?;
    let used = match factor {
        SecondFactor::Totp { step } => {
            let args = [user_id.into(), (*step).into()];
            tx.execute(USE_STEP, &args).await?
        }
        SecondFactor::RecoveryCode { hash } => {
            let args = [user_id.into(), hash.as_slice().into(), now.into()];
            tx.execute(USE_RECOVERY_CODE, &args).await?
        }
        SecondFactor::Passkey { id, credential } => {
            let args = [
                (*id).into(),
                user_id.into(),
                credential.as_str().into(),
                now.into(),
            ];
            tx.execute(PASSKEY_USED, &args).await?
        }
    };
    if used == 0 {
        return Ok(End::RollBack(MfaFinished::Refused));
    }
    let row = tx.fetch_optional(USER, &[user_id.into()]).await?;
    let Some(user) = row.map(|row| user_from_row(&row)).transpose()? else {
        return Ok(End::RollBack(MfaFinished::TicketGone));
    };
    if user.disabled {
        return Ok(End::RollBack(MfaFinished::TicketGone));
    }
    open_session(&mut **tx, user_id, session, amr, now).await?;
    for key in throttle_keys {
        tx.execute(CLEAR_FAILURES, &[key.as_slice().into()]).await?;
    }
    if let Some((notice, used_event)) = recovery_notice {
        queue_mail(&mut **tx, notice, Some(user_id)).await?;
        tx.record(&used_event.clone().user(user_id).session(session.id))
            .await?;
    }
    tx.record(&event.clone().user(user_id).session(session.id))
        .await?;
    Ok(End::Commit(MfaFinished::LoggedIn(user)))
}
