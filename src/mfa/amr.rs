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

    pub fn of(method: &str) -> Self {
        Self(vec![method.to_owned()])
    }

    /// This login finished with a second factor `method`: `mfa` is added, once.
    #[must_use]
    pub fn and_second(mut self, method: &str) -> Self {
        for name in [method, Self::MFA] {
            if !self.0.iter().any(|had| had == name) {
                self.0.push(name.to_owned());
            }
        }
        self
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
        let pwd_totp = Amr::of(Amr::PWD).and_second(Amr::OTP);
        assert_eq!(pwd_totp.methods(), ["pwd", "otp", "mfa"]);
        // An emailed code then a TOTP code: two factors, both one-time passwords.
        let code_totp = Amr::of(Amr::OTP).and_second(Amr::OTP);
        assert_eq!(code_totp.methods(), ["otp", "mfa"]);
        assert_eq!(Amr::from_json(&pwd_totp.to_json()).unwrap(), pwd_totp);
        assert!(Amr::from_json("[]").unwrap().is_empty());
    }
}
