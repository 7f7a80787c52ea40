//! The refresh-rotation rule. The store loads a presented token's state and locks it;
//! [`RotationPolicy::decide`] says what that state means; the store writes the verdict
//! in the same transaction. One rule, tested here without a database, for both engines.

use crate::domain::{EndReason, SessionLogin, User};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The rules a rotation applies, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// A session unused for this long has expired.
    pub idle_timeout: Duration,
    /// A replay of an already-rotated token within this window of its first use is a
    /// concurrent refresh from the same client, not a theft.
    pub grace: Duration,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// The token was exchanged; `next` is now valid in the same session.
    Rotated {
        session_id: Uuid,
        user: User,
        login: SessionLogin,
        /// When `next` expires: its lifetime, cut short by the session's own end.
        expires_at: OffsetDateTime,
    },
    /// No such token.
    Unknown,
    /// The session has ended (logout, password change, earlier reuse, deletion).
    Ended,
    /// The token, or its session (idle or absolute lifetime), has expired.
    Expired,
    /// The token was already used, outside the grace window: the session is now ended.
    ReuseDetected { session_id: Uuid, user_id: Uuid },
}

/// A presented refresh token as the store found it, with its session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshState {
    pub used_at: Option<OffsetDateTime>,
    pub token_expires_at: OffsetDateTime,
    /// The session has ended, or its user is disabled.
    pub session_ended: bool,
    pub session_expires_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
}

/// What the store must do with a presented token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing to write; the token is refused.
    Refuse(Refusal),
    /// End the session for `reason`; the token is refused.
    EndSession(EndReason),
    /// Store the next token, expiring at `expires_at`; when `first_use`, mark the
    /// presented one used (a replay inside the grace window finds it marked already).
    Rotate {
        first_use: bool,
        expires_at: OffsetDateTime,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Ended,
    Expired,
}

impl RotationPolicy {
    /// Decides on a presented token at `now`; `next_expires_at` is the lifetime a new
    /// token would get before the session's end cuts it short.
    pub(crate) fn decide(
        &self,
        state: &RefreshState,
        next_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Verdict {
        if state.session_ended {
            return Verdict::Refuse(Refusal::Ended);
        }
        if now >= state.session_expires_at || now >= state.last_used_at + self.idle_timeout {
            return Verdict::EndSession(EndReason::Expired);
        }
        let first_use = match state.used_at {
            // A token used twice, the second time well after the first: one of the two
            // holders is not the user. The session ends, newest token included.
            Some(used_at) if now - used_at >= self.grace => {
                return Verdict::EndSession(EndReason::ReuseDetected);
            }
            Some(_) => false,
            None if now >= state.token_expires_at => return Verdict::Refuse(Refusal::Expired),
            None => true,
        };
        Verdict::Rotate {
            first_use,
            expires_at: next_expires_at.min(state.session_expires_at),
        }
    }
}

impl Verdict {
    /// The answer for the caller once the verdict is written.
    pub(crate) fn into_rotation(
        self,
        session_id: Uuid,
        user: User,
        login: SessionLogin,
    ) -> Rotation {
        match self {
            Self::Refuse(Refusal::Ended) => Rotation::Ended,
            Self::Refuse(Refusal::Expired) | Self::EndSession(EndReason::Expired) => {
                Rotation::Expired
            }
            Self::EndSession(_) => Rotation::ReuseDetected {
                session_id,
                user_id: user.id,
            },
            Self::Rotate { expires_at, .. } => Rotation::Rotated {
                session_id,
                user,
                login,
                expires_at,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    const POLICY: RotationPolicy = RotationPolicy {
        idle_timeout: Duration::seconds(1_000),
        grace: Duration::seconds(10),
    };

    fn fresh() -> RefreshState {
        RefreshState {
            used_at: None,
            token_expires_at: at(500),
            session_ended: false,
            session_expires_at: at(2_000),
            last_used_at: at(0),
        }
    }

    #[test]
    fn a_fresh_token_rotates_and_its_successor_ends_with_the_session() {
        assert_eq!(
            POLICY.decide(&fresh(), at(3_000), at(100)),
            Verdict::Rotate {
                first_use: true,
                expires_at: at(2_000)
            }
        );
    }

    #[test]
    fn a_replay_inside_the_grace_window_rotates_without_marking_again() {
        let state = RefreshState {
            used_at: Some(at(100)),
            ..fresh()
        };
        assert_eq!(
            POLICY.decide(&state, at(600), at(109)),
            Verdict::Rotate {
                first_use: false,
                expires_at: at(600)
            }
        );
    }

    #[test]
    fn a_replay_after_the_grace_window_ends_the_session() {
        let state = RefreshState {
            used_at: Some(at(100)),
            ..fresh()
        };
        assert_eq!(
            POLICY.decide(&state, at(600), at(110)),
            Verdict::EndSession(EndReason::ReuseDetected)
        );
    }

    #[test]
    fn ended_expired_and_idle_sessions_refuse() {
        let ended = RefreshState {
            session_ended: true,
            ..fresh()
        };
        assert_eq!(
            POLICY.decide(&ended, at(600), at(1)),
            Verdict::Refuse(Refusal::Ended)
        );
        assert_eq!(
            POLICY.decide(&fresh(), at(600), at(2_000)),
            Verdict::EndSession(EndReason::Expired)
        );
        assert_eq!(
            POLICY.decide(&fresh(), at(1_600), at(1_000)),
            Verdict::EndSession(EndReason::Expired),
            "unused for the idle timeout"
        );
        assert_eq!(
            POLICY.decide(&fresh(), at(1_100), at(500)),
            Verdict::Refuse(Refusal::Expired),
            "the token's own lifetime is over"
        );
    }
}
