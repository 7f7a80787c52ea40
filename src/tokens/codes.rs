//! One-time codes: each emailed secret is a 256-bit link token and a 6-digit code,
//! stored only as HMAC-SHA256 tags under a server key, so a copy of the database (or
//! a backup) gives an attacker nothing to present. The code's tag binds the purpose
//! and the address it was sent to: the same six digits mean nothing anywhere else.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};

/// Characters in a link token (32 bytes in unpadded base64url).
pub const TOKEN_LENGTH: usize = 43;
/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// A freshly issued secret: what the message carries, and what the store keeps.
pub struct IssuedCode {
    pub token: SecretString,
    pub code: SecretString,
    pub token_hash: Vec<u8>,
    pub code_hash: Vec<u8>,
}

/// The server key every one-time code is hashed with (a server secret from the
/// store, shared by every instance).
pub struct CodeKey(hmac::Key);

impl CodeKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// A new token and code for `purpose`, sent to the normalized `address`.
    pub fn issue(&self, purpose: &str, address: &str) -> Result<IssuedCode, Unspecified> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let code = format!("{:06}", uniform_below(1_000_000)?);
        Ok(IssuedCode {
            token_hash: self.token_hash(&token),
            code_hash: self.code_hash(purpose, address, &code),
            token: SecretString::from(token),
            code: SecretString::from(code),
        })
    }

    pub fn token_hash(&self, token: &str) -> Vec<u8> {
        self.tag(&[b"token", token.as_bytes()])
    }

    pub fn code_hash(&self, purpose: &str, address: &str, code: &str) -> Vec<u8> {
        self.tag(&[
            b"code",
            purpose.as_bytes(),
            address.as_bytes(),
            code.as_bytes(),
        ])
    }

    /// Who a message went to, for counting the send limit without keeping the
    /// address: a tag of the kind of message and the normalized address.
    pub fn recipient_key(&self, kind: &str, address: &str) -> Vec<u8> {
        self.tag(&[b"recipient", kind.as_bytes(), address.as_bytes()])
    }

    /// The tag of `parts`, each preceded by its length so no two lists of parts
    /// share an input.
    fn tag(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut context = hmac::Context::with_key(&self.0);
        for part in parts {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        context.sign().as_ref().to_vec()
    }
}

/// Whether `token` has the shape of a link token, and `code` of a code: anything
/// else is refused before the store is asked.
pub fn well_formed_token(token: &SecretString) -> bool {
    let token = token.expose_secret();
    token.len() == TOKEN_LENGTH
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn well_formed_code(code: &SecretString) -> bool {
    let code = code.expose_secret();
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// A uniformly random number below `bound`: random 32-bit draws, rejecting those
/// past the last whole multiple of `bound` (plain `% bound` would favour low codes).
fn uniform_below(bound: u32) -> Result<u32, Unspecified> {
    let limit = u32::MAX - u32::MAX % bound;
    loop {
        let mut bytes = [0u8; 4];
        aws_lc_rs::rand::fill(&mut bytes)?;
        let draw = u32::from_be_bytes(bytes);
        if draw < limit {
            return Ok(draw % bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_bound_to_its_purpose_and_address() {
        let key = CodeKey::new(b"a server secret of thirty-two by");
        let issued = key.issue("reset_password", "ada@example.com").unwrap();
        let code = issued.code.expose_secret();
        assert!(well_formed_code(&issued.code), "{code}");
        assert!(well_formed_token(&issued.token));
        assert_eq!(
            key.code_hash("reset_password", "ada@example.com", code),
            issued.code_hash
        );
        assert_ne!(
            key.code_hash("sign_in", "ada@example.com", code),
            issued.code_hash
        );
        assert_ne!(
            key.code_hash("reset_password", "bob@example.com", code),
            issued.code_hash
        );
        // Another server's key makes other tags.
        let other = CodeKey::new(b"another secret of thirty-two byt");
        assert_ne!(
            other.code_hash("reset_password", "ada@example.com", code),
            issued.code_hash
        );
        assert_eq!(
            key.token_hash(issued.token.expose_secret()),
            issued.token_hash
        );
    }

    #[test]
    fn codes_cover_every_digit_evenly() {
        let mut counts = [0u32; 10];
        for _ in 0..2_000 {
            let draw = uniform_below(1_000_000).unwrap();
            assert!(draw < 1_000_000);
            counts[(draw / 100_000) as usize] += 1;
        }
        // 200 expected per leading digit; 100 would be far outside chance.
        assert!(counts.iter().all(|&n| n > 100), "{counts:?}");
    }

    #[test]
    fn malformed_secrets_are_refused_by_shape() {
        for bad in ["12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(!well_formed_code(&SecretString::from(bad)), "{bad}");
        }
        assert!(!well_formed_token(&SecretString::from("x".repeat(44))));
        assert!(!well_formed_token(&SecretString::from(format!(
            "{}=",
            "x".repeat(42)
        ))));
    }
}
