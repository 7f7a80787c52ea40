//! TOTP as RFC 6238 and every authenticator app has it: SHA-1, 6 digits, 30-second
//! steps, one step of skew either way (totp-rs). Checking answers the time step a code
//! matched; the store accepts each step once, which is what makes a code single-use.

use qrcode::QrCode;
use qrcode::render::svg;
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const DIGITS: u8 = 6;
const STEP_SECONDS: u64 = 30;
const SKEW_STEPS: u16 = 1;

/// A TOTP secret in clear: only ever in memory, sealed with the factor key at rest.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

/// What a user needs to add the factor to an app.
pub struct Enrollment {
    /// Base32, for typing in by hand.
    pub secret: Zeroizing<String>,
    pub otpauth_uri: Zeroizing<String>,
    pub qr_svg: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the TOTP enrollment: {0}")]
pub struct TotpError(String);

impl TotpSecret {
    pub fn generate() -> Result<Self, TotpError> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        aws_lc_rs::rand::fill(bytes.as_mut_slice()).map_err(|e| TotpError(e.to_string()))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, issuer: &str, account: &str) -> Result<Totp, TotpError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(Secret::from(self.0.to_vec()))
            .with_issuer(Some(issuer))
            .with_account_name(account)
            .build()
            .map_err(|e| TotpError(e.to_string()))
    }

    /// The secret, its `otpauth://` URI and that URI as a QR code, for `account` (the
    /// user's address) under `issuer` (neither may hold a colon).
    pub fn enrollment(&self, issuer: &str, account: &str) -> Result<Enrollment, TotpError> {
        let totp = self.totp(issuer, account)?;
        let uri = Zeroizing::new(totp.to_url().map_err(|e| TotpError(e.to_string()))?);
        let qr = QrCode::new(uri.as_bytes()).map_err(|e| TotpError(e.to_string()))?;
        let qr_svg = qr
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        Ok(Enrollment {
            secret: Zeroizing::new(totp.secret().to_base32()),
            otpauth_uri: uri,
            qr_svg,
        })
    }

    /// The time step `code` is valid for at `now` (±1 step), if any. The caller must
    /// still have the store accept the step, once.
    pub fn matching_step(&self, code: &str, now: OffsetDateTime) -> Option<i64> {
        let totp = self.totp("Sesame", "user").ok()?;
        let seconds = u64::try_from(now.unix_timestamp()).ok()?;
        let step = totp.check(code, seconds)?;
        i64::try_from(step).ok()
    }
}

/// Six ASCII digits: anything else is refused before any work.
pub fn well_formed_totp_code(code: &str) -> bool {
    code.len() == usize::from(DIGITS) && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 (8 digits there; the last 6 are the 6-digit code).
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn the_rfc_6238_vectors_match_their_step_with_one_step_of_skew() {
        let secret = TotpSecret::from_bytes(Zeroizing::new(RFC_SECRET.to_vec()));
        assert_eq!(secret.matching_step("287082", at(59)), Some(1));
        assert_eq!(
            secret.matching_step("081804", at(1_111_111_109)),
            Some(37_037_036)
        );
        assert_eq!(
            secret.matching_step("050471", at(1_111_111_111)),
            Some(37_037_037)
        );
        // One step late or early still matches; two do not.
        assert_eq!(secret.matching_step("287082", at(89)), Some(1));
        assert_eq!(secret.matching_step("287082", at(119)), None);
        assert_eq!(secret.matching_step("000000", at(59)), None);
    }

    #[test]
    fn an_enrollment_names_the_account_and_draws_its_uri() {
        let secret = TotpSecret::generate().unwrap();
        let enrollment = secret.enrollment("Sesame", "ada@example.com").unwrap();
        assert_eq!(enrollment.secret.len(), 32, "160 bits of base32");
        assert!(
            enrollment
                .otpauth_uri
                .starts_with("otpauth://totp/Sesame:ada%40example.com?")
        );
        assert!(enrollment.otpauth_uri.contains(enrollment.secret.as_str()));
        assert!(enrollment.qr_svg.contains("<svg"));
        assert!(well_formed_totp_code("012345"));
        assert!(!well_formed_totp_code("12345") && !well_formed_totp_code("12345a"));
    }
}
