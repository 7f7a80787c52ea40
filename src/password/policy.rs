//! What a new password must be: 8 characters or more both as sent and after NFKC
//! normalization, at most 1,024 bytes, and not one of the most common passwords.

use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

pub const MIN_CHARS: usize = 8;
pub const MAX_BYTES: usize = 1024;

/// The 8,000-odd most common passwords of 8 characters or more, lowercased, NFKC
/// normalized and sorted (from Django's CommonPasswordValidator list, BSD licence).
const COMMON: &str = include_str!("common-passwords.txt");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password must be at least {MIN_CHARS} characters long")]
    TooShort,
    #[error("the password must be at most {MAX_BYTES} bytes long")]
    TooLong,
    #[error("this password is one of the most commonly used passwords; choose another")]
    Common,
    #[error("the password must not be your email address")]
    SameAsEmail,
}

/// NFKC-normalizes a password, so the same characters typed on different keyboards
/// (composed or decomposed accents, full-width forms) give the same password.
pub fn normalize(password: &SecretString) -> SecretString {
    SecretString::from(password.expose_secret().nfkc().collect::<String>())
}

/// Checks a new password against the policy and returns its normalized form.
pub fn validate_new(password: &SecretString, email: &str) -> Result<SecretString, PolicyError> {
    // Checked before normalizing so an oversized body costs nothing more.
    if password.expose_secret().len() > MAX_BYTES {
        return Err(PolicyError::TooLong);
    }
    let normalized = normalize(password);
    let text = normalized.expose_secret();
    if text.len() > MAX_BYTES {
        return Err(PolicyError::TooLong);
    }
    // Both counts: as sent, so the published schema's `minLength` (which counts what the
    // client sends) is the rule; normalized, so combining marks that compose away do
    // not count twice.
    let sent = password.expose_secret().chars().count();
    if sent.min(text.chars().count()) < MIN_CHARS {
        return Err(PolicyError::TooShort);
    }
    let lowered = text.to_lowercase();
    if is_common(&lowered) {
        return Err(PolicyError::Common);
    }
    let email = email.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    if lowered == email || lowered == local_part {
        return Err(PolicyError::SameAsEmail);
    }
    Ok(normalized)
}

fn is_common(lowered: &str) -> bool {
    // Built once on first use; the file is sorted, so lookups are a binary search.
    static LIST: LazyLock<Vec<&'static str>> = LazyLock::new(|| COMMON.lines().collect());
    LIST.binary_search(&lowered).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<SecretString, PolicyError> {
        validate_new(&SecretString::from(password), "ada@example.com")
    }

    #[test]
    fn common_list_is_sorted_and_normalized() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.len() > 5_000);
        assert!(
            lines.windows(2).all(|w| w[0] < w[1]),
            "list must stay sorted"
        );
        for line in lines {
            assert_eq!(line, line.nfkc().collect::<String>().to_lowercase());
        }
    }

    #[test]
    fn refuses_common_passwords_in_any_case() {
        assert_eq!(check("password1").unwrap_err(), PolicyError::Common);
        assert_eq!(check("PassWord1").unwrap_err(), PolicyError::Common);
        assert_eq!(check("12345678").unwrap_err(), PolicyError::Common);
    }

    #[test]
    fn length_is_counted_in_characters_and_capped_in_bytes() {
        assert_eq!(check("short").unwrap_err(), PolicyError::TooShort);
        // Eight characters, sixteen bytes: long enough.
        assert!(check("ééééééé1").is_ok());
        assert!(check(&"x".repeat(1024)).is_ok());
        assert_eq!(check(&"x".repeat(1025)).unwrap_err(), PolicyError::TooLong);
    }

    #[test]
    fn length_is_counted_as_sent_and_as_normalized() {
        // Seven characters sent, eight after NFKC (U+02DC becomes a space and a mark).
        assert_eq!(check("Ωçx√∫˜µ").unwrap_err(), PolicyError::TooShort);
        // Eight sent, four after NFKC (each e and combining acute compose into é).
        let combined = "e\u{301}".repeat(4);
        assert_eq!(check(&combined).unwrap_err(), PolicyError::TooShort);
    }

    #[test]
    fn normalizes_to_nfkc() {
        let composed = check("caf\u{e9} au lait").unwrap();
        let decomposed = check("cafe\u{301} au lait").unwrap();
        assert_eq!(composed.expose_secret(), decomposed.expose_secret());
    }

    #[test]
    fn refuses_the_email_as_password() {
        assert_eq!(
            check("ADA@example.com").unwrap_err(),
            PolicyError::SameAsEmail
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Passwords near the limits: short and long, ASCII and multi-byte, with
        /// combining marks and compatibility forms that NFKC rewrites.
        fn password() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[a-z]{0,12}",
                "(é|e\u{301}|ﬁ|Ａ|˜|😀|x){0,12}",
                (1_000usize..1_100).prop_map(|n| "x".repeat(n)),
                (250usize..270).prop_map(|n| "😀".repeat(n)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3_000))]

            /// Whatever is accepted fits both limits, as sent and as stored; whatever
            /// is refused as too short or too long really is.
            #[test]
            fn limits_hold_as_sent_and_as_stored(raw in password()) {
                let secret = SecretString::from(raw.clone());
                let normalized: String = raw.nfkc().collect();
                let shortest = raw.chars().count().min(normalized.chars().count());
                let longest = raw.len().max(normalized.len());
                match validate_new(&secret, "ada@example.com") {
                    Ok(stored) => {
                        prop_assert_eq!(stored.expose_secret(), normalized.as_str());
                        prop_assert!(shortest >= MIN_CHARS && longest <= MAX_BYTES);
                    }
                    Err(PolicyError::TooLong) => prop_assert!(longest > MAX_BYTES),
                    Err(PolicyError::TooShort) => {
                        prop_assert!(longest <= MAX_BYTES && shortest < MIN_CHARS);
                    }
                    Err(PolicyError::Common | PolicyError::SameAsEmail) => {
                        prop_assert!(shortest >= MIN_CHARS && longest <= MAX_BYTES);
                    }
                }
            }

            /// A stored password passes the policy again unchanged: changing it back
            /// later, or re-checking it, cannot fail or drift.
            #[test]
            fn an_accepted_password_is_a_fixed_point(raw in password()) {
                if let Ok(stored) = validate_new(&SecretString::from(raw), "ada@example.com") {
                    let again = validate_new(&stored, "ada@example.com").unwrap();
                    prop_assert_eq!(again.expose_secret(), stored.expose_secret());
                }
            }
        }
    }
}
