//! Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed with the active key.
//! Verification pins the algorithm, the key id, the type, the issuer and the audience,
//! and checks expiry against the injected clock.

use crate::domain::{SessionLogin, User};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use arc_swap::ArcSwap;

use super::keys::JwtAlgorithm;
use super::ring::KeyRing;

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
    /// The user's roles when the token was issued, for resource servers to authorize
    /// on. Sesame's own admin endpoints ask the store instead, so a role taken away
    /// counts at once there.
    #[serde(default)]
    pub roles: Vec<String>,
    /// When the user logged in to open this session (OpenID Connect `auth_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// How they did (RFC 8176): `pwd`, `otp`, `mfa`, ...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Never set by Sesame; a token that carries one in the future is not valid yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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
    /// Swapped whole when the store's keys change; requests read it without a lock.
    ring: ArcSwap<KeyRing>,
    alg: JwtAlgorithm,
    validation: Validation,
    issuer: String,
    audience: Option<String>,
    ttl: Duration,
}

impl AccessTokens {
    pub fn new(ring: KeyRing, issuer: String, audience: Option<String>, ttl: Duration) -> Self {
        let alg = ring.alg();
        let mut validation = Validation::new(alg.jwt());
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
            ring: ArcSwap::from_pointee(ring),
            alg,
            validation,
            issuer,
            audience,
            ttl,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn lifetime(&self) -> Duration {
        self.ttl
    }

    /// The keys signed and verified with from now on. A ring of another algorithm is
    /// refused: the validation rules were set for this one.
    pub fn replace_keys(&self, ring: KeyRing) -> bool {
        if ring.alg() != self.alg {
            return false;
        }
        self.ring.store(std::sync::Arc::new(ring));
        true
    }

    /// The keys as they are now.
    pub fn keys(&self) -> arc_swap::Guard<std::sync::Arc<KeyRing>> {
        self.ring.load()
    }

    /// Whether verifiers get public keys (`/.well-known/jwks.json`): not in HS256 mode.
    pub fn publishes_keys(&self) -> bool {
        self.alg != JwtAlgorithm::Hs256
    }

    /// The public key set at `now`, or `None` when tokens are signed with a shared
    /// secret.
    pub fn jwks(&self, now: OffsetDateTime) -> Option<serde_json::Value> {
        self.ring.load().jwks(now)
    }

    pub fn issue(
        &self,
        user: &User,
        session_id: Uuid,
        login: &SessionLogin,
        now: OffsetDateTime,
    ) -> Result<IssuedAccessToken, TokenError> {
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: user.id,
            aud: self.audience.clone(),
            exp: (now + self.ttl).unix_timestamp(),
            iat: now.unix_timestamp(),
            jti: Uuid::now_v7(),
            sid: session_id,
            email: user.email.clone(),
            roles: user.roles.clone(),
            auth_time: Some(login.auth_time.unix_timestamp()),
            amr: login.amr.methods().to_vec(),
            nbf: None,
        };
        let ring = self.ring.load();
        let key = ring.signer(now);
        let mut header = Header::new(self.alg.jwt());
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid = key.kid.clone();
        let token = self.sign(&key.encoding, &header, &claims)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: self.ttl.whole_seconds(),
            claims,
        })
    }

    /// Signs, in ES256 with a low S: ECDSA signatures come in pairs ((r, s) and
    /// (r, n - s) both verify), and Sesame accepts only the low one, so one token has
    /// one string (caches and replay checks key on it). A signature with a high S is
    /// made again with a fresh nonce; each try has even odds.
    fn sign(
        &self,
        key: &EncodingKey,
        header: &Header,
        claims: &AccessClaims,
    ) -> Result<String, TokenError> {
        for _ in 0..64 {
            let token =
                encode(header, claims, key).map_err(|e| TokenError::Signing(e.to_string()))?;
            if self.alg != JwtAlgorithm::Es256 || !high_s(&token) {
                return Ok(token);
            }
        }
        Err(TokenError::Signing(
            "no low-S signature in 64 tries".to_owned(),
        ))
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<AccessClaims, TokenError> {
        // RFC 7515 §4.1.11: a `crit` header names extensions the verifier must
        // understand; Sesame understands none, so it must refuse them all.
        if has_crit_header(token) {
            return Err(TokenError::Invalid);
        }
        if self.alg == JwtAlgorithm::Es256 && high_s(token) {
            return Err(TokenError::Invalid);
        }
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != self.alg.jwt() || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::Invalid);
        }
        let ring = self.ring.load();
        let key = ring
            .verifier(header.kid.as_deref(), now)
            .ok_or(TokenError::Invalid)?;
        let data = decode::<AccessClaims>(token, &key.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.unix_timestamp() + LEEWAY.whole_seconds())
        {
            return Err(TokenError::Invalid);
        }
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

/// Whether the token's header (which may be anything: it is checked before the
/// signature) has a `crit` member. An undecodable header is refused later.
fn has_crit_header(token: &str) -> bool {
    let Some(header) = token.split('.').next() else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("crit"))
}

/// Half the order of the P-256 group, big-endian: an S above it is the "high" twin.
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether an ES256 token's signature (r ‖ s, 32 bytes each) has S above half the
/// group order. Anything that is not such a signature is left to the verifier.
fn high_s(token: &str) -> bool {
    let Some(signature) = token.rsplit('.').next() else {
        return false;
    };
    match URL_SAFE_NO_PAD.decode(signature) {
        // Big-endian numbers of one width compare as their bytes do.
        Ok(bytes) if bytes.len() == 64 => bytes[32..] > P256_HALF_ORDER[..],
        _ => false,
    }
}

#[cfg(test)]
#[path = "access_properties.rs"]
mod properties;
