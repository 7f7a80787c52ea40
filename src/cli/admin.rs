//! The admin commands: the user operations of the admin API, by email, and API keys.
//! They need no admin and no running server, so the first admin is made here
//! (`sesame user role add EMAIL admin`). Their events name the actor `system`.

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::offline_auth;
use crate::audit::Actor;
use crate::auth::{Auth, Changes};
use crate::config::Overrides;
use crate::store::AdminUser;

/// The user commands of the admin API.
#[derive(Debug, Subcommand)]
pub enum UserAdminCommand {
    /// List users, oldest first, one a line: id, email, flags.
    List {
        /// Only users whose email contains this, in any case.
        #[arg(long)]
        query: Option<String>,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Show a user as JSON, as `GET /admin/users/{id}` does.
    Show {
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Disable a user: every session ends, and logins are refused.
    Disable {
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Enable a disabled user.
    Enable {
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// End every session of a user.
    Logout {
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Delete a user with their sessions; the address can register again.
    Delete {
        email: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Grant or take away a role.
    #[command(subcommand)]
    Role(RoleCommand),
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Grant a role (`admin` opens the admin API).
    Add {
        email: String,
        role: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Take a role away.
    Remove {
        email: String,
        role: String,
        #[command(flatten)]
        settings: Overrides,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key and print it; it is shown this once and stored only hashed.
    Create {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        settings: Overrides,
    },
    /// List keys: name, created, last used, revoked.
    List {
        #[command(flatten)]
        settings: Overrides,
    },
    /// Revoke the live key with this name; it stops working at once.
    Revoke {
        name: String,
        #[command(flatten)]
        settings: Overrides,
    },
}

/// Users listed a page at a time.
const PAGE: u32 = 200;

pub(super) async fn user(command: UserAdminCommand) -> anyhow::Result<()> {
    match command {
        UserAdminCommand::List { query, settings } => {
            let auth = offline_auth(settings).await?;
            let mut after = None;
            loop {
                let page = auth.list_users(query.as_deref(), after, PAGE).await?;
                for user in &page {
                    println!("{}", line(user));
                }
                match page.last() {
                    Some(last) if page.len() == PAGE as usize => after = Some(last.user.id),
                    _ => break,
                }
            }
        }
        UserAdminCommand::Show { email, settings } => {
            let auth = offline_auth(settings).await?;
            let user = auth.admin_user_by_email(&email).await?;
            println!("{}", serde_json::to_string_pretty(&show(&user))?);
        }
        UserAdminCommand::Disable { email, settings } => {
            set_disabled(&offline_auth(settings).await?, &email, true).await?;
            println!("disabled {email}; every session has ended");
        }
        UserAdminCommand::Enable { email, settings } => {
            set_disabled(&offline_auth(settings).await?, &email, false).await?;
            println!("enabled {email}");
        }
        UserAdminCommand::Logout { email, settings } => {
            let auth = offline_auth(settings).await?;
            let user = auth.admin_user_by_email(&email).await?;
            auth.admin_logout(Actor::System, user.user.id).await?;
            println!("ended every session of {email}");
        }
        UserAdminCommand::Delete { email, settings } => {
            let auth = offline_auth(settings).await?;
            let user = auth.admin_user_by_email(&email).await?;
            auth.admin_delete_user(Actor::System, user.user.id).await?;
            println!("deleted {email}");
        }
        UserAdminCommand::Role(RoleCommand::Add {
            email,
            role,
            settings,
        }) => {
            offline_auth(settings)
                .await?
                .set_role(&email, &role, true)
                .await?;
            println!("{email} has the role {role}");
        }
        UserAdminCommand::Role(RoleCommand::Remove {
            email,
            role,
            settings,
        }) => {
            offline_auth(settings)
                .await?
                .set_role(&email, &role, false)
                .await?;
            println!("{email} no longer has the role {role}");
        }
    }
    Ok(())
}

pub(super) async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { name, settings } => {
            let key = offline_auth(settings).await?.create_api_key(&name).await?;
            eprintln!("API key {name:?} created. It is shown only now; store it safely:");
            println!("{}", key.expose_secret());
        }
        KeyCommand::List { settings } => {
            for key in offline_auth(settings).await?.api_keys().await? {
                let when =
                    |at: Option<time::OffsetDateTime>| at.map_or("-".to_owned(), |t| t.to_string());
                println!(
                    "{}\tcreated {}\tlast used {}\trevoked {}",
                    key.name,
                    key.created_at,
                    when(key.last_used_at),
                    when(key.revoked_at)
                );
            }
        }
        KeyCommand::Revoke { name, settings } => {
            offline_auth(settings).await?.revoke_api_key(&name).await?;
            println!("revoked {name}");
        }
    }
    Ok(())
}

async fn set_disabled(auth: &Auth, email: &str, disabled: bool) -> anyhow::Result<()> {
    let user = auth.admin_user_by_email(email).await?;
    let changes = Changes {
        disabled: Some(disabled),
        ..Changes::default()
    };
    auth.update_user(Actor::System, user.user.id, changes)
        .await?;
    Ok(())
}

/// `id  email  verified,disabled,roles…` for `user list`.
fn line(user: &AdminUser) -> String {
    let mut flags = Vec::new();
    if user.user.email_verified {
        flags.push("verified".to_owned());
    }
    if user.user.disabled {
        flags.push("disabled".to_owned());
    }
    flags.extend(user.user.roles.iter().map(|role| format!("role:{role}")));
    format!("{}\t{}\t{}", user.user.id, user.user.email, flags.join(","))
}

fn show(user: &AdminUser) -> serde_json::Value {
    let time = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    };
    serde_json::json!({
        "id": user.user.id,
        "email": user.user.email,
        "email_verified": user.user.email_verified,
        "disabled": user.user.disabled,
        "roles": user.user.roles,
        "created_at": time(user.user.created_at),
        "last_login_at": user.last_login_at.and_then(time),
        "sessions": user.sessions,
        "metadata": user.metadata,
    })
}
