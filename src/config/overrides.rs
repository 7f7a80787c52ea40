//! The settings as flags, `SESAME_*` variables and TOML keys: one struct for all three.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use secrecy::SecretString;
use serde::Deserialize;

use super::DatabaseUrl;

/// Every setting, each optional: the same keys come from flags, env or the TOML file.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// TOML file with any of these settings (snake_case keys).
    #[arg(long, env = "SESAME_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SESAME_BIND")]
    pub bind: Option<SocketAddr>,
    /// Address of the Prometheus `/metrics` listener, kept off the public one (what
    /// the figures move on can tell who has an account) [default: none, no metrics].
    #[arg(long, env = "SESAME_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// Store URL [default: sqlite://sesame.db].
    #[arg(long = "database", env = "SESAME_DATABASE_URL")]
    pub database: Option<DatabaseUrl>,
    /// Largest number of store connections [default: 8].
    #[arg(long, env = "SESAME_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Do not apply store migrations at start.
    #[arg(long, env = "SESAME_NO_MIGRATE")]
    #[serde(default)]
    pub no_migrate: bool,
    /// Start even if the database file or the HS256 secret file is readable by group or
    /// others (they are refused otherwise).
    #[arg(long, env = "SESAME_ALLOW_INSECURE_PERMISSIONS")]
    #[serde(default)]
    pub allow_insecure_permissions: bool,
    /// Token issuer (`iss`) [default: http://HOST:PORT of the bind address].
    #[arg(long, env = "SESAME_ISSUER")]
    pub issuer: Option<String>,
    /// Token audience (`aud`) [default: the issuer; none in HS256 mode].
    #[arg(long, env = "SESAME_AUDIENCE")]
    pub audience: Option<String>,
    /// ES256, EdDSA, RS256 or HS256 [default: ES256].
    #[arg(long, env = "SESAME_JWT_ALGORITHM")]
    pub jwt_algorithm: Option<String>,
    /// File holding the HS256 secret (32 bytes or more).
    #[arg(long, env = "SESAME_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,
    /// File holding the key TOTP secrets and signing keys are sealed with, apart from
    /// the database; created (mode 0600) if missing [default: beside a SQLite database file as
    /// FILE.factor-key, else ./sesame-factor.key]. Every instance needs the same one.
    #[arg(long, env = "SESAME_FACTOR_KEY_FILE")]
    pub factor_key_file: Option<PathBuf>,
    /// Days a signing key signs before the next one takes over; 0 rotates only on
    /// `sesame keys rotate` [default: 90].
    #[arg(long, env = "SESAME_KEY_ROTATION_DAYS")]
    pub key_rotation_days: Option<u32>,
    /// Seconds a new signing key is published in the JWKS before it signs, so that
    /// verifiers caching the key set learn it first [default: 3600].
    #[arg(long, env = "SESAME_KEY_PUBLISH_AHEAD")]
    pub key_publish_ahead: Option<u64>,
    /// The WebAuthn relying party id passkeys are bound to [default: the host of
    /// --webauthn-origin].
    #[arg(long, env = "SESAME_WEBAUTHN_RP_ID")]
    pub webauthn_rp_id: Option<String>,
    /// The one origin passkey ceremonies are accepted from [default: the public URL,
    /// with `localhost` for a loopback address: browsers refuse IP addresses].
    #[arg(long, env = "SESAME_WEBAUTHN_ORIGIN")]
    pub webauthn_origin: Option<String>,
    /// Access-token lifetime in seconds [default: 900].
    #[arg(long, env = "SESAME_ACCESS_TOKEN_TTL")]
    pub access_token_ttl: Option<u64>,
    /// Refresh-token lifetime in seconds [default: 2592000, 30 days].
    #[arg(long, env = "SESAME_REFRESH_TOKEN_TTL")]
    pub refresh_token_ttl: Option<u64>,
    /// Absolute session lifetime in seconds [default: 7776000, 90 days].
    #[arg(long, env = "SESAME_SESSION_LIFETIME")]
    pub session_lifetime: Option<u64>,
    /// Seconds of inactivity after which a session ends [default: 2592000, 30 days].
    #[arg(long, env = "SESAME_SESSION_IDLE_TIMEOUT")]
    pub session_idle_timeout: Option<u64>,
    /// Seconds during which a rotated refresh token may be replayed by a concurrent
    /// request without ending the session; 0 disables it [default: 10].
    #[arg(long, env = "SESAME_REFRESH_REUSE_GRACE")]
    pub refresh_reuse_grace: Option<u64>,
    /// Milliseconds a session confirmed by the store is trusted before asking again;
    /// on SQLite, sessions ended by another process are refused here after at most this
    /// long (on PostgreSQL, at once).
    /// 0 asks the store on every request [default: 1000].
    #[arg(long, env = "SESAME_SESSION_CHECK_MS")]
    pub session_check_ms: Option<u64>,
    /// Days audit events are kept; older ones are deleted, in small batches, every hour
    /// [default: 90].
    #[arg(long, env = "SESAME_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<i64>,
    /// Argon2id memory in KiB [default: 19456].
    #[arg(long, env = "SESAME_HASH_MEMORY_KIB")]
    pub hash_memory_kib: Option<u32>,
    /// Argon2id passes [default: 2].
    #[arg(long, env = "SESAME_HASH_ITERATIONS")]
    pub hash_iterations: Option<u32>,
    /// Argon2id lanes [default: 1].
    #[arg(long, env = "SESAME_HASH_PARALLELISM")]
    pub hash_parallelism: Option<u32>,
    /// Hashes computed at once [default: number of cores].
    #[arg(long, env = "SESAME_HASH_WORKERS")]
    pub hash_workers: Option<usize>,
    /// Most hashes one client address may hold in the hashing queue, in percent of the
    /// queue [default: 50].
    #[arg(long, env = "SESAME_HASH_CLIENT_SHARE")]
    pub hash_client_share: Option<u8>,
    /// Longest expected wait for a hashing worker, in milliseconds, before logins and
    /// registrations are refused with 503 instead of queued [default: 1000].
    #[arg(long, env = "SESAME_HASH_MAX_WAIT_MS")]
    pub hash_max_wait_ms: Option<u64>,
    /// Consecutive failed logins that lock an email for --login-lockout; at most 100
    /// [default: 10].
    #[arg(long, env = "SESAME_LOGIN_MAX_FAILURES")]
    pub login_max_failures: Option<u32>,
    /// Seconds an email stays locked after --login-max-failures failures; at most
    /// 86400 [default: 900].
    #[arg(long, env = "SESAME_LOGIN_LOCKOUT")]
    pub login_lockout: Option<u64>,
    /// Requests a minute each client address may make to the endpoints that take a
    /// password or a refresh token (per instance); 0 turns the limit off [default: 60].
    #[arg(long, env = "SESAME_IP_RATE_LIMIT")]
    pub ip_rate_limit: Option<u32>,
    /// Addresses or networks of reverse proxies whose X-Forwarded-For / Forwarded
    /// headers name the client, comma-separated (e.g. 10.0.0.0/8,127.0.0.1)
    /// [default: none: the peer address is the client].
    #[arg(long, env = "SESAME_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Which requests the access log writes: `all`; `changes`, every request but a
    /// successful GET or HEAD; or `off` [default: changes].
    #[arg(long, env = "SESAME_ACCESS_LOG")]
    pub access_log: Option<String>,
    /// Which header the trusted proxies set: `x-forwarded-for` or `forwarded`
    /// [default: x-forwarded-for]. Only that one is read.
    #[arg(long, env = "SESAME_FORWARDED_HEADER")]
    pub forwarded_header: Option<String>,
    /// Largest request body in bytes [default: 65536].
    #[arg(long, env = "SESAME_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Seconds a connection may take to send a request's headers, or stay idle between
    /// requests, before it is closed [default: 10].
    #[arg(long, env = "SESAME_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Connections open at once; more wait until one closes [default: 1000].
    #[arg(long, env = "SESAME_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// SMTP relay for outgoing mail: smtp://host:port, smtp+starttls://user:pass@host:587
    /// or smtps://user:pass@host:465 [default: none: mail is written to --mail-dir].
    #[arg(long, env = "SESAME_SMTP_URL")]
    pub smtp_url: Option<SecretString>,
    /// Sender of outgoing mail [default: Sesame <no-reply@localhost>].
    #[arg(long, env = "SESAME_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Where messages are written as .eml files when no --smtp-url is set
    /// [default: ./sesame-mail].
    #[arg(long, env = "SESAME_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
    /// Base URL of the links in messages [default: the issuer].
    #[arg(long, env = "SESAME_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory of templates that replace the built-in ones, by file name
    /// (verify_email.subject, verify_email.txt, verify_email.html, ...).
    #[arg(long, env = "SESAME_TEMPLATES")]
    pub templates: Option<PathBuf>,
    /// Refuse logins (403 email_not_verified) until the address is verified, and
    /// answer registrations alike for new and existing addresses.
    #[arg(long, env = "SESAME_REQUIRE_VERIFIED_EMAIL")]
    #[serde(default)]
    pub require_verified_email: bool,
    /// Seconds before a request is abandoned with 408 [default: 30].
    #[arg(long, env = "SESAME_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
}
