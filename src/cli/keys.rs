//! `sesame keys list | rotate | revoke`: the signing keys, in the store every instance
//! reads. Running servers follow a change within a minute (`app/keys.rs`).

use anyhow::Context;
use clap::Subcommand;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{KeyManager, Rotated};
use crate::config::Overrides;
use crate::tokens::KeyState;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every signing key of the configured algorithm: id, algorithm, state (next,
    /// active, retired, expired) and dates.
    List {
        #[command(flatten)]
        settings: Overrides,
    },
    /// Make a new key: published at once, signing after --key-publish-ahead. When a
    /// key is already waiting to sign, that one is shown and no other is made.
    Rotate {
        #[command(flatten)]
        settings: Overrides,
    },
    /// Remove a key at once: tokens it signed stop verifying. A waiting key revoked
    /// is a rotation called off; the active key revoked hands signing to the newest
    /// other key still published (the one before it, or the waiting one).
    Revoke {
        /// The key id (`kid`), as `keys list` shows it. A thumbprint in base64url
        /// may begin with `-`, so it is never read as a flag.
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[command(flatten)]
        settings: Overrides,
    },
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::List { settings } => {
            let keys = manager(settings).await?;
            println!(
                "{:<44} {:<6} {:<8} {:<21} {:<21} retired until",
                "kid", "alg", "state", "created", "signs from"
            );
            for key in keys.list().await? {
                let until = match key.state {
                    KeyState::Retired { until, .. } => date(until),
                    _ => "-".to_owned(),
                };
                println!(
                    "{:<44} {:<6} {:<8} {:<21} {:<21} {until}",
                    key.kid,
                    key.alg.as_str(),
                    key.state.name(),
                    date(key.created_at),
                    date(key.signs_from),
                );
            }
        }
        KeysCommand::Rotate { settings } => match manager(settings).await?.rotate().await? {
            Rotated::Made { kid, signs_from } => {
                println!(
                    "made key {kid}: published now, signs from {}",
                    date(signs_from)
                );
            }
            Rotated::Waiting { kid, signs_from } => println!(
                "key {kid} already waits to sign (from {}): no other made",
                date(signs_from)
            ),
        },
        KeysCommand::Revoke { kid, settings } => {
            let keys = manager(settings).await?;
            anyhow::ensure!(keys.revoke(&kid).await?, "no signing key {kid:?}");
            println!("revoked key {kid}");
        }
    }
    Ok(())
}

async fn manager(flags: Overrides) -> anyhow::Result<KeyManager> {
    let (_, keys) = super::offline(flags).await?;
    keys.context(
        "HS256 tokens are signed with the secret in --jwt-secret-file, which Sesame does \
         not rotate: replace the file on every instance and restart them",
    )
}

fn date(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::KeysCommand;
    use crate::cli::{Cli, Command};

    /// A base64url thumbprint begins with `-` one time in 64; CI once failed on
    /// `unexpected argument '-M'`.
    #[test]
    fn a_kid_that_begins_with_a_hyphen_is_the_kid() {
        let cli = Cli::try_parse_from([
            "sesame",
            "keys",
            "revoke",
            "-Mabc_9",
            "--bind",
            "127.0.0.1:0",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let Command::Keys(KeysCommand::Revoke { kid, .. }) = cli.command else {
            panic!("not keys revoke: {:?}", cli.command);
        };
        assert_eq!(kid, "-Mabc_9");
    }
}
