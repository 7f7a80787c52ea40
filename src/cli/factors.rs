//! `sesame factors reset-key`: the way out when the factor key file is lost for good.
//! The server refuses to start without the key that sealed its TOTP secrets (a new
//! key would open none of them); this removes those secrets, so that the next start
//! makes a new key, and tells each user by mail. It needs no running server.

use anyhow::Context;
use clap::Subcommand;

use crate::app;
use crate::audit::{Actor, Event, EventType};
use crate::config::{Overrides, Settings};
use crate::mail::{Kind, Templates};

#[derive(Debug, Subcommand)]
pub enum FactorsCommand {
    /// The factor key file is lost and no backup exists: remove every authenticator
    /// app set up with it (and its recovery codes), and mail each user; passkeys
    /// stay. The next `serve` makes a new key. Cannot be undone.
    ResetKey {
        /// Say that you mean it: every authenticator app setup is removed.
        #[arg(long, required = true)]
        confirm: bool,
        #[command(flatten)]
        settings: Overrides,
    },
}

pub async fn run(command: FactorsCommand) -> anyhow::Result<()> {
    let FactorsCommand::ResetKey { settings, .. } = command;
    let settings = Settings::resolve(settings)?;
    let store = app::open_store(&settings).await?;
    let templates = Templates::load(settings.mail.templates.as_deref())?;
    let kind = Kind::FactorsRemoved;
    let rendered = templates
        .render(kind, serde_json::json!({}))
        .context("cannot render the notice")?;
    let now = time::OffsetDateTime::now_utc();
    let notice = rendered.into_mail(kind, None, None, now);
    let event = Event::new(EventType::MfaRemoved, now)
        .by(Actor::System)
        .detail("reason", "factor_key_reset");
    let removed = store.drop_sealed_secrets(&notice, &event).await?;
    println!(
        "removed {removed} authenticator app setups; their users will be mailed once the \
         server runs, and the next start makes a new factor key"
    );
    Ok(())
}
