//! Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed with the active key.
//! Verification pins the algorithm, the key id, the type, the issuer and the audience,
//! and checks expiry against the injected clock.

use jsonwebtoken::{Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::keys::SigningKey;

pub const TOKEN_TYPE: &str = "at+jwt";

/// Clock skew tolerated between the signer and the verifier.
pub const LEEWAY: Duration = Duration::seconds(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub sid: Uuid,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
    #[error("could not sign the token: {0}")]
    Signing(String),
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
    pub claims: AccessClaims,
}

pub struct AccessTokens {
    key: SigningKey,
    validation: Validation,
    issuer: String,
    audience: Option<String>,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(key: SigningKey, issuer: String, audience: Option<String>, ttl: Duration) -> Self {
        let mut validation = Validation::new(key.alg.jwt());
        validation.set_issuer(&[&issuer]);
        // Expiry is checked against our clock below, not the library's.
        validation.validate_exp = false;
        match &audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
            }
            None => {
                validation.validate_aud = false;
                validation.set_required_spec_claims(&["exp", "iss", "sub"]);
            }
        }
        Self {
            key,
            validation,
            issuer,
            audience,
            ttl,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn algorithm(&self) -> &'static str {
        self.key.alg.as_str()
    }

    /// The public key set, or `None` when tokens are signed with a shared secret.
    pub fn jwks(&self) -> Option<serde_json::Value> {
        let jwk = self.key.jwk.as_ref()?;
        Some(serde_json::json!({ "keys": [jwk] }))
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        email: &str,
        session_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<IssuedAccessToken, TokenError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: user_id,
            aud: self.audience.clone(),
            exp: (now + self.ttl).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: Uuid::now_v7(),
            sid: session_id,
            email: email.to_owned(),
        };
        let mut header = Header::new(self.key.alg.jwt());
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = self.key.kid.clone();
        let token = encode(&header, &claims, &self.key.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(IssuedAccessToken {
            token,
            expires_in: self.ttl.whole_seconds(),
            claims,
        })
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != self.key.alg.jwt()
            || header.typ.as_deref() != Some(TOKEN_TYPE)
            || header.kid != self.key.kid
        {
            return Err(TokenError::Invalid);
        }
        let data = decode::<AccessClaims>(token, &self.key.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        self.check_expiry(&claims, now)?;
        Ok(claims)
    }

    /// Expiry alone, for claims verified earlier.
    pub fn check_expiry(
        &self,
        claims: &AccessClaims,
        now: OffsetDateTime,
    ) -> Result<(), TokenError> {
        if now.unix_timestamp() > claims.exp + LEEWAY.whole_seconds() {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}
