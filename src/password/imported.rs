//! Hashes brought in by `sesame user import`, checked once for form before storing.

use argon2::{Params, PasswordHash};
use secrecy::SecretString;

/// The costliest imported hash a login may have to check: RFC 9106's first recommended
/// Argon2 setting (2 GiB) and bcrypt cost 16 (seconds per check). Past these a single
/// login could exhaust the machine's memory or a hashing worker for minutes.
const MAX_ARGON2_MEMORY_KIB: u32 = 2 * 1024 * 1024;
const MAX_ARGON2_PASSES: u32 = 16;
const MAX_BCRYPT_COST: u32 = 16;

/// A hash accepted by `sesame user import`: bcrypt (passlib's `$2a$`, `$2b$`, `$2y$`) or
/// an Argon2 PHC string.
#[derive(Debug)]
pub struct ImportedHash(SecretString);

impl ImportedHash {
    pub fn parse(hash: &str) -> Result<Self, &'static str> {
        if is_bcrypt(hash) {
            let parts = hash
                .parse::<bcrypt::HashParts>()
                .map_err(|_| "malformed bcrypt hash")?;
            if parts.get_cost() > MAX_BCRYPT_COST {
                return Err("bcrypt cost above 16");
            }
        } else if hash.starts_with("$argon2") {
            let parsed = PasswordHash::new(hash).map_err(|_| "malformed Argon2 PHC string")?;
            let params = Params::try_from(&parsed).map_err(|_| "unsupported Argon2 parameters")?;
            if params.m_cost() > MAX_ARGON2_MEMORY_KIB || params.t_cost() > MAX_ARGON2_PASSES {
                return Err("Argon2 parameters above m=2097152 (2 GiB) or t=16");
            }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn refuses_hashes_too_costly_to_check() {
        let salt = "c29tZXNhbHRzb21lc2FsdA";
        let output = "E4ELPRKbVQ8zyYJW6LYHhrAvmnvBrKNNl7SwSxY2KXI";
        let argon = |m: u32, t: u32| format!("$argon2id$v=19$m={m},t={t},p=1${salt}${output}");
        assert!(ImportedHash::parse(&argon(19_456, 2)).is_ok());
        assert!(ImportedHash::parse(&argon(MAX_ARGON2_MEMORY_KIB, 1)).is_ok());
        assert!(ImportedHash::parse(&argon(MAX_ARGON2_MEMORY_KIB + 1, 1)).is_err());
        assert!(ImportedHash::parse(&argon(19_456, 17)).is_err());
        let bcrypt = |cost: u32| {
            format!("$2b${cost:02}$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
        };
        assert!(ImportedHash::parse(&bcrypt(12)).is_ok());
        assert!(ImportedHash::parse(&bcrypt(17)).is_err());
    }

    fn hash_shaped() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            ("\\$2[aby]\\$", "[0-9]{1,2}", "\\$[./A-Za-z0-9]{0,60}")
                .prop_map(|(p, cost, rest)| format!("{p}{cost}{rest}")),
            (
                "\\$argon2(id|i|d)?\\$(v=[0-9]{1,3}\\$)?",
                "m=[0-9]{1,11},t=[0-9]{1,11},p=[0-9]{1,4}",
                "(\\$[A-Za-z0-9+/]{0,30}){0,3}",
            )
                .prop_map(|(p, params, rest)| format!("{p}{params}{rest}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// Any text is accepted or refused with a reason, never a panic; what is
        /// accepted is a hash a login can check within the bounds above.
        #[test]
        fn accepted_hashes_are_well_formed_and_bounded(hash in hash_shaped()) {
            if let Ok(imported) = ImportedHash::parse(&hash) {
                if is_bcrypt(&hash) {
                    let parts: bcrypt::HashParts = hash.parse().unwrap();
                    prop_assert!(parts.get_cost() <= MAX_BCRYPT_COST);
                } else {
                    let parsed = PasswordHash::new(&hash).unwrap();
                    let params = Params::try_from(&parsed).unwrap();
                    prop_assert!(params.m_cost() <= MAX_ARGON2_MEMORY_KIB);
                    prop_assert!(params.t_cost() <= MAX_ARGON2_PASSES);
                }
                let stored = imported.into_secret();
                prop_assert_eq!(stored.expose_secret(), hash.as_str());
            }
        }
    }
}
