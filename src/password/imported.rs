//! Hashes brought in by `sesame user import`, checked once for form before storing.

use argon2::{Params, PasswordHash};
use secrecy::SecretString;

/// A hash accepted by `sesame user import`: bcrypt (passlib's `$2a$`, `$2b$`, `$2y$`) or
/// an Argon2 PHC string.
#[derive(Debug)]
pub struct ImportedHash(SecretString);

impl ImportedHash {
    pub fn parse(hash: &str) -> Result<Self, &'static str> {
        if is_bcrypt(hash) {
            hash.parse::<bcrypt::HashParts>()
                .map_err(|_| "malformed bcrypt hash")?;
        } else if hash.starts_with("$argon2") {
            let parsed = PasswordHash::new(hash).map_err(|_| "malformed Argon2 PHC string")?;
            Params::try_from(&parsed).map_err(|_| "unsupported Argon2 parameters")?;
        } else {
            return Err("unsupported hash format (expected bcrypt $2a$/$2b$/$2y$ or Argon2 PHC)");
        }
        Ok(Self(SecretString::from(hash)))
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

pub(super) fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}
