//! The SQLite store's own tests: what only this engine does.

use secrecy::SecretString;
use time::OffsetDateTime;
use uuid::Uuid;

use super::*;
use crate::audit::{Event, EventType};
use crate::domain::normalize_email;
use crate::store::{
    NewRefreshToken, NewSession, NewUser, RotationPolicy, SessionStore, Store, UserStore,
};

fn user(id: Uuid, email: &str) -> NewUser {
    NewUser {
        id,
        email: email.to_owned(),
        email_normalized: normalize_email(email).expect("a valid address").1,
        password_hash: SecretString::from("$argon2id$stand-in"),
        created_at: OffsetDateTime::UNIX_EPOCH,
    }
}

#[tokio::test]
async fn only_the_email_constraint_means_email_taken() {
    let store = SqliteStore::connect("sqlite::memory:", 1, Permissions::Strict)
        .await
        .unwrap();
    Store::migrate(&store).await.unwrap();
    let id = Uuid::now_v7();
    store
        .create_user(&user(id, "ada@example.com"), &event())
        .await
        .unwrap();
    let same_email = store
        .create_user(&user(Uuid::now_v7(), "ada@example.com"), &event())
        .await;
    assert!(
        matches!(same_email, Err(StoreError::EmailTaken)),
        "{same_email:?}"
    );
    let same_id = store
        .create_user(&user(id, "bob@example.com"), &event())
        .await;
    assert!(
        matches!(same_id, Err(StoreError::Database(_))),
        "{same_id:?}"
    );
}

fn event() -> Event {
    Event::new(EventType::UserRegistered, OffsetDateTime::now_utc())
}

fn digest(n: u32) -> Vec<u8> {
    let mut digest = vec![0u8; 32];
    digest[..4].copy_from_slice(&n.to_be_bytes());
    digest
}

/// Rotations that arrive together are committed together; one of them failing
/// (here: its new token collides with a stored one) must cost the others nothing,
/// and must leave nothing of its own behind.
#[tokio::test]
async fn a_failing_rotation_does_not_take_its_group_down() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = SqliteStore::connect(&url, 4, Permissions::Strict)
        .await
        .unwrap();
    Store::migrate(&store).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let id = Uuid::now_v7();
    let mut ada = user(id, "ada@example.com");
    ada.created_at = now;
    store.create_user(&ada, &event()).await.unwrap();
    let sessions = 20;
    for n in 0..sessions {
        let session = NewSession {
            id: Uuid::now_v7(),
            user_id: id,
            created_at: now,
            expires_at: now + time::Duration::days(30),
            user_agent: None,
            ip: None,
            refresh_token_hash: digest(n),
            refresh_expires_at: now + time::Duration::days(30),
            verified_hash: ada.password_hash.clone(),
            rehash: None,
            throttle_key: vec![1],
            source_key: None,
            amr: crate::domain::Amr::of(crate::domain::Amr::PWD),
        };
        store.record_login(&session, &event()).await.unwrap();
    }
    let policy = RotationPolicy {
        idle_timeout: time::Duration::days(30),
        grace: time::Duration::seconds(10),
    };
    let next = |n: u32| NewRefreshToken {
        hash: digest(n),
        expires_at: now + time::Duration::days(30),
    };
    // Session 0's new token would be session 1's current one: a primary-key clash.
    let clash = next(1);
    let rotations = (0..sessions).map(|n| {
        let replacement = if n == 0 {
            clash.clone()
        } else {
            next(1000 + n)
        };
        let presented = digest(n);
        let store = &store;
        async move {
            store
                .rotate_refresh_token(&presented, &replacement, now, policy)
                .await
        }
    });
    let results = futures::future::join_all(rotations).await;

    assert!(
        matches!(results[0], Err(StoreError::Database(_))),
        "{:?}",
        results[0]
    );
    for result in &results[1..] {
        assert!(matches!(result, Ok(Rotation::Rotated { .. })), "{result:?}");
    }
    // Session 0's token was not marked used by the failed attempt: it rotates as a
    // first use, not as a replay.
    let retried = store
        .rotate_refresh_token(&digest(0), &next(999), now, policy)
        .await;
    assert!(
        matches!(retried, Ok(Rotation::Rotated { .. })),
        "{retried:?}"
    );
    // The others' new tokens were committed: each rotates in turn.
    for n in 1..sessions {
        let again = store
            .rotate_refresh_token(&digest(1000 + n), &next(2000 + n), now, policy)
            .await;
        assert!(matches!(again, Ok(Rotation::Rotated { .. })), "{again:?}");
    }
}
