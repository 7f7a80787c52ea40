//! Tokens: signed access JWTs with their keys, opaque refresh tokens, and the
//! one-time codes that email carries.

mod access;
mod api_keys;
mod codes;
mod keys;
mod refresh;
mod ring;
mod schedule;

pub use access::{AccessClaims, AccessTokens, IssuedAccessToken, LEEWAY, TokenError};
pub use api_keys::{API_KEY_PREFIX, api_key_digest, generate_api_key};
pub use codes::{CodeKey, IssuedCode, well_formed_code, well_formed_token};
pub use keys::{JwtAlgorithm, KeyError, SigningKey};
pub use refresh::{RefreshKey, RefreshToken, digest_of as refresh_digest};
pub use ring::KeyRing;
pub use schedule::{KeyState, KeyTimes, RotationPolicy, rotation_due, states as key_states};
