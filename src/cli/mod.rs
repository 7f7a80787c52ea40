//! The command line: `serve`, `migrate`, `user …`, `key …`, `keys …`, `hash calibrate`.

mod admin;
mod factors;
mod keys;

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::app::{self, Application, KeyManager};
use crate::auth::Auth;
use crate::clock::SystemClock;
use crate::config::{Overrides, Settings};
use crate::domain::NormalizedEmail;
use crate::password::{self, HashMetrics, HashParams, ImportedHash};
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "sesame", version, about = "A login and sign-up server")]
pub struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        env = "SESAME_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP.
    Serve(Overrides),
    /// Apply store migrations and exit.
    Migrate(Overrides),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// API keys for services that call the admin API.
    #[command(subcommand)]
    Key(admin::KeyCommand),
    /// Password hashing.
    #[command(subcommand)]
    Hash(HashCommand),
    /// Signing keys: list, rotate, revoke.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Second factors: recovering from a lost factor key.
    #[command(subcommand)]
    Factors(factors::FactorsCommand),
}

#[derive(Debug, Subcommand)]
pub enum HashCommand {
    /// Measure this machine and print Argon2id parameters that take about
    /// --target-ms per hash (never below OWASP's minimum), ready for the config file.
    Calibrate {
        /// Time one hash should take, in milliseconds.
        #[arg(long, default_value_t = 50)]
        target_ms: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (it never belongs on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        settings: Overrides,
    },
    /// Write every user as a JSON line `{"email", "password_hash"}` to standard output,
    /// the format `user import` reads: moves users between stores (SQLite to PostgreSQL).
    Export {
        #[command(flatten)]
        settings: Overrides,
    },
    /// Import users from JSON lines `{"email", "password_hash"}` (bcrypt or Argon2 PHC).
    Import {
        file: PathBuf,
        #[command(flatten)]
        settings: Overrides,
    },
    #[command(flatten)]
    Admin(admin::UserAdminCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(flags) => {
            let app = Application::build(Settings::resolve(flags)?).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate(flags) => {
            let mut settings = Settings::resolve(flags)?;
            settings.migrate = true;
            app::open_store(&settings).await?;
            println!("migrations applied");
        }
        Command::User(UserCommand::Create {
            email, settings, ..
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_to_string(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.strip_suffix('\n').unwrap_or(&password);
            let password = password.strip_suffix('\r').unwrap_or(password);
            let auth = offline_auth(settings).await?;
            let user = auth
                .register(&email, SecretString::from(password), None)
                .await
                .map_err(anyhow::Error::new)?;
            println!("created user {} <{}>", user.id, user.email);
        }
        Command::User(UserCommand::Export { settings }) => {
            let auth = offline_auth(settings).await?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (email, hash) in auth.export_users().await.map_err(anyhow::Error::new)? {
                let line =
                    serde_json::json!({"email": email, "password_hash": hash.expose_secret()});
                writeln!(out, "{line}")?;
            }
            out.flush()?;
        }
        Command::Hash(HashCommand::Calibrate { target_ms }) => calibrate(target_ms)?,
        Command::User(UserCommand::Import { file, settings }) => {
            let auth = offline_auth(settings).await?;
            import(&auth, &file).await?;
        }
        Command::User(UserCommand::Admin(command)) => admin::user(command).await?,
        Command::Key(command) => admin::key(command).await?,
        Command::Factors(command) => factors::run(command).await?,
        Command::Keys(command) => keys::run(command).await?,
    }
    Ok(())
}

/// Prints calibrated parameters as TOML, with what they cost.
fn calibrate(target_ms: u64) -> anyhow::Result<()> {
    let chosen = password::calibrate(std::time::Duration::from_millis(target_ms))?;
    let params = chosen.params;
    let took_ms = chosen.took.as_secs_f64() * 1000.0;
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "# Argon2id for about {target_ms} ms a hash on this machine: measured {took_ms:.1} ms."
    );
    if took_ms > 1.2 * target_ms as f64 && params == HashParams::default() {
        println!("# This is OWASP's minimum, and it already takes longer than the target here.");
    }
    println!(
        "# With {workers} hash worker(s): about {:.0} logins/s at most, {} MiB of hashing memory.",
        workers as f64 * 1000.0 / took_ms.max(0.001),
        workers as u64 * u64::from(params.memory_kib) / 1024
    );
    println!("hash_memory_kib = {}", params.memory_kib);
    println!("hash_iterations = {}", params.iterations);
    println!("hash_parallelism = {}", params.parallelism);
    Ok(())
}

/// The use cases for commands that run without serving.
pub(crate) async fn offline_auth(flags: Overrides) -> anyhow::Result<Auth> {
    Ok(offline(flags).await?.0)
}

/// The use cases and the signing keys' keeper, for commands that run without serving.
pub(crate) async fn offline(flags: Overrides) -> anyhow::Result<(Auth, Option<KeyManager>)> {
    let settings = Settings::resolve(flags)?;
    let issuer = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.bind));
    app::build_auth(
        &settings,
        issuer,
        Arc::new(SystemClock),
        HashMetrics::default(),
    )
    .await
}

#[derive(Deserialize)]
struct ImportLine {
    email: String,
    password_hash: String,
}

/// How many users one transaction of an import writes: a commit waits for the disk,
/// so a million users import in seconds rather than in a commit each.
const IMPORT_BATCH: usize = 1_000;

/// Imports line by line, in batches of [`IMPORT_BATCH`]. A line that cannot be
/// imported is reported by number (never its content, which holds a hash) and the
/// rest go on; existing emails are skipped.
async fn import(auth: &Auth, file: &std::path::Path) -> anyhow::Result<()> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let (mut imported, mut skipped, mut invalid) = (0u64, 0u64, 0u64);
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    let mut flush = async |batch: &mut Vec<_>| -> anyhow::Result<()> {
        for inserted in auth.import_users(std::mem::take(batch)).await? {
            if inserted {
                imported += 1;
            } else {
                skipped += 1;
            }
        }
        Ok(())
    };
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("cannot read line {number}"))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_import_line(&line) {
            Ok(user) => batch.push(user),
            Err(reason) => {
                invalid += 1;
                eprintln!("line {number}: {reason}");
            }
        }
        if batch.len() == IMPORT_BATCH {
            flush(&mut batch).await?;
        }
    }
    flush(&mut batch).await?;
    println!("imported {imported}, skipped {skipped} existing, {invalid} invalid");
    if invalid > 0 {
        bail!("{invalid} line(s) could not be imported");
    }
    Ok(())
}

/// A line's `(email, normalized email, hash)`, or why it cannot be imported.
fn parse_import_line(line: &str) -> Result<(String, NormalizedEmail, SecretString), String> {
    let entry = serde_json::from_str::<ImportLine>(line)
        .map_err(|_| "not a JSON object with \"email\" and \"password_hash\"".to_owned())?;
    let (email, normalized) =
        crate::domain::normalize_email(&entry.email).map_err(|e| e.to_string())?;
    let hash = ImportedHash::parse(&entry.password_hash)?;
    Ok((email, normalized, hash.into_secret()))
}
