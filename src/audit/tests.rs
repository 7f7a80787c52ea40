//! Unit tests of the audit vocabulary.

use super::*;

#[test]
fn every_type_parses_back_from_its_name() {
    for kind in EventType::ALL {
        assert_eq!(EventType::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(EventType::parse("login"), None);
}

#[test]
fn the_user_is_the_actor_unless_someone_else_is_named() {
    let (user, admin) = (Uuid::now_v7(), Uuid::now_v7());
    let at = OffsetDateTime::UNIX_EPOCH;
    let own = Event::new(EventType::PasswordChanged, at).user(user);
    assert_eq!(own.actor, Actor::User(Some(user)));
    let by_admin = Event::new(EventType::UserDisabled, at)
        .by(Actor::Admin(admin))
        .user(user);
    assert_eq!(by_admin.actor, Actor::Admin(admin));
}

#[tokio::test]
async fn events_take_the_origin_of_the_request_they_happen_in() {
    let origin = Origin {
        ip: Some("192.0.2.1".into()),
        user_agent: Some("curl/8".into()),
        request_id: Some("req-1".into()),
    };
    let at = OffsetDateTime::UNIX_EPOCH;
    let inside = within(origin.clone(), async {
        Event::new(EventType::LoginFailed, at)
    })
    .await;
    assert_eq!(inside.origin, origin);
    assert_eq!(
        Event::new(EventType::LoginFailed, at).origin,
        Origin::default()
    );
}
