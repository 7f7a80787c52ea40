//! Resolution of settings from flags, a file and defaults.

use super::*;

#[test]
fn a_database_url_shows_no_part_of_its_password() {
    let url = DatabaseUrl::new("postgres://sesame:p@ss@w0rd@db.internal:5432/auth");
    assert_eq!(format!("{url:?}"), "[redacted]@db.internal:5432/auth");
    let plain = DatabaseUrl::new("sqlite://sesame.db");
    assert_eq!(format!("{plain:?}"), "sqlite://sesame.db");
}
