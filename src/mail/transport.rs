//! Where messages go: an SMTP relay (`--smtp-url`), or with none, `.eml` files in
//! `--mail-dir`, so a server started with no setup still shows its mail.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::store::QueuedMail;

/// Longest wait for the relay on one message.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files {
        dir: PathBuf,
        files: AsyncFileTransport<Tokio1Executor>,
    },
}

/// Why a message was not delivered, and whether trying again could help.
#[derive(Debug)]
pub struct SendFailure {
    pub permanent: bool,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid --smtp-url: {0}")]
    Url(String),
    #[error("cannot create the mail directory {dir}: {source}")]
    MailDir { dir: String, source: std::io::Error },
}

impl Transport {
    /// SMTP when `smtp_url` is set (`smtp://`, `smtp+starttls://` or `smtps://`),
    /// `.eml` files in `mail_dir` otherwise.
    pub fn new(smtp_url: Option<&SecretString>, mail_dir: &Path) -> Result<Self, TransportError> {
        let Some(url) = smtp_url else {
            private_dir(mail_dir).map_err(|source| TransportError::MailDir {
                dir: mail_dir.display().to_string(),
                source,
            })?;
            tracing::warn!(
                dir = %mail_dir.display(),
                "mail is written to .eml files, a development transport: \
                 nothing is delivered or deleted; set --smtp-url for real mail"
            );
            return Ok(Self::Files {
                dir: mail_dir.to_owned(),
                files: AsyncFileTransport::new(mail_dir),
            });
        };
        let url = lettre_url(url.expose_secret())?;
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            // lettre's message may quote the URL, password included: say only what
            // kind of mistake it is.
            .map_err(|_| {
                TransportError::Url(
                    "expected smtp://, smtp+starttls:// or smtps:// with a host".to_owned(),
                )
            })?;
        Ok(Self::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build()))
    }

    /// Delivers `mail`; for a file, the name it was written to.
    pub async fn send(
        &self,
        from: &Mailbox,
        mail: &QueuedMail,
    ) -> Result<Option<String>, SendFailure> {
        let message = message(from, mail)?;
        match self {
            Self::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| None)
                .map_err(|e| SendFailure {
                    // A 5xx reply is final; a 4xx reply, a refused or dropped connection,
                    // or a timeout is worth another try.
                    permanent: e.is_permanent(),
                    reason: without_addresses(&e.to_string()),
                }),
            Self::Files { dir, files } => {
                let id = files.send(message).await.map_err(|e| SendFailure {
                    permanent: false,
                    reason: e.to_string(),
                })?;
                let path = dir.join(format!("{id}.eml"));
                // A message holds a code: for the owner's eyes only (the folder is
                // already closed to others, so the moment before this is no gap).
                let private = std::fs::Permissions::from_mode(0o600);
                tokio::fs::set_permissions(&path, private)
                    .await
                    .map_err(|e| SendFailure {
                        permanent: false,
                        reason: format!("cannot make the message file private: {e}"),
                    })?;
                Ok(Some(path.display().to_string()))
            }
        }
    }
}

/// A relay's reply with every address in it replaced: relays echo the recipient
/// ("550 5.1.1 <ada@example.com>: unknown"), and the reason is logged and stored
/// after the recipient itself is erased.
fn without_addresses(reply: &str) -> String {
    reply
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates `dir` open to its owner only (0700), or closes an existing one to others:
/// the messages in it carry codes and links.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// The message as sent: both bodies, the plain text first (RFC 2046 puts the
/// preferred last).
fn message(from: &Mailbox, mail: &QueuedMail) -> Result<Message, SendFailure> {
    let permanent = |reason: String| SendFailure {
        permanent: true,
        reason,
    };
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| permanent(format!("the recipient's address cannot be used: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .multipart(MultiPart::alternative_plain_html(
            mail.body_text.clone(),
            mail.body_html.clone(),
        ))
        .map_err(|e| permanent(format!("the message cannot be built: {e}")))
}

/// lettre's spelling of a connection URL: STARTTLS is `smtp://…?tls=required`.
fn lettre_url(url: &str) -> Result<String, TransportError> {
    if let Some(rest) = url.strip_prefix("smtp+starttls://") {
        let separator = if rest.contains('?') { '&' } else { '?' };
        return Ok(format!("smtp://{rest}{separator}tls=required"));
    }
    if url.starts_with("smtp://") || url.starts_with("smtps://") {
        return Ok(url.to_owned());
    }
    Err(TransportError::Url(
        "expected a URL starting with smtp://, smtp+starttls:// or smtps://".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relays_reply_loses_its_addresses() {
        let reply = "permanent error (550): 5.1.1 <ada@example.com>: Recipient rejected";
        let kept = without_addresses(reply);
        assert!(!kept.contains("ada"), "{kept}");
        assert_eq!(
            kept,
            "permanent error (550): 5.1.1 [address] Recipient rejected"
        );
    }

    #[test]
    fn starttls_urls_become_lettres_and_the_rest_pass_or_fail_plainly() {
        assert_eq!(
            lettre_url("smtp+starttls://u:p@relay:587").unwrap(),
            "smtp://u:p@relay:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtps://u:p@relay").unwrap(),
            "smtps://u:p@relay"
        );
        let err = lettre_url("http://u:secret@relay").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let url = SecretString::from("smtp://u:secret@/");
        let err = Transport::new(Some(&url), Path::new("/nonexistent"))
            .err()
            .unwrap();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
