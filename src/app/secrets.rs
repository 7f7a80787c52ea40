//! The server's secrets at start-up: the refresh-derivation and code keys, loaded
//! from the store or created there by the first instance, the factor key from its
//! file, and the sanity check on an HS256 secret. Signing keys are in `keys.rs`.

use anyhow::Context;

use crate::mfa::FactorKey;
use crate::store::{Permissions, SecretBytes, Store};
use crate::tokens::{CodeKey, RefreshKey};

/// An upper estimate of a secret's entropy: its length times the empirical entropy of
/// its byte frequencies. `aaaa…` scores 0, a word repeated scores little, 32 random
/// bytes or 44 base64 characters score well over 128.
pub(super) fn entropy_bits(secret: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &byte in secret {
        counts[usize::from(byte)] += 1;
    }
    let total = f64::from(u32::try_from(secret.len()).unwrap_or(u32::MAX));
    let per_byte: f64 = counts
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum();
    per_byte * total
}

/// The key refresh tokens are derived with: a server secret in the store, created by
/// the first instance to start.
pub(super) async fn refresh_key(
    store: &dyn Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<RefreshKey> {
    let secret = server_secret(store, "refresh_token_derivation", now).await?;
    Ok(RefreshKey::new(&secret.0))
}

/// The key one-time codes are hashed with, kept and shared like the refresh key.
pub(super) async fn code_key(
    store: &dyn Store,
    now: time::OffsetDateTime,
) -> anyhow::Result<CodeKey> {
    let secret = server_secret(store, "one_time_code_key", now).await?;
    Ok(CodeKey::new(&secret.0))
}

/// The key TOTP secrets and signing keys are sealed with, from its file. Its fingerprint goes in the
/// store the first time. A new key is made only while nothing is sealed: a missing
/// file, or another key, while secrets are sealed under the old one would make every
/// authenticator app useless, so the start is refused, naming the file. (With nothing
/// sealed, another key simply takes over.)
pub(super) async fn factor_key(
    store: &dyn Store,
    path: &std::path::Path,
    permissions: Permissions,
    now: time::OffsetDateTime,
) -> anyhow::Result<FactorKey> {
    const NAME: &str = "factor_key_fingerprint";
    let sealed = store.sealed_secrets().await?;
    let key = match FactorKey::load(path)? {
        Some(key) => key,
        None if sealed > 0 => anyhow::bail!(
            "the factor key file {} is missing, and {sealed} secrets in the database \
             (authenticator app secrets, signing keys) are sealed with it: restore the \
             file from a backup (every instance needs the same --factor-key-file), or, if \
             it is lost for good, run `sesame factors reset-key --confirm` to remove those \
             secrets and tell their users",
            path.display()
        ),
        None => FactorKey::create(path)?,
    };
    crate::store::check_permissions(path, permissions)?;
    let fingerprint = SecretBytes(key.fingerprint().to_vec());
    let stored = store.server_secret(NAME, &fingerprint, now).await?;
    if stored.0 != fingerprint.0 {
        anyhow::ensure!(
            sealed == 0,
            "the factor key in {} is not the one this database's {sealed} sealed secrets \
             (authenticator app secrets, signing keys) were sealed with: give every \
             instance the same --factor-key-file, or restore the right one from a backup",
            path.display()
        );
        store.replace_server_secret(NAME, &fingerprint, now).await?;
    }
    Ok(key)
}

/// The server secret `name`: 32 random bytes, made by the first instance to ask.
async fn server_secret(
    store: &dyn Store,
    name: &str,
    now: time::OffsetDateTime,
) -> anyhow::Result<SecretBytes> {
    let mut candidate = vec![0u8; 32];
    aws_lc_rs::rand::fill(&mut candidate).context("cannot generate a server secret")?;
    Ok(store
        .server_secret(name, &SecretBytes(candidate), now)
        .await?)
}

/// How strictly the files holding secrets (the database, the key files) are checked.
pub(super) fn permissions(settings: &crate::config::Settings) -> crate::store::Permissions {
    if settings.allow_insecure_permissions {
        crate::store::Permissions::AllowInsecure
    } else {
        crate::store::Permissions::Strict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_hs256_secrets_score_under_128_bits() {
        assert!(entropy_bits(&[b'a'; 64]) < 1.0);
        assert!(entropy_bits("password".repeat(4).as_bytes()) < 128.0);
        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random).unwrap();
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode(random);
        assert!(entropy_bits(text.as_bytes()) > 128.0, "{text}");
    }
}
