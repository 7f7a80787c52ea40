//! Opaque refresh tokens: 256 random bits, base64url, stored only as SHA-256 digests.

use aws_lc_rs::digest;
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

    /// The digest the store keeps; the token itself is only ever handed to the client.
    pub fn digest(&self) -> Vec<u8> {
        digest_of(self.token.expose_secret())
    }

    pub fn into_secret(self) -> SecretString {
        self.token
    }
}

pub fn digest_of(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}
