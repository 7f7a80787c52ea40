use std::net::IpAddr;

use secrecy::SecretString;
use uuid::Uuid;

use super::{Auth, Error, normalize_email};
use crate::audit::{Actor, Event, EventType};
use crate::domain::{NormalizedEmail, User};
use crate::password::validate_new;
use crate::store::{NewUser, Purpose};

/// What a sign-up did, as far as its caller may tell.
#[derive(Debug)]
pub enum Registration {
    Created(User),
    /// With `--require-verified-email`: a new account was created, or the address
    /// already had one (whose owner is told by mail); the caller cannot tell which.
    CheckYourEmail,
}

impl Auth {
    /// Registers a user who signs up (`POST /register`), and mails them a
    /// verification code: the account, the code and the message are written in one
    /// transaction. With `--require-verified-email`, an address that already
    /// has an account gets the same answer after the same work (a hash), and its
    /// owner an "you already have an account" mail instead.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<Registration, Error> {
        let user = self.hashed_user(email, password, client).await?;
        let (email, email_normalized) = (user.email.clone(), user.email_normalized.clone());
        let target = (email.clone(), email_normalized.clone());
        let (code, mail) = self.code_message(user.id, Purpose::VerifyEmail, target)?;
        let event = Event::new(EventType::UserRegistered, user.created_at).user(user.id);
        let created = self
            .store
            .create_user_with_code(&user, &code, &mail, &event)
            .await
            .map_err(Error::from);
        match &created {
            Ok(_) => self.email.wake.notify_one(),
            Err(Error::EmailTaken) if self.requires_verified_email() => {
                self.mail_account_exists(&email, &email_normalized).await?;
            }
            Err(_) => {}
        }
        match created {
            Ok(_) | Err(Error::EmailTaken) if self.requires_verified_email() => {
                Ok(Registration::CheckYourEmail)
            }
            Ok(user) => Ok(Registration::Created(user)),
            Err(e) => Err(e),
        }
    }

    /// Creates an account (`sesame user create`: no mail is sent). The database
    /// settles a race between two registrations of one address: one wins, the other
    /// gets [`Error::EmailTaken`]. `client` is the address the request came from (its
    /// share of the hashing queue).
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<User, Error> {
        let user = self.hashed_user(email, password, client).await?;
        let event = Event::new(EventType::UserRegistered, user.created_at)
            .by(Actor::System)
            .user(user.id);
        Ok(self.store.create_user(&user, &event).await?)
    }

    /// A new user from what was typed: the address checked and normalized, the
    /// password checked against the rules and hashed.
    async fn hashed_user(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<NewUser, Error> {
        let (email, email_normalized) = normalize_email(email)?;
        let password = validate_new(&password, &email)?;
        let password_hash = self.hasher.hash(password, client).await?;
        Ok(self.new_user(email, email_normalized, password_hash))
    }

    fn new_user(
        &self,
        email: String,
        email_normalized: NormalizedEmail,
        password_hash: SecretString,
    ) -> NewUser {
        NewUser {
            id: Uuid::now_v7(),
            email,
            email_normalized,
            password_hash,
            created_at: self.clock.now(),
        }
    }

    /// Every user's email and password hash, for `sesame user export`.
    pub async fn export_users(&self) -> Result<Vec<(String, SecretString)>, Error> {
        Ok(self.store.export_users().await?)
    }

    /// Stores users whose passwords are already hashed, `(email, normalized email,
    /// hash)`, in one transaction; for each, `false` when the email already had an
    /// account (that one is skipped).
    pub async fn import_users(
        &self,
        users: Vec<(String, NormalizedEmail, SecretString)>,
    ) -> Result<Vec<bool>, Error> {
        let users: Vec<NewUser> = users
            .into_iter()
            .map(|(email, email_normalized, hash)| self.new_user(email, email_normalized, hash))
            .collect();
        Ok(self.store.import_users(&users).await?)
    }
}
