//! Signing keys: loaded from the store at start-up (the first instance makes one),
//! sealed there under the factor key, rotated on schedule or on command, and reloaded
//! while serving so that every instance follows the store (see `tokens/schedule.rs`).

use std::sync::Arc;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use super::secrets::{entropy_bits, permissions};
use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::Settings;
use crate::mfa::FactorKey;
use crate::store::{PrivateKey, SecretBytes, Store, StoredKey};
use crate::tokens::{
    JwtAlgorithm, KeyRing, KeyState, KeyTimes, RotationPolicy, SigningKey, key_states, rotation_due,
};

/// Keys of one algorithm in one store.
pub struct KeyManager {
    store: Arc<dyn Store>,
    factor_key: Arc<FactorKey>,
    alg: JwtAlgorithm,
    policy: RotationPolicy,
    clock: Arc<dyn Clock>,
}

/// What `rotate` did.
pub enum Rotated {
    /// Made this key; it signs from `signs_from`.
    Made {
        kid: String,
        signs_from: OffsetDateTime,
    },
    /// A key was already waiting to sign (perhaps made a moment ago by another
    /// instance); no second one is made.
    Waiting {
        kid: String,
        signs_from: OffsetDateTime,
    },
}

/// One line of `sesame keys list`.
pub struct Listed {
    pub kid: String,
    pub alg: JwtAlgorithm,
    pub state: KeyState,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
}

/// How keys rotate under `settings`: a retired key stays published for as long as a
/// token it signed can live, with the verifiers' leeway on both sides.
pub fn policy(settings: &Settings) -> anyhow::Result<RotationPolicy> {
    let lifetime = Duration::try_from(settings.access_token_ttl)
        .context("the access-token lifetime is too large")?;
    Ok(RotationPolicy {
        period: (settings.key_rotation_days > 0)
            .then(|| Duration::days(i64::from(settings.key_rotation_days))),
        publish_ahead: Duration::try_from(settings.key_publish_ahead)
            .context("--key-publish-ahead is too large")?,
        retention: lifetime + crate::tokens::LEEWAY * 2,
    })
}

/// The signing keys `settings` ask for, and what keeps them (none in HS256 mode, whose
/// secret comes from its file and never rotates).
pub async fn signing(
    settings: &Settings,
    store: &Arc<dyn Store>,
    factor_key: &Arc<FactorKey>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(KeyRing, Option<KeyManager>)> {
    let policy = policy(settings)?;
    if settings.jwt_algorithm == JwtAlgorithm::Hs256 {
        return Ok((KeyRing::single(hs256_secret(settings)?, policy), None));
    }
    let manager = KeyManager {
        store: Arc::clone(store),
        factor_key: Arc::clone(factor_key),
        alg: settings.jwt_algorithm,
        policy,
        clock: Arc::clone(clock),
    };
    Ok((manager.load().await?, Some(manager)))
}

fn hs256_secret(settings: &Settings) -> anyhow::Result<SigningKey> {
    let path = settings
        .jwt_secret_file
        .as_ref()
        .context("HS256 needs --jwt-secret-file")?;
    crate::store::check_permissions(path, permissions(settings))?;
    let secret = std::fs::read(path)
        .with_context(|| format!("cannot read the JWT secret file {}", path.display()))?;
    let secret = secret.trim_ascii();
    if entropy_bits(secret) < 128.0 {
        tracing::warn!(
            file = %path.display(),
            "the HS256 secret looks guessable (under 128 bits of entropy): use 32 \
             random bytes, e.g. `openssl rand -base64 32`"
        );
    }
    Ok(SigningKey::from_secret(secret)?)
}

impl KeyManager {
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// Every published key, sealing any still in clear and making the first key when
    /// there is none. Instances starting at the same moment end up with the same key.
    pub async fn load(&self) -> anyhow::Result<KeyRing> {
        let now = self.clock.now();
        let mut stored = self.store.signing_keys(self.alg.as_str()).await?;
        if stored.is_empty() {
            self.make(1, now, now).await?;
            stored = self.store.signing_keys(self.alg.as_str()).await?;
        }
        let mut keys = Vec::with_capacity(stored.len());
        for key in stored {
            let pem = self.open(&key).await?;
            keys.push((times(&key), SigningKey::from_pem(self.alg, &pem)?));
        }
        KeyRing::new(self.alg, keys, self.policy).context("the store holds no signing key")
    }

    /// A new key, published now and signing after the publish-ahead window, unless one
    /// is already waiting.
    pub async fn rotate(&self) -> anyhow::Result<Rotated> {
        let now = self.clock.now();
        let stored = self.store.signing_keys(self.alg.as_str()).await?;
        if let Some(waiting) = self.waiting(&stored, now) {
            return Ok(waiting);
        }
        let generation = stored.iter().map(|key| key.generation).max().unwrap_or(0) + 1;
        let signs_from = now + self.policy.publish_ahead;
        match self.make(generation, now, signs_from).await? {
            Some(kid) => Ok(Rotated::Made { kid, signs_from }),
            // Another instance made this generation first: that one waits.
            None => {
                let stored = self.store.signing_keys(self.alg.as_str()).await?;
                self.waiting(&stored, now)
                    .context("a key was made and is gone already")
            }
        }
    }

    /// Removes the key `kid` at once: tokens it signed stop verifying, and if it was
    /// signing, the newest key still published signs instead.
    pub async fn revoke(&self, kid: &str) -> anyhow::Result<bool> {
        Ok(self.store.delete_signing_key(kid).await?)
    }

    /// The stored keys of this algorithm and their states, newest first.
    pub async fn list(&self) -> anyhow::Result<Vec<Listed>> {
        let now = self.clock.now();
        let stored = self.store.signing_keys(self.alg.as_str()).await?;
        let schedule: Vec<KeyTimes> = stored.iter().map(times).collect();
        let states = key_states(&schedule, now, &self.policy);
        let mut listed: Vec<_> = stored
            .into_iter()
            .zip(states)
            .map(|(key, state)| Listed {
                kid: key.kid,
                alg: self.alg,
                state,
                created_at: key.created_at,
                signs_from: key.signs_from,
            })
            .collect();
        listed.reverse();
        Ok(listed)
    }

    /// What an instance does every [`reload_every`]: rotates when the schedule says so,
    /// drops keys past their retention, and rereads the keys into `auth`.
    pub async fn upkeep(&self, auth: &Auth) -> anyhow::Result<()> {
        let now = self.clock.now();
        let stored = self.store.signing_keys(self.alg.as_str()).await?;
        let schedule: Vec<KeyTimes> = stored.iter().map(times).collect();
        if rotation_due(&schedule, now, &self.policy)
            && let Rotated::Made { kid, signs_from } = self.rotate().await?
        {
            tracing::info!(%kid, signs_from = %signs_from, "signing key rotated on schedule");
        }
        let states = key_states(&schedule, now, &self.policy);
        for (key, state) in stored.iter().zip(states) {
            if state == KeyState::Expired && self.store.delete_signing_key(&key.kid).await? {
                tracing::info!(kid = %key.kid, "retired signing key removed");
            }
        }
        auth.replace_keys(self.load().await?);
        Ok(())
    }

    fn waiting(&self, stored: &[StoredKey], now: OffsetDateTime) -> Option<Rotated> {
        let schedule: Vec<KeyTimes> = stored.iter().map(times).collect();
        let states = key_states(&schedule, now, &self.policy);
        stored
            .iter()
            .zip(states)
            .find(|(_, state)| *state == KeyState::Next)
            .map(|(key, _)| Rotated::Waiting {
                kid: key.kid.clone(),
                signs_from: key.signs_from,
            })
    }

    /// Makes and stores a sealed key of `generation`; its id, or `None` when the
    /// store already had a key of that generation.
    async fn make(
        &self,
        generation: i32,
        now: OffsetDateTime,
        signs_from: OffsetDateTime,
    ) -> anyhow::Result<Option<String>> {
        let (candidate, pem) = SigningKey::generate(self.alg)?;
        let kid = candidate.kid().unwrap_or_default().to_owned();
        let sealed = self
            .factor_key
            .seal_signing_key(&kid, pem.expose_secret().as_bytes())?;
        let key = StoredKey {
            kid: kid.clone(),
            alg: self.alg.as_str().to_owned(),
            generation,
            private_key: PrivateKey::Sealed(SecretBytes(sealed)),
            created_at: now,
            signs_from,
        };
        Ok(self.store.insert_signing_key(&key).await?.then_some(kid))
    }

    /// The private key of `key`, sealing it first if the store still has it in clear.
    async fn open(&self, key: &StoredKey) -> anyhow::Result<SecretString> {
        let sealed = match &key.private_key {
            PrivateKey::Sealed(sealed) => sealed,
            PrivateKey::Clear(pem) => {
                let sealed = self
                    .factor_key
                    .seal_signing_key(&key.kid, pem.expose_secret().as_bytes())?;
                self.store
                    .seal_signing_key(&key.kid, &SecretBytes(sealed))
                    .await?;
                tracing::info!(kid = %key.kid, "sealed a signing key stored in clear");
                return Ok(pem.clone());
            }
        };
        let opened = self
            .factor_key
            .open_signing_key(&key.kid, &sealed.0)
            .with_context(|| {
                format!(
                    "the signing key {} does not open with this factor key: every instance \
                     needs the same --factor-key-file",
                    key.kid
                )
            })?;
        let pem = String::from_utf8(opened.to_vec())
            .map_err(|_| anyhow::anyhow!("the sealed signing key {} is not PEM", key.kid))?;
        Ok(SecretString::from(pem))
    }
}

fn times(key: &StoredKey) -> KeyTimes {
    KeyTimes {
        generation: i64::from(key.generation),
        created_at: key.created_at,
        signs_from: key.signs_from,
    }
}
