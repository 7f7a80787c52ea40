//! A refresh-token rotation on any engine: the presented token is loaded with its
//! session under the engine's row locks ([`Engine::LOAD_REFRESH_FOR_UPDATE`]),
//! [`RotationPolicy::decide`] judges, and the verdict is written in the same
//! transaction.

use uuid::Uuid;

use super::sessions::{END, INSERT_REFRESH, RotationRequest, amr_from_json};
use super::users::user_from_row;
use super::{Conn, Engine, Row, announce_sessions_ended};
use crate::domain::{SessionLogin, User};
use crate::store::rotation::{RefreshState, Verdict};
use crate::store::{Rotation, StoreError};

pub(super) const MARK_USED: &str = "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1";
pub(super) const CHILD_EXPIRY: &str =
    "SELECT expires_at FROM refresh_tokens WHERE token_hash = $1 AND parent_hash = $2";
pub(super) const TOUCH: &str = "UPDATE sessions SET last_used_at = $2 WHERE id = $1";

fn refresh_state(row: &impl Row) -> Result<(Uuid, User, SessionLogin, RefreshState), StoreError> {
    let user = user_from_row(row)?;
    let login = SessionLogin {
        amr: amr_from_json(&row.text("amr")?)?,
        auth_time: row.time("auth_time")?,
    };
    let state = RefreshState {
        used_at: row.opt_time("used_at")?,
        token_expires_at: row.time("token_expires_at")?,
        session_ended: row.opt_time("ended_at")?.is_some() || user.disabled,
        session_expires_at: row.time("session_expires_at")?,
        last_used_at: row.time("last_used_at")?,
    };
    Ok((row.uuid("session_id")?, user, login, state))
}

/// One rotation's reads and writes, in a writing transaction the caller commits (on
/// its own, or with other rotations: see [`Engine::commit_rotation`]).
pub(crate) async fn rotate_in<E: Engine + ?Sized>(
    tx: &mut E::Conn,
    request: &RotationRequest,
) -> Result<Rotation, StoreError> {
    let RotationRequest {
        presented,
        next,
        now,
        policy,
    } = request;
    let (presented, now) = (presented.as_slice(), *now);
    let row = tx
        .fetch_optional(E::LOAD_REFRESH_FOR_UPDATE, &[presented.into()])
        .await?;
    let Some(row) = row else {
        return Ok(Rotation::Unknown);
    };
    let (session_id, user, login, state) = refresh_state(&row)?;
    let verdict = policy.decide(&state, next.expires_at, now);
    Ok(match verdict {
        Verdict::Refuse(_) => verdict.into_rotation(session_id, user, login),
        Verdict::EndSession(reason) => {
            let args = [session_id.into(), now.into(), reason.as_str().into()];
            tx.execute(END, &args).await?;
            // Other instances must refuse the session at once too, not after their
            // session-check window.
            announce_sessions_ended::<E>(tx).await?;
            verdict.into_rotation(session_id, user, login)
        }
        Verdict::Rotate {
            first_use,
            expires_at,
        } => {
            let child = if first_use {
                tx.execute(MARK_USED, &[presented.into(), now.into()])
                    .await?;
                None
            } else {
                // A replay inside the grace window: `next` is derived from the
                // presented token, so it is the child the first use stored. Hand
                // that one out again; a second live token would fork the session.
                let hash = next.hash.as_slice();
                tx.fetch_optional(CHILD_EXPIRY, &[hash.into(), presented.into()])
                    .await?
            };
            let expires_at = match child {
                Some(child) => child.time("expires_at")?,
                None => {
                    let args = [
                        next.hash.as_slice().into(),
                        session_id.into(),
                        Some(presented).into(),
                        now.into(),
                        expires_at.into(),
                    ];
                    tx.execute(INSERT_REFRESH, &args).await?;
                    expires_at
                }
            };
            tx.execute(TOUCH, &[session_id.into(), now.into()]).await?;
            Rotation::Rotated {
                session_id,
                user,
                login,
                expires_at,
            }
        }
    })
}
