//! What a Sesame access token says about its caller.

use serde::{Deserialize, Serialize};

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesameClaims {
    /// The user's id.
    pub sub: String,
    /// The session the token belongs to (it ends at logout).
    pub sid: String,
    pub email: String,
    /// The user's roles when the token was issued.
    #[serde(default)]
    pub roles: Vec<String>,
    /// OAuth scopes granted to the client, space-separated, when a client asked for some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How the user logged in (RFC 8176): `pwd`, `otp`, `mfa`, ...
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the user logged in, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The client the token was issued to, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
}

impl SesameClaims {
    /// Whether the user had `role` when the token was issued.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|granted| granted.split(' ').any(|s| s == scope))
    }
}
