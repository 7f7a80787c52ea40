//! Email addresses: checked for shape, and normalized for uniqueness and lookup.

use email_address::EmailAddress;
use unicode_normalization::UnicodeNormalization;

/// RFC 5321's limit on a forward path, less the angle brackets.
const MAX_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("this is not a valid email address (expected name@example.com)")]
    Invalid,
}

/// An address in the form that is unique in the store: trimmed, NFKC, lowercased, its
/// domain in IDNA ASCII. Made only by [`normalize_email`], so a store lookup can take
/// nothing that was not parsed first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedEmail(String);

impl NormalizedEmail {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NormalizedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<NormalizedEmail> for String {
    fn from(email: NormalizedEmail) -> Self {
        email.0
    }
}

/// Returns the address as it will be shown (trimmed, NFKC) and the normalized form
/// (also lowercased) that is unique in the store.
pub fn normalize_email(raw: &str) -> Result<(String, NormalizedEmail), EmailError> {
    let display: String = raw.trim().nfkc().collect();
    if display.is_empty() {
        return Err(EmailError::Empty);
    }
    if display.chars().count() > MAX_LEN {
        return Err(EmailError::TooLong);
    }
    // Plain addresses only: no display names ("Ada <ada@…>"), no quoted local parts.
    let parsed = EmailAddress::parse_with_options(
        &display,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    )
    .map_err(|_| EmailError::Invalid)?;
    if parsed.local_part().starts_with('"') {
        return Err(EmailError::Invalid);
    }
    // One mailbox, one account, whatever script its domain is typed in: the domain is
    // compared and stored as IDNA (UTS 46) ASCII, and must be a valid host name.
    let domain = idna::domain_to_ascii_strict(parsed.domain()).map_err(|_| EmailError::Invalid)?;
    if !domain.contains('.') {
        return Err(EmailError::Invalid);
    }
    let normalized = format!("{}@{domain}", parsed.local_part().to_lowercase());
    Ok((display, NormalizedEmail(normalized)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace() {
        let (display, normalized) = normalize_email("  Ada@Example.COM ").unwrap();
        assert_eq!(display, "Ada@Example.COM");
        assert_eq!(normalized.as_str(), "ada@example.com");
    }

    #[test]
    fn refuses_what_is_not_a_plain_address() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "Ada <ada@example.com>",
            "ada@localhost",
            "ada@exa_mple.com",
            "ada@-example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(normalize_email(&long).unwrap_err(), EmailError::TooLong);
    }

    #[test]
    fn a_domain_in_any_script_is_one_account() {
        let (display, unicode) = normalize_email("Ada@Ру.com").unwrap();
        assert_eq!(display, "Ada@Ру.com");
        assert_eq!(unicode.as_str(), "ada@xn--p1ag.com");
        assert_eq!(normalize_email("ada@XN--P1AG.com").unwrap().1, unicode);
        assert_eq!(
            normalize_email("ada@straße.de").unwrap().1.as_str(),
            "ada@xn--strae-oqa.de"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Local parts and domain labels as people type them: ASCII of any case, letters
        /// of other scripts, full-width forms, and the odd character that is refused.
        fn local_part() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9._+!#%-]{1,12}|[a-zA-Zа-яА-ЯäöüßÄÖÜａ-ｚＡ-Ｚ0-9]{1,12}"
        }

        fn label() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9]{1,10}|[a-zа-яА-Яäöüßα-ωΑ-Ωａ-ｚＡ-Ｚ]{1,10}"
        }

        fn address() -> impl Strategy<Value = String> {
            (
                local_part(),
                prop::collection::vec(label(), 1..3),
                "[a-z]{2,6}|[а-я]{2,4}",
            )
                .prop_map(|(local, labels, tld)| format!("{local}@{}.{tld}", labels.join(".")))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn never_panics_on_any_text(raw in any::<String>()) {
                let _ = normalize_email(&raw);
            }

            /// What is stored is a fixed point: looking an account up by its stored
            /// address, or by what was typed, finds the same row.
            #[test]
            fn normalizing_is_idempotent(raw in address()) {
                if let Ok((display, normalized)) = normalize_email(&raw) {
                    prop_assert_eq!(&normalize_email(normalized.as_str()).unwrap().1, &normalized);
                    prop_assert_eq!(&normalize_email(&display).unwrap().1, &normalized);
                }
            }

            /// A domain typed in its own script, in upper case, in full-width forms or
            /// as its IDNA A-label is one mailbox.
            #[test]
            fn nfkc_and_idna_agree_on_the_domain(local in "[a-z0-9]{1,10}", labels in prop::collection::vec(label(), 1..3)) {
                let domain = format!("{}.com", labels.join("."));
                let Ok((_, normalized)) = normalize_email(&format!("{local}@{domain}")) else {
                    return Ok(());
                };
                let ascii = normalized.as_str().split('@').nth(1).unwrap().to_owned();
                prop_assert!(ascii.is_ascii());
                let mut spellings = vec![
                    format!("{local}@{ascii}"),
                    format!("{local}@{}", ascii.to_uppercase()),
                    format!("{local}@{}", domain.chars().map(full_width).collect::<String>()),
                ];
                // Upper case only where it maps back: ß becomes SS, another domain; and
                // a final ς becomes Σ, which IDNA lowers to σ (IDNA 2008 keeps ς and
                // σ apart, where Rust's to_lowercase turns a word's last Σ into ς).
                let upper = domain.to_uppercase();
                if upper.to_lowercase() == domain.to_lowercase() && !domain.contains('ς') {
                    spellings.push(format!("{local}@{upper}"));
                }
                for spelling in spellings {
                    prop_assert_eq!(&normalize_email(&spelling).unwrap().1, &normalized, "{}", spelling);
                }
            }
        }

        /// The full-width form of an ASCII letter or digit (NFKC folds it back).
        fn full_width(c: char) -> char {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        }
    }
}
