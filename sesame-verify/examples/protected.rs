//! A service whose `/me` only Sesame's users may call:
//! `SESAME_ISSUER=http://127.0.0.1:8080 cargo run -p sesame-verify --example protected`.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use sesame_verify::{SesameUser, Verifier};

async fn me(SesameUser(user): SesameUser) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "id": user.sub, "email": user.email, "roles": user.roles }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let issuer = std::env::var("SESAME_ISSUER").unwrap_or("http://127.0.0.1:8080".into());
    let verifier = Arc::new(Verifier::new(&issuer));
    let app = Router::new().route("/me", get(me)).with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await
}
