//! Wiring: open the store, load the keys, build the router, bind the listener.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Auth, AuthParts, EmailSetup};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::http::{self, AppState, ConnectionLimits, IpLimiter, Shared, TrustedProxies};
use crate::mail::{Postman, Templates, Transport};
use crate::password::{HashMetrics, Hasher};
use crate::store::{self, Store};
use crate::telemetry::Metrics;
use crate::tokens::{AccessTokens, JwtAlgorithm};

mod factors;
mod instruments;
mod keys;
mod secrets;
mod tasks;

use instruments::{auth_metrics, hash_metrics, mail_metrics};
use tasks::{Background, housekeeping, key_upkeep, shutdown_signal};

pub use keys::{KeyManager, Listed, Rotated};

use secrets::{code_key, factor_key, permissions, refresh_key};

pub struct Application {
    listener: TcpListener,
    connection_limits: ConnectionLimits,
    router: axum::Router,
    address: SocketAddr,
    state: AppState,
    postman: Postman,
    keys: Option<KeyManager>,
    metrics_listener: Option<TcpListener>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Binds first, so that the issuer can name the port actually bound (port 0 in tests).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let address = listener.local_addr()?;
        let metrics_listener = match settings.metrics_bind {
            Some(bind) => Some(
                TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {bind}"))?,
            ),
            None => None,
        };
        let issuer = settings
            .issuer
            .clone()
            .unwrap_or_else(|| default_issuer(address));
        let metrics = Metrics::new();
        let (auth, keys) =
            build_auth(&settings, issuer, clock.clone(), hash_metrics(&metrics)).await?;
        let auth = auth.with_metrics(auth_metrics(&metrics));
        let mail = &settings.mail;
        let postman = Postman {
            store: auth.store(),
            transport: Transport::new(mail.smtp_url.as_ref(), &mail.dir)?,
            from: mail
                .from
                .parse()
                .with_context(|| format!("--mail-from {:?} is not an address", mail.from))?,
            clock,
            wake: auth.mail_wake(),
            metrics: mail_metrics(&metrics),
        };
        let state = AppState::new(Shared {
            auth: Arc::new(auth),
            body_limit: settings.body_limit,
            proxies: Arc::new(TrustedProxies::new(
                settings.trusted_proxies.clone(),
                settings.forwarded_header,
            )),
            ip_limiter: settings
                .ip_rate_limit
                .map(|per_minute| Arc::new(IpLimiter::per_minute(per_minute))),
            metrics,
        });
        let router = http::router(state.clone(), settings.request_timeout, settings.access_log);
        Ok(Self {
            listener,
            connection_limits: settings.connection_limits,
            router,
            address,
            state,
            postman,
            keys,
            metrics_listener,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics_address() {
            Some(metrics) => tracing::info!(address = %self.address, %metrics, "listening"),
            None => tracing::info!(address = %self.address, "listening"),
        }
        let store = self.state.auth.store();
        // Stopped with the server, or when this future is dropped.
        let auth = Arc::clone(&self.state.auth);
        let _session_ends = Background(tokio::spawn(async move {
            auth.follow_session_ends().await;
        }));
        let mut postman = Background(tokio::spawn(self.postman.run()));
        let _metrics = self.metrics_listener.map(|listener| {
            let router = http::metrics_router(self.state.clone());
            // A scraper needs few connections; this one ends with the server.
            let limits = ConnectionLimits {
                max_connections: 16,
                ..self.connection_limits
            };
            let serving = http::serve(listener, router, limits, std::future::pending());
            Background(tokio::spawn(async move {
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }))
        });
        let _keys = self.keys.map(|keys| {
            let auth = Arc::clone(&self.state.auth);
            Background(tokio::spawn(key_upkeep(keys, auth)))
        });
        let mut housekeeping = Background(tokio::spawn(housekeeping(self.state)));
        let served = http::serve(
            self.listener,
            self.router,
            self.connection_limits,
            shutdown_signal(),
        )
        .await;
        // Requests are done, and the writers in the background are stopped: what was
        // erased (a used reset link, a delivered body) must not outlive the process
        // in the write-ahead log.
        postman.stop().await;
        housekeeping.stop().await;
        if let Err(e) = store.scrub().await {
            tracing::warn!(error = %e, "could not empty the write-ahead log at shutdown");
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Code sends that may run after their answer at once (`/password/forgot`,
/// `/login/code/send`); past it a flood's sends are dropped, as the send limit would.
const BACKGROUND_SENDS: usize = 64;

/// `http://HOST:PORT` of the bound address, with `localhost` for a wildcard address.
fn default_issuer(address: SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() => "localhost".to_owned(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", address.port())
}

/// Opens (and migrates) the store named in `settings`.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open(
        settings.database.expose(),
        settings.db_max_connections,
        permissions(settings),
    )
    .await
    .with_context(|| format!("cannot open the store {:?}", settings.database))?;
    if settings.migrate {
        store
            .migrate()
            .await
            .context("cannot apply store migrations")?;
    }
    Ok(store)
}

/// The use cases with everything they need (store, hasher, signing keys, clock), and
/// what keeps the signing keys rotating (none in HS256 mode).
pub async fn build_auth(
    settings: &Settings,
    issuer: String,
    clock: Arc<dyn Clock>,
    hash_metrics: HashMetrics,
) -> anyhow::Result<(Auth, Option<KeyManager>)> {
    let store = open_store(settings).await?;
    let factor_key = Arc::new(
        factor_key(
            store.as_ref(),
            &settings.factor_key_file,
            permissions(settings),
            clock.now(),
        )
        .await?,
    );
    let (ring, keys) = keys::signing(settings, &store, &factor_key, &clock).await?;
    // In HS256 mode tokens must verify with the seed's python-jose call, which
    // refuses an `aud` it was not told to expect.
    let audience = match (&settings.audience, settings.jwt_algorithm) {
        (Some(aud), _) => Some(aud.clone()),
        (None, JwtAlgorithm::Hs256) => None,
        (None, _) => Some(issuer.clone()),
    };
    let ttl = time::Duration::try_from(settings.access_token_ttl)
        .context("the access-token lifetime is too large")?;
    let issuer_url = issuer.trim_end_matches('/').to_owned();
    let tokens = AccessTokens::new(ring, issuer, audience, ttl);
    let hasher = Hasher::new(settings.hash, settings.hash_pool, hash_metrics)?;
    let refresh_key = refresh_key(store.as_ref(), clock.now()).await?;
    let mail = &settings.mail;
    let email = EmailSetup {
        codes: code_key(store.as_ref(), clock.now()).await?,
        templates: Templates::load(mail.templates.as_deref())?,
        public_url: mail.public_url.clone().unwrap_or(issuer_url),
        require_verified: mail.require_verified_email,
        wake: Arc::default(),
        send_limit: crate::store::SendLimit::default(),
        sends: Arc::new(tokio::sync::Semaphore::new(BACKGROUND_SENDS)),
    };
    let factors = factors::setup(settings, factor_key, &email.public_url)?;
    let auth = Auth::new(AuthParts {
        store,
        hasher,
        tokens,
        clock,
        lifetimes: settings.lifetimes,
        throttle: settings.login_throttle,
        refresh_key,
        email,
        factors,
    });
    Ok((auth, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_names_the_bound_address() {
        assert_eq!(
            default_issuer("127.0.0.1:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            default_issuer("0.0.0.0:9000".parse().unwrap()),
            "http://localhost:9000"
        );
        assert_eq!(
            default_issuer("[::1]:80".parse().unwrap()),
            "http://[::1]:80"
        );
    }
}
