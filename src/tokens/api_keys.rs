//! API keys for the admin API: `ssk_` and 256 random bits in base64url, stored only as
//! a SHA-256 digest. The prefix lets a leaked key be recognized by secret scanners and
//! tells the admin endpoints a key from an access token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;

use super::refresh::digest_of;

pub const API_KEY_PREFIX: &str = "ssk_";

/// A new key, shown once, and the digest the store keeps.
pub fn generate_api_key() -> Result<(SecretString, Vec<u8>), aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)?;
    let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = digest_of(&key);
    Ok((SecretString::from(key), digest))
}

/// The digest of a presented key, looked up among the stored ones.
pub fn api_key_digest(key: &str) -> Vec<u8> {
    digest_of(key)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_stored_by_digest() {
        let (first, digest) = generate_api_key().unwrap();
        let (second, _) = generate_api_key().unwrap();
        assert!(first.expose_secret().starts_with(API_KEY_PREFIX));
        assert_eq!(first.expose_secret().len(), 4 + 43);
        assert_ne!(first.expose_secret(), second.expose_secret());
        assert_eq!(api_key_digest(first.expose_secret()), digest);
    }
}
