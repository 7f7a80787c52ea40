use std::net::IpAddr;

use secrecy::SecretString;
use uuid::Uuid;

use super::{Auth, Error, normalize_email};
use crate::password::validate_new;
use crate::store::{NewUser, User};

impl Auth {
    /// Creates an account. The database settles a race between two registrations of
    /// one address: one wins, the other gets [`Error::EmailTaken`]. `client` is the
    /// address the request came from (its share of the hashing queue).
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
        client: Option<IpAddr>,
    ) -> Result<User, Error> {
        let (email, email_normalized) = normalize_email(email)?;
        let password = validate_new(&password, &email)?;
        let password_hash = self.hasher.hash(password, client).await?;
        self.create_user(email, email_normalized, password_hash)
            .await
    }

    /// Every user's email and password hash, for `sesame user export`.
    pub async fn export_users(&self) -> Result<Vec<(String, SecretString)>, Error> {
        Ok(self.store.export_users().await?)
    }

    /// Stores a user whose password is already hashed (registration, or an import).
    pub async fn create_user(
        &self,
        email: String,
        email_normalized: String,
        password_hash: SecretString,
    ) -> Result<User, Error> {
        let user = NewUser {
            id: Uuid::now_v7(),
            email,
            email_normalized,
            password_hash,
            created_at: self.clock.now(),
        };
        Ok(self.store.create_user(&user).await?)
    }

    /// Stores users whose passwords are already hashed, `(email, normalized email,
    /// hash)`, in one transaction; for each, `false` when the email already had an
    /// account (that one is skipped).
    pub async fn import_users(
        &self,
        users: Vec<(String, String, SecretString)>,
    ) -> Result<Vec<bool>, Error> {
        let users: Vec<NewUser> = users
            .into_iter()
            .map(|(email, email_normalized, password_hash)| NewUser {
                id: Uuid::now_v7(),
                email,
                email_normalized,
                password_hash,
                created_at: self.clock.now(),
            })
            .collect();
        Ok(self.store.import_users(&users).await?)
    }
}
