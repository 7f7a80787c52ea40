//! Recovery codes: ten per set, 80 random bits each, shown once and stored only as
//! SHA-256 digests (with that much entropy a fast hash leaves nothing to guess).

use aws_lc_rs::digest::{SHA256, digest};

/// How many codes a set has.
pub const RECOVERY_CODES: usize = 10;
/// Lowercase base32 without padding: no 0/1/8/9, so no O/I/B/g confusion.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// 16 characters of 5 bits.
const CHARS: usize = 16;

/// A recovery code as shown to the user, `xxxx-xxxx-xxxx-xxxx`.
pub struct RecoveryCode(zeroize::Zeroizing<String>);

impl RecoveryCode {
    /// A fresh set of [`RECOVERY_CODES`] codes.
    pub fn generate_set() -> Result<Vec<Self>, aws_lc_rs::error::Unspecified> {
        (0..RECOVERY_CODES).map(|_| Self::generate()).collect()
    }

    fn generate() -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut random = [0u8; CHARS];
        aws_lc_rs::rand::fill(&mut random)?;
        let mut code = String::with_capacity(CHARS + 3);
        for (i, byte) in random.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(char::from(ALPHABET[usize::from(byte & 31)]));
        }
        Ok(Self(zeroize::Zeroizing::new(code)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> Vec<u8> {
        recovery_digest(&self.0)
    }
}

/// The stored digest of a code as typed: case, spaces and dashes do not matter.
pub fn recovery_digest(typed: &str) -> Vec<u8> {
    let canonical: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    digest(&SHA256, canonical.as_bytes()).as_ref().to_vec()
}

/// Whether `typed` could be a recovery code at all (checked before any work).
pub fn well_formed_recovery_code(typed: &str) -> bool {
    let significant = typed.chars().filter(|c| !matches!(c, '-' | ' ')).count();
    typed.len() <= 40
        && significant == CHARS
        && typed.chars().all(|c| {
            matches!(c, '-' | ' ')
                || u8::try_from(c.to_ascii_lowercase()).is_ok_and(|b| ALPHABET.contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_well_formed_codes_that_digest_as_typed() {
        let set = RecoveryCode::generate_set().unwrap();
        assert_eq!(set.len(), RECOVERY_CODES);
        let digests: std::collections::HashSet<_> = set.iter().map(RecoveryCode::digest).collect();
        assert_eq!(digests.len(), RECOVERY_CODES);
        let code = set[0].as_str();
        assert_eq!(code.len(), 19);
        assert!(well_formed_recovery_code(code));
        let sloppy = code.to_uppercase().replace('-', " ");
        assert!(well_formed_recovery_code(&sloppy));
        assert_eq!(recovery_digest(&sloppy), set[0].digest());
        assert!(!well_formed_recovery_code("abcd-efgh"));
        assert!(!well_formed_recovery_code("abcd-efgh-ijkl-mno1"));
    }
}
