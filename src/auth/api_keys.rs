//! API keys for the admin API: made, listed and revoked from the command line.

use secrecy::SecretString;
use uuid::Uuid;

use super::{Auth, Error};
use crate::audit::{Actor, Event, EventType};
use crate::store::{ApiKeyInfo, NewApiKey};
use crate::tokens::generate_api_key;

const MAX_KEY_NAME: usize = 64;

impl Auth {
    /// Creates an API key named `name`: the key, to be shown once.
    pub async fn create_api_key(&self, name: &str) -> Result<SecretString, Error> {
        let name = valid_key_name(name)?;
        let (key, digest) = generate_api_key().map_err(Error::internal)?;
        let new = NewApiKey {
            id: Uuid::now_v7(),
            name,
            digest,
            created_at: self.clock.now(),
        };
        let event = Event::new(EventType::KeyCreated, new.created_at)
            .by(Actor::System)
            .detail("key_id", new.id.to_string())
            .detail("name", new.name.as_str());
        self.store.create_api_key(&new, &event).await?;
        Ok(key)
    }

    pub async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, Error> {
        Ok(self.store.api_keys().await?)
    }

    /// Revokes the live key named `name`; it stops working at once on every instance.
    pub async fn revoke_api_key(&self, name: &str) -> Result<(), Error> {
        let event = Event::new(EventType::KeyRevoked, self.clock.now())
            .by(Actor::System)
            .detail("name", name);
        match self
            .store
            .revoke_api_key(name, self.clock.now(), event)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(Error::KeyNotFound),
        }
    }
}

fn valid_key_name(name: &str) -> Result<String, Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if name.is_empty() || name.len() > MAX_KEY_NAME || !name.chars().all(allowed) {
        return Err(Error::invalid(
            "name",
            format!(
                "A key name is 1 to {MAX_KEY_NAME} characters of A-Z, a-z, 0-9, `_`, `-` and `.`."
            ),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_plain() {
        assert!(valid_key_name("billing-service_2").is_ok());
        for bad in ["", "a b", "ключ", &"k".repeat(65)] {
            assert!(valid_key_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
