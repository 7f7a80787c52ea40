//! Turning configured text and numbers into settings: bounds, durations, proxy
//! networks, the TOML file.

use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::{ConfigError, Overrides};

/// The longest any lifetime may be set to: long enough for any deployment, far from
/// where adding it to a date overflows.
pub(super) const TEN_YEARS: u64 = 10 * 365 * DAY;
pub(super) const DAY: u64 = 86_400;

/// A number setting: `value`, or `default` when unset, refused with the setting's name
/// and its range when outside `range`. Every number is bounded here, at start-up, so
/// no request can later overflow on it.
pub(super) fn bounded<T>(
    name: &str,
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    unit: &str,
) -> Result<T, ConfigError>
where
    T: Copy + PartialOrd + std::fmt::Display,
{
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        return Ok(value);
    }
    Err(ConfigError::Invalid(format!(
        "{name} must be between {} and {} {unit}, not {value}",
        range.start(),
        range.end()
    )))
}

pub(super) fn duration(seconds: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
}

pub(super) fn whole(duration: time::Duration) -> u64 {
    u64::try_from(duration.whole_seconds()).unwrap_or(0)
}

/// A proxy address (`10.0.0.1`) or network (`10.0.0.0/8`).
pub(super) fn parse_network(text: &str) -> Result<IpNet, ConfigError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError::Invalid(format!(
                "trusted_proxies: {text:?} is not an IP address or network (e.g. 10.0.0.0/8)"
            ))
        })
}

pub(super) fn read_file(path: &Path) -> Result<Overrides, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// Where the second-factor key lives unless configured: beside a SQLite database file
/// (never inside it: a copy of the database alone must not open the secrets), else in
/// the working directory.
pub(super) fn default_factor_key(database: &str) -> PathBuf {
    let file = database
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|path| !path.is_empty() && !path.contains(":memory:"));
    match file {
        Some(path) => PathBuf::from(format!("{path}.factor-key")),
        None => PathBuf::from("sesame-factor.key"),
    }
}
