//! How a login happened, as the `amr` claim says it (RFC 8176): what the session was
//! opened with, kept on the session so a refresh says the same.

use serde::{Deserialize, Serialize};

/// RFC 8176 method names, in the order they were used, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amr(Vec<String>);

impl Amr {
    /// A password.
    pub const PWD: &str = "pwd";
    /// A one-time password: TOTP, recovery code, emailed code or link.
    pub const OTP: &str = "otp";
    /// Two or more factors.
    pub const MFA: &str = "mfa";
    /// A key held in hardware: a device-bound passkey.
    pub const HWK: &str = "hwk";
    /// A key held in software: a synced passkey.
    pub const SWK: &str = "swk";
    /// User verification (a PIN or biometric on the authenticator).
    pub const USER: &str = "user";

    /// What a passkey login proves: the key, and user verification when done.
    pub fn passkey(synced: bool, user_verified: bool) -> Self {
        let key = Self::of(if synced { Self::SWK } else { Self::HWK });
        if user_verified {
            key.with(Self::USER)
        } else {
            key
        }
    }

    pub fn of(method: &str) -> Self {
        Self(vec![method.to_owned()])
    }

    /// `method` added, unless it is there already.
    #[must_use]
    pub fn with(mut self, method: &str) -> Self {
        if !self.0.iter().any(|had| had == method) {
            self.0.push(method.to_owned());
        }
        self
    }

    /// This login finished with a second factor whose methods are `second`: they
    /// are added, then `mfa`, each once.
    #[must_use]
    pub fn and_second(self, second: &Amr) -> Self {
        second
            .0
            .iter()
            .fold(self, |amr, method| amr.with(method))
            .with(Self::MFA)
    }

    pub fn methods(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As stored: a JSON array.
    pub fn to_json(&self) -> String {
        serde_json::Value::from(self.0.clone()).to_string()
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_factor_adds_its_method_and_mfa_once() {
        let pwd_totp = Amr::of(Amr::PWD).and_second(&Amr::of(Amr::OTP));
        assert_eq!(pwd_totp.methods(), ["pwd", "otp", "mfa"]);
        let pwd_passkey = Amr::of(Amr::PWD).and_second(&Amr::passkey(true, true));
        assert_eq!(pwd_passkey.methods(), ["pwd", "swk", "user", "mfa"]);
        assert_eq!(Amr::passkey(false, true).methods(), ["hwk", "user"]);
        // An emailed code then a TOTP code: two factors, both one-time passwords.
        let code_totp = Amr::of(Amr::OTP).and_second(&Amr::of(Amr::OTP));
        assert_eq!(code_totp.methods(), ["otp", "mfa"]);
        assert_eq!(Amr::from_json(&pwd_totp.to_json()).unwrap(), pwd_totp);
        assert!(Amr::from_json("[]").unwrap().is_empty());
    }
}
