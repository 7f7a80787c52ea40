//! The API suite again, on PostgreSQL: `helpers::TestDatabase` picks the backend from
//! the name of this test binary.
#[path = "api/main.rs"]
mod api;
