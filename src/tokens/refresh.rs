//! Opaque refresh tokens: 256 bits, base64url, stored only as SHA-256 digests. A
//! login's first token is random; each rotation derives the next from the presented one
//! under a server key ([`RefreshToken::successor`]).

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

pub struct RefreshToken {
    token: SecretString,
}

impl RefreshToken {
    pub fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)?;
        Ok(Self {
            token: SecretString::from(URL_SAFE_NO_PAD.encode(bytes)),
        })
    }

    /// The token that replaces `presented` on rotation: HMAC-SHA256 of it under the
    /// server's key. Deterministic, so a replay inside the grace window gets the very
    /// token the first use got (never a second live token in one session); unknown to
    /// anyone without the key, so a used token says nothing about its successor.
    pub fn successor(key: &RefreshKey, presented: &str) -> Self {
        let tag = hmac::sign(&key.0, presented.as_bytes());
        Self {
            token: SecretString::from(URL_SAFE_NO_PAD.encode(tag.as_ref())),
        }
    }

    /// The digest the store keeps; the token itself is only ever handed to the client.
    pub fn digest(&self) -> Vec<u8> {
        digest_of(self.token.expose_secret())
    }

    pub fn into_secret(self) -> SecretString {
        self.token
    }
}

/// The server key refresh tokens are derived with (a server secret from the store,
/// shared by every instance).
pub struct RefreshKey(hmac::Key);

impl RefreshKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

pub fn digest_of(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}
