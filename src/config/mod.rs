//! Settings from flags, `SESAME_*` environment variables and an optional TOML file
//! (`--config`), in that order of precedence, over built-in defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::auth::Lifetimes;
use crate::password::{HashParams, PoolSettings};
use crate::store::LoginThrottle;
use crate::tokens::JwtAlgorithm;

mod overrides;

pub use overrides::Overrides;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The resolved settings the application runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database: DatabaseUrl,
    pub db_max_connections: u32,
    pub migrate: bool,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub jwt_algorithm: JwtAlgorithm,
    pub jwt_secret_file: Option<PathBuf>,
    pub access_token_ttl: Duration,
    pub lifetimes: Lifetimes,
    pub hash: HashParams,
    pub hash_pool: PoolSettings,
    pub login_throttle: LoginThrottle,
    /// Requests a minute per client address on the credential endpoints; `None`: no limit.
    pub ip_rate_limit: Option<std::num::NonZeroU32>,
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit: usize,
    pub request_timeout: Duration,
}

/// A database URL whose password never reaches a log.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_once('@') {
            Some((_, host)) => write!(f, "[redacted]@{host}"),
            None => f.write_str(&self.0),
        }
    }
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
        let defaults = HashParams::default();
        let lifetimes = Lifetimes::default();
        let pool = PoolSettings::default();
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
        let settings = Self {
            bind: pick!(bind).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            database: DatabaseUrl::new(
                pick!(database).unwrap_or_else(|| "sqlite://sesame.db".to_owned()),
            ),
            db_max_connections: pick!(db_max_connections).unwrap_or(8),
            migrate: !(flags.no_migrate || file.no_migrate),
            issuer: pick!(issuer),
            audience: pick!(audience),
            jwt_algorithm,
            jwt_secret_file,
            access_token_ttl: Duration::from_secs(pick!(access_token_ttl).unwrap_or(900)),
            lifetimes: Lifetimes {
                refresh_token: seconds(pick!(refresh_token_ttl), lifetimes.refresh_token),
                session: seconds(pick!(session_lifetime), lifetimes.session),
                idle: seconds(pick!(session_idle_timeout), lifetimes.idle),
                reuse_grace: seconds(pick!(refresh_reuse_grace), lifetimes.reuse_grace),
                session_check_ttl: pick!(session_check_ms)
                    .map_or(lifetimes.session_check_ttl, |ms| {
                        time::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
                    }),
            },
            hash: HashParams {
                memory_kib: pick!(hash_memory_kib).unwrap_or(defaults.memory_kib),
                iterations: pick!(hash_iterations).unwrap_or(defaults.iterations),
                parallelism: pick!(hash_parallelism).unwrap_or(defaults.parallelism),
            },
            hash_pool: PoolSettings {
                workers: pick!(hash_workers).unwrap_or(pool.workers),
                max_wait: pick!(hash_max_wait_ms).map_or(pool.max_wait, Duration::from_millis),
                client_share_percent: pick!(hash_client_share).unwrap_or(pool.client_share_percent),
            },
            login_throttle: LoginThrottle {
                max_failures: pick!(login_max_failures).unwrap_or(throttle.max_failures),
                lockout: seconds(pick!(login_lockout), throttle.lockout),
            },
            ip_rate_limit: std::num::NonZeroU32::new(pick!(ip_rate_limit).unwrap_or(60)),
            trusted_proxies: pick!(trusted_proxies)
                .unwrap_or_default()
                .iter()
                .map(|text| parse_network(text))
                .collect::<Result<_, _>>()?,
            body_limit: pick!(body_limit).unwrap_or(64 * 1024),
            request_timeout: Duration::from_secs(pick!(request_timeout).unwrap_or(30)),
        };
        settings.check_abuse_controls()?;
        let l = settings.lifetimes;
        if settings.access_token_ttl.is_zero()
            || settings.hash_pool.workers == 0
            || [l.refresh_token, l.session, l.idle]
                .iter()
                .any(|d| !d.is_positive())
        {
            return Err(ConfigError::Invalid(
                "lifetimes, timeouts and hash_workers must be greater than zero".to_owned(),
            ));
        }
        Ok(settings)
    }
}

impl Settings {
    fn check_abuse_controls(&self) -> Result<(), ConfigError> {
        let throttle = self.login_throttle;
        if !(1..=LoginThrottle::MAX_FAILURES_LIMIT).contains(&throttle.max_failures) {
            return Err(ConfigError::Invalid(format!(
                "login_max_failures must be between 1 and {} (NIST 800-63B allows no more)",
                LoginThrottle::MAX_FAILURES_LIMIT
            )));
        }
        if !throttle.lockout.is_positive() || throttle.lockout > time::Duration::days(1) {
            return Err(ConfigError::Invalid(
                "login_lockout must be between 1 and 86400 seconds: a lock must end".to_owned(),
            ));
        }
        if !(1..=100).contains(&self.hash_pool.client_share_percent) {
            return Err(ConfigError::Invalid(
                "hash_client_share is a percentage between 1 and 100".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A proxy address (`10.0.0.1`) or network (`10.0.0.0/8`).
fn parse_network(text: &str) -> Result<IpNet, ConfigError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError::Invalid(format!(
                "trusted_proxies: {text:?} is not an IP address or network (e.g. 10.0.0.0/8)"
            ))
        })
}

/// Seconds from configuration, or the default; values past `i64::MAX` saturate.
fn seconds(value: Option<u64>, default: time::Duration) -> time::Duration {
    value.map_or(default, |s| {
        time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
    })
}

fn read_file(path: &Path) -> Result<Overrides, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}
