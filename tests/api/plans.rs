//! Every query on a request path is served by an index, on each backend: the cost of a
//! login, a bearer check or a refresh must not grow with the number of users.

use sesame::store::{Permissions, open};

use super::helpers::TestDatabase;

/// A step that reads a whole table: SQLite's `SCAN t` (a `SEARCH` uses an index, and
/// so does a `SCAN` of a full-text table through its `VIRTUAL TABLE INDEX`),
/// PostgreSQL's `Seq Scan`.
fn is_full_scan(step: &str) -> bool {
    let step = step.trim_start_matches([' ', '-', '>']);
    let indexed = step.contains("USING") || step.contains("VIRTUAL TABLE INDEX");
    (step.starts_with("SCAN ") && !indexed) || step.starts_with("Seq Scan")
}

#[tokio::test]
async fn no_hot_query_scans_a_table() {
    let db = TestDatabase::new().await;
    let store = open(&db.url, 2, Permissions::Strict).await.unwrap();
    store.migrate().await.unwrap();
    let plans = store.query_plans(true).await.unwrap();
    assert!(plans.len() >= 20, "{plans:?}");
    for plan in &plans {
        assert!(!plan.steps.is_empty(), "{}: no plan", plan.name);
        // SQLite reads a bounded subquery (`CO-ROUTINE u`) with `SCAN u`: no table.
        let subqueries: Vec<String> = plan
            .steps
            .iter()
            .filter_map(|step| step.trim().strip_prefix("CO-ROUTINE "))
            .map(|name| format!("SCAN {name}"))
            .collect();
        let of_table = |step: &&String| !subqueries.iter().any(|s| step.trim() == s);
        assert!(
            !plan
                .steps
                .iter()
                .filter(of_table)
                .any(|step| is_full_scan(step)),
            "{} scans a table:\n{}",
            plan.name,
            plan.steps.join("\n")
        );
    }
}

#[test]
fn full_scans_are_told_from_index_searches() {
    assert!(is_full_scan("SCAN sessions"));
    assert!(is_full_scan(
        "  ->  Seq Scan on sessions  (cost=0.00..1.01 rows=1 width=8)"
    ));
    assert!(!is_full_scan(
        "SEARCH users USING INDEX sqlite_autoindex_users_2 (email_normalized=?)"
    ));
    assert!(!is_full_scan(
        "Index Scan using users_pkey on users  (cost=0.15..8.17 rows=1 width=8)"
    ));
    assert!(!is_full_scan(
        "SCAN s USING COVERING INDEX sessions_user_id"
    ));
    assert!(!is_full_scan(
        "SCAN users_email_search VIRTUAL TABLE INDEX 0:M1"
    ));
}

/// A misspelled column or table fails here, on each backend, not in the one request
/// that would run the statement.
#[tokio::test]
async fn every_statement_prepares() {
    let db = TestDatabase::new().await;
    let store = open(&db.url, 2, Permissions::Strict).await.unwrap();
    store.migrate().await.unwrap();
    let refused = store.unpreparable().await.unwrap();
    assert!(refused.is_empty(), "{refused:#?}");
}
