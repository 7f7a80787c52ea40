//! An admin's changes to a user (`PATCH /admin/users/{id}`, `sesame user role`):
//! checked, recorded with what changed (roles added and removed by name), and told to
//! the user where the change is one they must hear of (a disable, a new address).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::notices::Change;
use super::{Auth, Error, normalize_email};
use crate::audit::{Actor, Event, EventType};
use crate::store::{AdminUser, UserPatch};

/// The largest `metadata` object, serialized.
pub const MAX_METADATA_BYTES: usize = 4096;

const MAX_ROLES: usize = 32;
const MAX_ROLE_LENGTH: usize = 64;

/// What an admin changes; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub disabled: Option<bool>,
    pub roles: Option<Vec<String>>,
    pub metadata: Option<Map<String, Value>>,
}

impl Auth {
    /// Applies `changes`. A new email is unverified unless `email_verified` says
    /// otherwise, and the codes sent to the old one die; disabling ends every session
    /// at once, and the user's access tokens are refused from then on.
    pub async fn update_user(
        &self,
        by: Actor,
        user_id: Uuid,
        changes: Changes,
    ) -> Result<AdminUser, Error> {
        let now = self.clock.now();
        let mut fields = Vec::new();
        let email = match changes.email {
            Some(email) => {
                fields.push("email");
                Some(normalize_email(&email)?)
            }
            None => None,
        };
        let email_verified = match (&email, changes.email_verified) {
            (Some(_), None) => Some(false),
            (_, verified) => verified,
        };
        let roles = changes.roles.map(valid_roles).transpose()?;
        if let Some(metadata) = &changes.metadata {
            let size = Value::Object(metadata.clone()).to_string().len();
            if size > MAX_METADATA_BYTES {
                return Err(Error::invalid(
                    "metadata",
                    format!("The metadata is {size} bytes; at most {MAX_METADATA_BYTES} are kept."),
                ));
            }
        }
        for (name, set) in [
            ("email_verified", changes.email_verified.is_some()),
            ("disabled", changes.disabled.is_some()),
            ("roles", roles.is_some()),
            ("metadata", changes.metadata.is_some()),
        ] {
            if set {
                fields.push(name);
            }
        }
        // As it was: whom to tell, and which roles the change adds and takes away.
        let before = self.admin_user(user_id).await?.user;
        let event = |kind| Event::new(kind, now).by(by).user(user_id);
        let mut updated = event(EventType::UserUpdated).detail("fields", fields);
        if let Some(roles) = &roles {
            let added: Vec<&String> = roles.iter().filter(|r| !before.roles.contains(r)).collect();
            let removed: Vec<&String> =
                before.roles.iter().filter(|r| !roles.contains(r)).collect();
            updated = updated
                .detail("roles_added", serde_json::json!(added))
                .detail("roles_removed", serde_json::json!(removed));
        }
        let mut events = vec![updated];
        if email.is_some() {
            events.push(event(EventType::EmailChanged));
        }
        if changes.disabled == Some(true) {
            events.push(event(EventType::UserDisabled));
        }
        let patch = UserPatch {
            email,
            email_verified,
            disabled: changes.disabled,
            roles,
            metadata: changes.metadata,
        };
        if !self
            .store
            .update_user(user_id, &patch, now, &events)
            .await?
        {
            return Err(Error::UserNotFound);
        }
        self.cache.forget_sessions();
        if patch.email.is_some() {
            self.tell(&before.email, Change::EmailChangedByAdmin).await;
        }
        if patch.disabled == Some(true) && !before.disabled {
            self.tell(&before.email, Change::Disabled).await;
        }
        self.admin_user(user_id).await
    }

    /// The user behind `email` with `role` added or taken away (the command line).
    pub async fn set_role(&self, email: &str, role: &str, granted: bool) -> Result<(), Error> {
        let user = self.admin_user_by_email(email).await?.user;
        let mut roles = user.roles;
        roles.retain(|held| held != role);
        if granted {
            roles.push(role.to_owned());
        }
        let changes = Changes {
            roles: Some(roles),
            ..Changes::default()
        };
        self.update_user(Actor::System, user.id, changes).await?;
        Ok(())
    }
}

/// Role names: 1 to 64 of `a-z 0-9 _ - . :`, at most 32, each once.
pub(super) fn valid_roles(roles: Vec<String>) -> Result<Vec<String>, Error> {
    if roles.len() > MAX_ROLES {
        return Err(Error::invalid(
            "roles",
            format!("A user has at most {MAX_ROLES} roles."),
        ));
    }
    let mut valid: Vec<String> = Vec::with_capacity(roles.len());
    for role in roles {
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.:".contains(c);
        if role.is_empty() || role.len() > MAX_ROLE_LENGTH || !role.chars().all(allowed) {
            return Err(Error::invalid(
                "roles",
                format!(
                    "A role is 1 to {MAX_ROLE_LENGTH} characters of a-z, 0-9, `_`, `-`, `.` and `:`."
                ),
            ));
        }
        if !valid.contains(&role) {
            valid.push(role);
        }
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_plain_names_kept_once() {
        let roles = |names: &[&str]| valid_roles(names.iter().map(|n| (*n).to_owned()).collect());
        assert_eq!(
            roles(&["admin", "admin", "billing:read"]).unwrap(),
            ["admin", "billing:read"]
        );
        for bad in ["", "Admin", "a b", "x\"y", &"r".repeat(65)] {
            assert!(roles(&[bad]).is_err(), "{bad:?} was accepted");
        }
        assert!(roles(&["r"; 33]).is_err());
    }
}
