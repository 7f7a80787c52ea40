//! A session opened without a password (an emailed code, a passkey, a second factor):
//! what the store is asked to write, and the tokens handed out once it has.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Auth, ClientInfo, Error, TokenPair};
use crate::domain::Amr;
use crate::domain::{SessionLogin, User};
use crate::store::CodeSession;
use crate::tokens::RefreshToken;

/// The tokens of a session the store has yet to open.
pub(super) struct Pending {
    session_id: Uuid,
    refresh: RefreshToken,
    refresh_expires_at: OffsetDateTime,
    now: OffsetDateTime,
}

impl Auth {
    /// A new session for `client` at `now`, with its first refresh token.
    pub(super) fn new_session(
        &self,
        client: ClientInfo,
        now: OffsetDateTime,
    ) -> Result<(CodeSession, Pending), Error> {
        let refresh = RefreshToken::generate().map_err(Error::internal)?;
        let refresh_expires_at = now + self.lifetimes.refresh_token.min(self.lifetimes.session);
        let session = CodeSession {
            id: Uuid::now_v7(),
            expires_at: now + self.lifetimes.session,
            user_agent: client.user_agent,
            ip: client.ip.map(|ip| ip.to_string()),
            refresh_token_hash: refresh.digest(),
            refresh_expires_at,
        };
        let pending = Pending {
            session_id: session.id,
            refresh,
            refresh_expires_at,
            now,
        };
        Ok((session, pending))
    }

    /// The tokens of the session the store opened for `user`, logged in by `amr`.
    pub(super) fn hand_out(
        &self,
        user: &User,
        pending: Pending,
        amr: Amr,
    ) -> Result<TokenPair, Error> {
        let Pending {
            session_id,
            refresh,
            refresh_expires_at,
            now,
        } = pending;
        let login = SessionLogin {
            amr,
            auth_time: now,
        };
        let access = self.tokens.issue(user, session_id, &login, now)?;
        self.metrics.logins_succeeded.increment(1);
        Ok(TokenPair {
            access,
            refresh_token: refresh.into_secret(),
            refresh_expires_in: (refresh_expires_at - now).whole_seconds(),
        })
    }
}
