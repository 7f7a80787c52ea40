//! Tokens: signed access JWTs with their keys, and opaque refresh tokens.

mod access;
mod keys;
mod refresh;

pub use access::{AccessClaims, AccessTokens, IssuedAccessToken, TokenError};
pub use keys::{JwtAlgorithm, KeyError, SigningKey};
pub use refresh::{RefreshKey, RefreshToken, digest_of as refresh_digest};
