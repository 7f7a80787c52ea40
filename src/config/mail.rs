//! The mail settings: the relay or the folder, the sender, the links' base.

use std::path::PathBuf;

use secrecy::SecretString;

/// Where mail goes and what its links point at.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: messages are written into `dir`.
    pub smtp_url: Option<SecretString>,
    pub from: String,
    pub dir: PathBuf,
    /// Base of links in messages; `None`: the issuer.
    pub public_url: Option<String>,
    pub templates: Option<PathBuf>,
    pub require_verified_email: bool,
}
