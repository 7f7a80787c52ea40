//! Verify Sesame's access tokens in an axum service.
//!
//! A [`Verifier`] holds Sesame's public keys, fetched from its JWKS and cached; it
//! checks what RFC 9068 asks of a resource server: the signature, the algorithm
//! (pinned, never taken from the token), `typ: at+jwt`, `iss`, `aud`, `exp` and `nbf`
//! (with a small leeway). Take the caller as a [`SesameUser`] in any handler, or put a
//! [`VerifyLayer`] in front of a whole router.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use sesame_verify::{SesameUser, Verifier};
//!
//! async fn me(SesameUser(user): SesameUser) -> String {
//!     format!("hello {}", user.email)
//! }
//!
//! # async fn run() {
//! let verifier = Arc::new(Verifier::new("https://auth.example.com"));
//! let app: Router = Router::new().route("/me", get(me)).with_state(verifier);
//! # }
//! ```
//!
//! The key set is refetched when its `Cache-Control: max-age` has passed, or when a
//! token names a key it lacks (Sesame publishes a new key before it signs, so that is
//! rare), but never more than once a minute and one fetch at a time: a flood of
//! tokens with made-up key ids costs one request to Sesame. While Sesame cannot be
//! reached, the keys fetched before keep working.

mod claims;
mod extract;
mod keys;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation, decode, decode_header};

pub use claims::SesameClaims;
pub use extract::{SesameUser, VerifyError, VerifyLayer, VerifyService};
use keys::KeyCache;

/// The `typ` of an RFC 9068 access token.
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Checks Sesame's access tokens against one issuer's published keys.
pub struct Verifier {
    issuer: String,
    audience: String,
    algorithm: Algorithm,
    leeway: u64,
    jwks_url: String,
    refetch_interval: Duration,
    keys: KeyCache,
    /// Tokens verified already, with the key that signed them: a token seen again
    /// costs a lookup and an expiry check, not a signature check.
    verified: quick_cache::sync::Cache<String, (Arc<SesameClaims>, String)>,
}

/// Tokens remembered as verified; beyond that the least used go first.
const VERIFIED_CAPACITY: usize = 16_384;

impl Verifier {
    /// A verifier for the Sesame at `issuer` (its `--issuer`): keys from
    /// `{issuer}/.well-known/jwks.json`, audience the issuer (Sesame's default), ES256
    /// (Sesame's default), 30 s of leeway, unknown keys refetched at most once a minute.
    pub fn new(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let jwks_url = format!("{issuer}/.well-known/jwks.json");
        let refetch_interval = Duration::from_secs(60);
        Self {
            keys: KeyCache::new(jwks_url.clone(), refetch_interval),
            jwks_url,
            refetch_interval,
            audience: issuer.clone(),
            issuer,
            algorithm: Algorithm::ES256,
            leeway: 30,
            verified: quick_cache::sync::Cache::new(VERIFIED_CAPACITY),
        }
    }

    /// The audience tokens must name, when Sesame runs with `--audience`.
    pub fn audience(mut self, audience: &str) -> Self {
        self.audience = audience.to_owned();
        self
    }

    /// The one algorithm accepted, when Sesame runs with `--jwt-algorithm EdDSA` or
    /// `RS256`. (HS256 shares a secret and publishes no keys; this crate does not do it.)
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Where the keys are, when not at the issuer's `/.well-known/jwks.json`.
    pub fn jwks_url(mut self, url: &str) -> Self {
        self.jwks_url = url.to_owned();
        self.keys = KeyCache::new(self.jwks_url.clone(), self.refetch_interval);
        self
    }

    /// The least time between two fetches of the key set (default one minute).
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self.keys = KeyCache::new(self.jwks_url.clone(), interval);
        self
    }

    /// How many times the key set was fetched (or tried): for metrics and tests.
    pub fn fetches(&self) -> u64 {
        self.keys.fetches()
    }

    /// The claims of `token` if it is a valid Sesame access token for this service.
    pub async fn verify(&self, token: &str) -> Result<SesameClaims, VerifyError> {
        if let Some((claims, kid)) = self.verified.get(token)
            && self.keys.holds(&kid)
        {
            return self
                .unexpired(&claims)
                .map(|()| SesameClaims::clone(&claims));
        }
        let (claims, kid) = self.check(token).await?;
        let claims = Arc::new(claims);
        self.verified
            .insert(token.to_owned(), (Arc::clone(&claims), kid));
        Ok(SesameClaims::clone(&claims))
    }

    /// Expiry again, for a token verified earlier.
    fn unexpired(&self, claims: &SesameClaims) -> Result<(), VerifyError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.leeway).unwrap_or(0);
        if claims.exp + leeway < now {
            return Err(VerifyError::Expired);
        }
        Ok(())
    }

    /// The full check: header, key, signature, claims. Returns the key id too.
    async fn check(&self, token: &str) -> Result<(SesameClaims, String), VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != self.algorithm || header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(VerifyError::Invalid);
        }
        let kid = header.kid.ok_or(VerifyError::Invalid)?;
        let key = self.keys.key(&kid).await.ok_or(VerifyError::UnknownKey)?;
        let mut validation = Validation::new(self.algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        match decode::<SesameClaims>(token, &key, &validation) {
            Ok(data) => Ok((data.claims, kid)),
            Err(e) if *e.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Err(VerifyError::Expired)
            }
            Err(_) => Err(VerifyError::Invalid),
        }
    }
}
