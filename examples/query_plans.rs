//! Prints how the database runs each query on Sesame's request paths, for `bench/run`
//! to put in docs/benchmarks.md (at a million users, where the planner chooses as it
//! would in production).
//! Usage: query_plans sqlite://FILE|postgres://URL

use sesame::store::{Permissions, open};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite://sesame.db".to_owned());
    let store = open(&url, 1, Permissions::Strict).await?;
    for plan in store.query_plans(false).await? {
        println!("{}", plan.name);
        for step in plan.steps {
            println!("    {step}");
        }
    }
    Ok(())
}
