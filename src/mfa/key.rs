//! The factor key: AES-256-GCM (aws-lc-rs) over TOTP secrets and signing keys. It lives
//! in a file of its own, never in the database, so a database dump alone yields
//! ciphertexts; each is bound to its user's id or key id, so one copied onto another
//! row does not open.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum FactorKeyError {
    #[error("cannot read or create the factor key file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the factor key file {0} does not hold 32 bytes in base64")]
    Malformed(String),
    #[error("a sealed secret does not open with this factor key")]
    Open,
    #[error("cannot seal a secret: {0}")]
    Seal(&'static str),
}

pub struct FactorKey {
    aead: LessSafeKey,
    fingerprint: Vec<u8>,
}

impl std::fmt::Debug for FactorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactorKey([redacted])")
    }
}

impl FactorKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, FactorKeyError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| FactorKeyError::Seal("the key is not an AES-256 key"))?;
        // Names the key without revealing it: instances compare it through the store.
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, bytes),
            b"sesame factor key fingerprint",
        );
        Ok(Self {
            aead: LessSafeKey::new(unbound),
            fingerprint: tag.as_ref().to_vec(),
        })
    }

    /// The key in `path` (32 bytes, base64); `None` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<Self>, FactorKeyError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(FactorKeyError::File {
                    path: shown,
                    source,
                });
            }
        };
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| FactorKeyError::Malformed(shown.clone()))?,
        );
        let key: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| FactorKeyError::Malformed(shown))?;
        Self::from_bytes(key).map(Some)
    }

    /// Makes a new key in `path` (mode 0600), or, when another instance made one
    /// first, reads that one. The key is written whole to a file of its own and then
    /// linked into place, so no instance ever reads a half-written key.
    pub fn create(path: &Path) -> Result<Self, FactorKeyError> {
        let shown = path.display().to_string();
        let file_error = |source| FactorKeyError::File {
            path: shown.clone(),
            source,
        };
        let mut fresh = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(fresh.as_mut_slice())
            .map_err(|_| FactorKeyError::Seal("no randomness"))?;
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".{}.tmp", Uuid::new_v4().simple()));
        let temporary = std::path::PathBuf::from(temporary);
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            let text = Zeroizing::new(STANDARD.encode(fresh.as_slice()));
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            // Fails if the key exists: then the first one made stays.
            match std::fs::hard_link(&temporary, path) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            }
        })();
        let _ = std::fs::remove_file(&temporary);
        written.map_err(file_error)?;
        Self::load(path)?.ok_or_else(|| {
            file_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the key file vanished as it was made",
            ))
        })
    }

    /// An HMAC of a fixed text under the key: equal for equal keys, and no help in
    /// finding the key.
    pub fn fingerprint(&self) -> &[u8] {
        &self.fingerprint
    }

    /// `secret` sealed for `user`: a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, user: Uuid, secret: &[u8]) -> Result<Vec<u8>, FactorKeyError> {
        self.seal_bound(user.as_bytes(), secret)
    }

    /// What [`Self::seal`] sealed for `user`, or [`FactorKeyError::Open`].
    pub fn open(&self, user: Uuid, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, FactorKeyError> {
        self.open_bound(user.as_bytes(), sealed)
    }

    /// A signing key's private half sealed for its key id. The bound text cannot be
    /// a user's 16 bytes, so neither kind of secret opens as the other.
    pub fn seal_signing_key(&self, kid: &str, key: &[u8]) -> Result<Vec<u8>, FactorKeyError> {
        self.seal_bound(&signing_key_context(kid), key)
    }

    /// What [`Self::seal_signing_key`] sealed for `kid`, or [`FactorKeyError::Open`].
    pub fn open_signing_key(
        &self,
        kid: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, FactorKeyError> {
        self.open_bound(&signing_key_context(kid), sealed)
    }

    fn seal_bound(&self, context: &[u8], secret: &[u8]) -> Result<Vec<u8>, FactorKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| FactorKeyError::Seal("no randomness"))?;
        let mut sealed = secret.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| FactorKeyError::Seal("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(out)
    }

    fn open_bound(
        &self,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, FactorKeyError> {
        let (nonce, body) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(FactorKeyError::Open)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| FactorKeyError::Open)?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(context), body.as_mut_slice())
            .map_err(|_| FactorKeyError::Open)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

fn signing_key_context(kid: &str) -> Vec<u8> {
    [b"sesame signing key ".as_slice(), kid.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> FactorKey {
        FactorKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_key() {
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = key(1).seal(alice, b"twenty bytes secret!").unwrap();
        assert!(!sealed.windows(20).any(|w| w == b"twenty bytes secret!"));
        assert_eq!(
            key(1).open(alice, &sealed).unwrap().as_slice(),
            b"twenty bytes secret!"
        );
        assert!(matches!(
            key(1).open(bob, &sealed),
            Err(FactorKeyError::Open)
        ));
        assert!(matches!(
            key(2).open(alice, &sealed),
            Err(FactorKeyError::Open)
        ));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            key(1).open(alice, &tampered),
            Err(FactorKeyError::Open)
        ));
        assert!(key(1).open(alice, &sealed[..5]).is_err());
    }

    #[test]
    fn a_sealed_signing_key_opens_only_for_its_key_id() {
        let sealed = key(1).seal_signing_key("kid-a", b"pkcs8").unwrap();
        assert_eq!(
            key(1)
                .open_signing_key("kid-a", &sealed)
                .unwrap()
                .as_slice(),
            b"pkcs8"
        );
        assert!(key(1).open_signing_key("kid-b", &sealed).is_err());
        assert!(key(2).open_signing_key("kid-a", &sealed).is_err());
    }

    #[test]
    fn the_key_file_is_made_once_private_and_read_back_by_every_instance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("factor.key");
        assert!(FactorKey::load(&path).unwrap().is_none());
        let first = FactorKey::create(&path).unwrap();
        // A second instance that also found no file makes none: it reads the first.
        let second = FactorKey::create(&path).unwrap();
        let third = FactorKey::load(&path).unwrap().unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.fingerprint(), third.fingerprint());
        assert_ne!(first.fingerprint(), key(1).fingerprint());
        let user = Uuid::now_v7();
        let sealed = first.seal(user, b"secret").unwrap();
        assert_eq!(second.open(user, &sealed).unwrap().as_slice(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            FactorKey::load(&path),
            Err(FactorKeyError::Malformed(_))
        ));
    }

    #[test]
    fn instances_making_the_key_at_once_all_read_one_whole_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("factor.key");
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || FactorKey::create(&path).unwrap())
                })
                .collect();
            let keys: Vec<FactorKey> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            assert!(
                keys.iter()
                    .all(|k| k.fingerprint() == keys[0].fingerprint())
            );
        }
    }
}
