//! Settings from flags, `SESAME_*` environment variables and an optional TOML file
//! (`--config`), in that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::auth::Lifetimes;
use crate::http::{AccessLog, ConnectionLimits, ForwardedHeader};
use crate::password::{HashParams, PoolSettings};
use crate::store::LoginThrottle;
use crate::tokens::JwtAlgorithm;

mod database_url;
mod error;
mod hashing;
mod mail;
mod overrides;
mod values;

use values::{
    DAY, TEN_YEARS, bounded, default_factor_key, duration, parse_network, read_file, whole,
};

pub use database_url::DatabaseUrl;
pub use error::ConfigError;
pub use mail::MailSettings;
pub use overrides::Overrides;

/// The resolved settings the application runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics_bind: Option<SocketAddr>,
    pub database: DatabaseUrl,
    pub db_max_connections: u32,
    pub migrate: bool,
    /// Whether a database or secret file that others can read is accepted.
    pub allow_insecure_permissions: bool,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub jwt_algorithm: JwtAlgorithm,
    pub jwt_secret_file: Option<PathBuf>,
    /// The key that seals TOTP secrets (see `mfa::FactorKey`).
    pub factor_key_file: PathBuf,
    /// `None`: derived from the public URL at start-up.
    pub webauthn_rp_id: Option<String>,
    pub webauthn_origin: Option<String>,
    pub access_token_ttl: Duration,
    pub lifetimes: Lifetimes,
    pub hash: HashParams,
    pub hash_pool: PoolSettings,
    /// Days a signing key signs before a successor is due; 0: only `sesame keys rotate`.
    pub key_rotation_days: u32,
    /// How long a new signing key is published before it signs.
    pub key_publish_ahead: Duration,
    pub login_throttle: LoginThrottle,
    /// Requests a minute per client address on the credential endpoints; `None`: no limit.
    pub ip_rate_limit: Option<std::num::NonZeroU32>,
    pub trusted_proxies: Vec<IpNet>,
    pub forwarded_header: ForwardedHeader,
    /// Which requests get an access line.
    pub access_log: AccessLog,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub mail: MailSettings,
    pub connection_limits: ConnectionLimits,
}

impl Settings {
    /// Merges flags and env (`flags`) over the TOML file they name, over the defaults.
    pub fn resolve(flags: Overrides) -> Result<Self, ConfigError> {
        let file = match &flags.config {
            Some(path) => read_file(path)?,
            None => Overrides::default(),
        };
        macro_rules! pick {
            ($field:ident) => {
                flags.$field.clone().or(file.$field.clone())
            };
        }
        let lifetimes = Lifetimes::default();
        let throttle = LoginThrottle::default();
        let jwt_algorithm = match pick!(jwt_algorithm) {
            Some(name) => name.parse().map_err(ConfigError::Invalid)?,
            None => JwtAlgorithm::Es256,
        };
        let jwt_secret_file = pick!(jwt_secret_file);
        if jwt_algorithm == JwtAlgorithm::Hs256 && jwt_secret_file.is_none() {
            return Err(ConfigError::Invalid(
                "HS256 needs --jwt-secret-file with a secret of 32 bytes or more".to_owned(),
            ));
        }
        let database = pick!(database).unwrap_or_else(|| DatabaseUrl::new("sqlite://sesame.db"));
        let factor_key_file =
            pick!(factor_key_file).unwrap_or_else(|| default_factor_key(database.expose()));
        let secs = |name, value, default, max| bounded(name, value, default, 1..=max, "seconds");
        let settings = Self {
            bind: pick!(bind).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            metrics_bind: pick!(metrics_bind),
            database,
            db_max_connections: bounded(
                "db_max_connections",
                pick!(db_max_connections),
                8,
                1..=1_000,
                "connections",
            )?,
            migrate: !(flags.no_migrate || file.no_migrate),
            allow_insecure_permissions: flags.allow_insecure_permissions
                || file.allow_insecure_permissions,
            issuer: pick!(issuer),
            audience: pick!(audience),
            jwt_algorithm,
            jwt_secret_file,
            factor_key_file,
            webauthn_rp_id: pick!(webauthn_rp_id),
            webauthn_origin: pick!(webauthn_origin),
            access_token_ttl: Duration::from_secs(secs(
                "access_token_ttl",
                pick!(access_token_ttl),
                900,
                DAY,
            )?),
            lifetimes: Lifetimes {
                refresh_token: duration(secs(
                    "refresh_token_ttl",
                    pick!(refresh_token_ttl),
                    whole(lifetimes.refresh_token),
                    TEN_YEARS,
                )?),
                session: duration(secs(
                    "session_lifetime",
                    pick!(session_lifetime),
                    whole(lifetimes.session),
                    TEN_YEARS,
                )?),
                idle: duration(secs(
                    "session_idle_timeout",
                    pick!(session_idle_timeout),
                    whole(lifetimes.idle),
                    TEN_YEARS,
                )?),
                reuse_grace: duration(bounded(
                    "refresh_reuse_grace",
                    pick!(refresh_reuse_grace),
                    whole(lifetimes.reuse_grace),
                    0..=3_600,
                    "seconds",
                )?),
                session_check_ttl: time::Duration::milliseconds(bounded(
                    "session_check_ms",
                    pick!(session_check_ms).map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
                    i64::try_from(lifetimes.session_check_ttl.whole_milliseconds())
                        .unwrap_or(1_000),
                    0..=60_000,
                    "milliseconds",
                )?),
                audit_retention: time::Duration::days(bounded(
                    "audit_retention_days",
                    pick!(audit_retention_days),
                    lifetimes.audit_retention.whole_days(),
                    1..=36_500,
                    "days",
                )?),
            },
            hash: hashing::params(&flags, &file)?,
            hash_pool: hashing::pool(&flags, &file)?,
            key_rotation_days: bounded(
                "key_rotation_days",
                pick!(key_rotation_days),
                90,
                0..=3_650,
                "days",
            )?,
            key_publish_ahead: Duration::from_secs(bounded(
                "key_publish_ahead",
                pick!(key_publish_ahead),
                3_600,
                0..=30 * DAY,
                "seconds",
            )?),
            login_throttle: LoginThrottle {
                max_failures: bounded(
                    "login_max_failures",
                    pick!(login_max_failures),
                    throttle.max_failures,
                    1..=LoginThrottle::MAX_FAILURES_LIMIT,
                    "failures (NIST 800-63B allows no more)",
                )?,
                lockout: duration(secs(
                    "login_lockout",
                    pick!(login_lockout),
                    whole(throttle.lockout),
                    DAY,
                )?),
            },
            ip_rate_limit: std::num::NonZeroU32::new(bounded(
                "ip_rate_limit",
                pick!(ip_rate_limit),
                60,
                0..=1_000_000,
                "requests a minute",
            )?),
            trusted_proxies: pick!(trusted_proxies)
                .unwrap_or_default()
                .iter()
                .map(|text| parse_network(text))
                .collect::<Result<_, _>>()?,
            forwarded_header: pick!(forwarded_header)
                .map(|name| name.parse().map_err(ConfigError::Invalid))
                .transpose()?
                .unwrap_or_default(),
            access_log: pick!(access_log)
                .map(|value| value.parse().map_err(ConfigError::Invalid))
                .transpose()?
                .unwrap_or_default(),
            body_limit: bounded(
                "body_limit",
                pick!(body_limit),
                64 * 1024,
                1_024..=16 * 1024 * 1024,
                "bytes",
            )?,
            connection_limits: ConnectionLimits {
                header_read_timeout: Duration::from_secs(secs(
                    "header_read_timeout",
                    pick!(header_read_timeout),
                    10,
                    300,
                )?),
                max_connections: bounded(
                    "max_connections",
                    pick!(max_connections),
                    1_000,
                    1..=100_000,
                    "connections",
                )?,
            },
            mail: MailSettings {
                smtp_url: pick!(smtp_url),
                from: pick!(mail_from).unwrap_or_else(|| "Sesame <no-reply@localhost>".to_owned()),
                dir: pick!(mail_dir).unwrap_or_else(|| PathBuf::from("sesame-mail")),
                public_url: pick!(public_url).map(|url| url.trim_end_matches('/').to_owned()),
                templates: pick!(templates),
                require_verified_email: flags.require_verified_email || file.require_verified_email,
            },
            request_timeout: Duration::from_secs(secs(
                "request_timeout",
                pick!(request_timeout),
                30,
                3_600,
            )?),
        };
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
