//! Second factors, apart from storage and HTTP: TOTP (RFC 6238) enrollment and
//! checking, recovery codes, passkey ceremonies, and the key that keeps TOTP secrets
//! unreadable in a copy of the database.

mod key;
mod passkeys;
mod recovery;
mod totp;

pub use key::{FactorKey, FactorKeyError};
pub use passkeys::{Ceremony, PasskeyError, Passkeys, Registered, Verified};
pub use recovery::{RECOVERY_CODES, RecoveryCode, recovery_digest, well_formed_recovery_code};
pub use totp::{Enrollment, TotpError, TotpSecret, well_formed_totp_code};

/// A second-factor method a login may be finished with, as `mfa_required` lists them.
pub const TOTP: &str = "totp";
pub const RECOVERY_CODE: &str = "recovery_code";
pub const PASSKEY: &str = "passkey";
