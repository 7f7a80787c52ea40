//! `sesame-verify` on a bare axum server, for `bench/run`: `GET /` answers "hello" with
//! nothing else (the ceiling), `GET /me` the same behind the `SesameUser` extractor.
//! Usage: `verify_axum ADDRESS ISSUER JWKS_URL`.

use std::sync::Arc;

use axum::routing::get;
use sesame_verify::{SesameUser, Verifier};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8091".to_owned());
    let issuer = args.next().unwrap_or_else(|| "http://bench".to_owned());
    let jwks = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/.well-known/jwks.json".to_owned());
    let verifier = Arc::new(Verifier::new(&issuer).jwks_url(&jwks));
    let app = axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/me", get(|SesameUser(_): SesameUser| async { "hello" }))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind(address).await?;
    axum::serve(listener, app).await
}
