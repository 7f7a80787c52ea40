//! Signing keys: generated on first start, kept in the store as PKCS#8 PEM, published
//! as a JWKS. The key id is the key's RFC 7638 thumbprint.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretString};

/// The signing algorithms Sesame offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Es256,
    EdDsa,
    Rs256,
    Hs256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Hs256 => "HS256",
        }
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
            Self::Hs256 => Algorithm::HS256,
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JwtAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" => Ok(Self::Es256),
            "EDDSA" => Ok(Self::EdDsa),
            "RS256" => Ok(Self::Rs256),
            "HS256" => Ok(Self::Hs256),
            _ => Err(format!(
                "unknown JWT algorithm {s:?}: expected ES256, EdDSA, RS256 or HS256"
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a signing key")]
    Generate,
    #[error("the stored signing key is unreadable: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the HS256 secret must be at least 32 bytes")]
    SecretTooShort,
}

/// A key ready to sign, with what verifiers need to check its signatures.
pub struct SigningKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: JwtAlgorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// The public key as published in the JWKS; `None` for a shared HS256 secret.
    pub(crate) jwk: Option<Jwk>,
}

impl SigningKey {
    /// A new key for `alg`, with its private key as PKCS#8 PEM (what the store keeps).
    pub fn generate(alg: JwtAlgorithm) -> Result<(Self, SecretString), KeyError> {
        let pem = generate_pkcs8_pem(alg)?;
        Ok((Self::from_pem(alg, &pem)?, pem))
    }

    /// The key's id (its RFC 7638 thumbprint); `None` for a shared HS256 secret.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// A key from a shared secret, for HS256 compatibility with existing verifiers.
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < 32 {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self {
            kid: None,
            alg: JwtAlgorithm::Hs256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            jwk: None,
        })
    }

    /// The key for `alg` from its PKCS#8 PEM.
    pub fn from_pem(alg: JwtAlgorithm, pem: &SecretString) -> Result<Self, KeyError> {
        let pem = pem.expose_secret().as_bytes();
        let encoding = match alg {
            JwtAlgorithm::Es256 => EncodingKey::from_ec_pem(pem)?,
            JwtAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem)?,
            JwtAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem)?,
            JwtAlgorithm::Hs256 => return Err(KeyError::Generate),
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, alg.jwt())?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk)?;
        Ok(Self {
            kid: Some(kid),
            alg,
            encoding,
            decoding,
            jwk: Some(jwk),
        })
    }
}

fn generate_pkcs8_pem(alg: JwtAlgorithm) -> Result<SecretString, KeyError> {
    let rng = SystemRandom::new();
    let der: Vec<u8> = match alg {
        JwtAlgorithm::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec()
        }
        // Version 1 PKCS#8: what the PEM reader of jsonwebtoken accepts.
        JwtAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
        JwtAlgorithm::Rs256 => {
            let pair = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> =
                pair.as_der().map_err(|_| KeyError::Generate)?;
            der.as_ref().to_vec()
        }
        JwtAlgorithm::Hs256 => return Err(KeyError::Generate),
    };
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    Ok(SecretString::from(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )))
}
