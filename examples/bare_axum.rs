//! The ceiling of the HTTP stack on this machine: axum answering "hello" with nothing
//! else, for `bench/run` to compare Sesame's endpoints against.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind(address).await?;
    axum::serve(listener, app).await
}
