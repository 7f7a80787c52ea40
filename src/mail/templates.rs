//! The messages' text: a subject, a plain-text body and an HTML body per kind, built
//! in and overridable one file at a time from `--templates DIR` (same file names).
//! HTML templates escape every value; the plain-text part is always sent.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

use crate::store::NewMail;

/// Every message Sesame sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    VerifyEmail,
    ResetPassword,
    SignIn,
    ChangeEmail,
    PasswordChanged,
    EmailChanged,
    AccountExists,
    RecoveryCodeUsed,
    FactorsRemoved,
    /// A notice of a change to the account's security (a factor, the password, the
    /// address, a disable): `change` says which.
    AccountChanged,
    RemoveFactors,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Self::VerifyEmail,
        Self::ResetPassword,
        Self::SignIn,
        Self::ChangeEmail,
        Self::PasswordChanged,
        Self::EmailChanged,
        Self::AccountExists,
        Self::RecoveryCodeUsed,
        Self::FactorsRemoved,
        Self::AccountChanged,
        Self::RemoveFactors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
            Self::SignIn => "sign_in",
            Self::ChangeEmail => "change_email",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::AccountExists => "account_exists",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::FactorsRemoved => "factors_removed",
            Self::AccountChanged => "account_changed",
            Self::RemoveFactors => "remove_factors",
        }
    }

    /// The built-in subject, text and HTML templates.
    fn built_in(self) -> [&'static str; 3] {
        macro_rules! files {
            ($name:literal) => {
                [
                    include_str!(concat!("templates/", $name, ".subject")),
                    include_str!(concat!("templates/", $name, ".txt")),
                    include_str!(concat!("templates/", $name, ".html")),
                ]
            };
        }
        match self {
            Self::VerifyEmail => files!("verify_email"),
            Self::ResetPassword => files!("reset_password"),
            Self::SignIn => files!("sign_in"),
            Self::ChangeEmail => files!("change_email"),
            Self::PasswordChanged => files!("password_changed"),
            Self::EmailChanged => files!("email_changed"),
            Self::AccountExists => files!("account_exists"),
            Self::RecoveryCodeUsed => files!("recovery_code_used"),
            Self::FactorsRemoved => files!("factors_removed"),
            Self::AccountChanged => files!("account_changed"),
            Self::RemoveFactors => files!("remove_factors"),
        }
    }
}

/// The three parts of a template set, by file extension.
const PARTS: [&str; 3] = ["subject", "txt", "html"];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the template {name} is not valid: {source}")]
    Invalid {
        name: String,
        source: minijinja::Error,
    },
    #[error("{0}")]
    Render(#[from] minijinja::Error),
}

/// A rendered message.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Rendered {
    /// The message to queue: `kind` rendered, to `recipient` (`None`: the user's
    /// address when it is queued), counted against the send limit under
    /// `recipient_key` when there is one.
    pub fn into_mail(
        self,
        kind: Kind,
        recipient: Option<String>,
        recipient_key: Option<Vec<u8>>,
        now: time::OffsetDateTime,
    ) -> NewMail {
        NewMail {
            id: uuid::Uuid::now_v7(),
            kind: kind.name(),
            recipient,
            recipient_key,
            subject: self.subject,
            body_text: self.text,
            body_html: self.html,
            created_at: now,
        }
    }
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, each replaced by the file of the same name in
    /// `overrides` where there is one. A template that does not compile stops the
    /// start, not a message.
    pub fn load(overrides: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        for kind in Kind::ALL {
            for (part, built_in) in PARTS.iter().zip(kind.built_in()) {
                let name = format!("{}.{part}", kind.name());
                let source = match overrides.map(|dir| dir.join(&name)) {
                    Some(path) if path.exists() => {
                        std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                            path: path.display().to_string(),
                            source,
                        })?
                    }
                    _ => built_in.to_owned(),
                };
                env.add_template_owned(name.clone(), source)
                    .map_err(|source| TemplateError::Invalid { name, source })?;
            }
        }
        Ok(Self { env })
    }

    pub fn render(&self, kind: Kind, context: impl Serialize) -> Result<Rendered, TemplateError> {
        let context = minijinja::Value::from_serialize(context);
        let part = |part: &str| {
            self.env
                .get_template(&format!("{}.{part}", kind.name()))?
                .render(&context)
        };
        Ok(Rendered {
            // One line: a template's line breaks would make a header of their own.
            subject: part("subject")?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_parts_escape_what_they_show_and_text_parts_do_not() {
        let templates = Templates::load(None).unwrap();
        let link = "https://example.com/ui/verify-email?token=a&b=<script>";
        let rendered = templates
            .render(
                Kind::VerifyEmail,
                minijinja::context! { link, code => "012345", lifetime => "24 hours" },
            )
            .unwrap();
        assert_eq!(rendered.subject, "Verify your email address");
        assert!(rendered.text.contains(link), "{}", rendered.text);
        assert!(rendered.text.contains("Code: 012345"));
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn a_file_in_the_override_directory_replaces_its_built_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sign_in.subject"),
            "Log in to {{ product }}\n",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let rendered = templates
            .render(Kind::SignIn, minijinja::context! { product => "Acme" })
            .unwrap();
        assert_eq!(rendered.subject, "Log in to Acme");
        // The parts not overridden stay built in.
        assert!(rendered.text.contains("Sign in with the link below"));

        std::fs::write(dir.path().join("sign_in.txt"), "{% if %}").unwrap();
        assert!(matches!(
            Templates::load(Some(dir.path())),
            Err(TemplateError::Invalid { .. })
        ));
    }
}
