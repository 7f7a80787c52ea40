//! What `{:?}` shows of the values that carry secrets: never the secret. A stray
//! debug line (or an error that formats its cause) must not put a token, a mail's
//! code or a database password into the logs.

use sesame::config::{DatabaseUrl, Overrides};
use sesame::http::routes::TokenResponse;
use sesame::store::{NewMail, QueuedMail};
use time::OffsetDateTime;
use uuid::Uuid;

const SECRET: &str = "s3cr3t-value";

fn assert_hidden(debug: String) {
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains("ada@example.com"), "{debug}");
}

#[test]
fn tokens_mail_and_settings_keep_their_secrets_out_of_debug() {
    assert_hidden(format!(
        "{:?}",
        TokenResponse {
            access_token: SECRET.to_owned(),
            token_type: "Bearer",
            expires_in: 900,
            refresh_token: SECRET.to_owned(),
            refresh_expires_in: 60,
        }
    ));
    let body = format!("Code: {SECRET}");
    let new = NewMail {
        id: Uuid::nil(),
        kind: "reset_password",
        recipient: Some("ada@example.com".to_owned()),
        recipient_key: None,
        subject: "Reset your password".to_owned(),
        body_text: body.clone(),
        body_html: body.clone(),
        created_at: OffsetDateTime::UNIX_EPOCH,
    };
    assert_hidden(format!("{new:?}"));
    let queued = QueuedMail {
        id: Uuid::nil(),
        kind: "reset_password".to_owned(),
        recipient: "ada@example.com".to_owned(),
        subject: "Reset your password".to_owned(),
        body_text: body.clone(),
        body_html: body,
        attempts: 0,
    };
    assert_hidden(format!("{queued:?}"));

    let overrides = Overrides {
        database: Some(format!("postgres://u:{SECRET}@db/sesame").into()),
        smtp_url: Some(format!("smtps://u:{SECRET}@relay:465").into()),
        ..Overrides::default()
    };
    assert_hidden(format!("{overrides:?}"));
    for url in [
        format!("postgres://u:{SECRET}@db/sesame"),
        format!("postgres://db/sesame?user=u&password={SECRET}"),
        format!("postgres://u:a@b{SECRET}@db/sesame?sslmode=require"),
    ] {
        let shown = format!("{:?}", DatabaseUrl::new(url));
        assert_hidden(shown.clone());
        assert!(shown.contains("db/sesame"), "{shown}");
    }
}
