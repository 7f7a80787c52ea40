//! When each signing key signs, is published and goes. Everything follows from the
//! times kept in the store, so every instance that reads the same rows reaches the
//! same answer without asking the others.
//!
//! A key is published from the moment it is made. It signs from `signs_from`, which is
//! `--key-publish-ahead` later, so verifiers that cache the key set learn it before the
//! first token it signs. It stops signing when a newer key starts. It stays published
//! for `retention` after that (the longest a token it signed can live), and then goes.

use time::{Duration, OffsetDateTime};

/// How keys rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// How long a key signs before a successor is due; `None`: only on command.
    pub period: Option<Duration>,
    /// How long a new key is published before it signs.
    pub publish_ahead: Duration,
    /// How long a retired key stays published after its successor starts signing.
    pub retention: Duration,
}

impl RotationPolicy {
    /// How often an instance rereads the store's keys: well inside the publish-ahead
    /// window, so that it knows a new key long before the key signs.
    pub fn reload_every(&self) -> std::time::Duration {
        let quarter = u64::try_from(self.publish_ahead.whole_milliseconds() / 4).unwrap_or(0);
        std::time::Duration::from_millis(quarter.clamp(1_000, 60_000))
    }

    /// How long verifiers may cache the key set: a key set fetched just before an
    /// instance learns of a new key still expires before that key signs.
    pub fn key_set_max_age(&self) -> u64 {
        let reload = i64::try_from(self.reload_every().as_secs()).unwrap_or(i64::MAX);
        u64::try_from(self.publish_ahead.whole_seconds() - reload).unwrap_or(0)
    }
}

/// What the schedule is computed from, as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    /// Counts up per algorithm; the store lets only one key have each, which is how
    /// instances rotating at the same moment make one key.
    pub generation: i64,
    pub created_at: OffsetDateTime,
    pub signs_from: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published; signs from its `signs_from`.
    Next,
    /// Signs every new token.
    Active,
    /// No longer signs; published until `until` so the tokens it signed still verify.
    Retired {
        since: OffsetDateTime,
        until: OffsetDateTime,
    },
    /// Past its retention: not published; the store may drop it.
    Expired,
}

impl KeyState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired { .. } => "retired",
            Self::Expired => "expired",
        }
    }

    /// Whether tokens signed with the key verify.
    pub fn published(self) -> bool {
        self != Self::Expired
    }
}

/// The key that signs at `now`: the newest whose time has come. When none has come
/// (the active one was revoked and only a waiting one is left), the one due soonest
/// signs at once rather than none.
pub fn active(keys: &[KeyTimes], now: OffsetDateTime) -> Option<usize> {
    let started = keys
        .iter()
        .enumerate()
        .filter(|(_, key)| key.signs_from <= now)
        .max_by_key(|(_, key)| key.generation);
    started
        .or_else(|| {
            keys.iter()
                .enumerate()
                .min_by_key(|(_, key)| key.signs_from)
        })
        .map(|(index, _)| index)
}

/// The state of each of `keys` at `now`, in their order.
pub fn states(keys: &[KeyTimes], now: OffsetDateTime, policy: &RotationPolicy) -> Vec<KeyState> {
    let Some(active) = active(keys, now) else {
        return Vec::new();
    };
    let current = keys[active].generation;
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            if index == active {
                return KeyState::Active;
            }
            if key.generation > current {
                return KeyState::Next;
            }
            // Retired when the first newer key started signing.
            let since = keys
                .iter()
                .filter(|newer| newer.generation > key.generation && newer.signs_from <= now)
                .map(|newer| newer.signs_from)
                .min()
                .unwrap_or(now);
            let until = since + policy.retention;
            if now > until {
                KeyState::Expired
            } else {
                KeyState::Retired { since, until }
            }
        })
        .collect()
}

/// Whether the schedule wants a new key at `now`: none is waiting, and the active one
/// has signed for its period less the publish-ahead window (so that the new one takes
/// over when the period ends).
pub fn rotation_due(keys: &[KeyTimes], now: OffsetDateTime, policy: &RotationPolicy) -> bool {
    let Some(period) = policy.period else {
        return false;
    };
    let Some(active) = active(keys, now) else {
        return false;
    };
    let waiting = states(keys, now, policy).contains(&KeyState::Next);
    !waiting && keys[active].signs_from + period - policy.publish_ahead <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn policy() -> RotationPolicy {
        RotationPolicy {
            period: Some(Duration::days(90)),
            publish_ahead: Duration::hours(1),
            retention: Duration::minutes(16),
        }
    }

    fn key(generation: i64, created_at: OffsetDateTime, signs_from: OffsetDateTime) -> KeyTimes {
        KeyTimes {
            generation,
            created_at,
            signs_from,
        }
    }

    #[test]
    fn a_key_waits_signs_retires_and_expires_in_turn() {
        let made = T0 + Duration::days(90) - Duration::hours(1);
        let takes_over = T0 + Duration::days(90);
        let keys = [key(1, T0, T0), key(2, made, takes_over)];
        let at = |now| states(&keys, now, &policy());

        assert_eq!(at(made), [KeyState::Active, KeyState::Next]);
        assert_eq!(active(&keys, made), Some(0));
        assert_eq!(active(&keys, takes_over), Some(1));
        let retired = KeyState::Retired {
            since: takes_over,
            until: takes_over + Duration::minutes(16),
        };
        assert_eq!(at(takes_over), [retired, KeyState::Active]);
        assert_eq!(
            at(takes_over + Duration::minutes(16)),
            [retired, KeyState::Active]
        );
        assert_eq!(
            at(takes_over + Duration::minutes(17)),
            [KeyState::Expired, KeyState::Active]
        );
        assert!(!KeyState::Expired.published() && retired.published());
    }

    #[test]
    fn rotation_is_due_a_publish_ahead_before_the_period_ends_and_never_twice() {
        let keys = [key(1, T0, T0)];
        let due_at = T0 + Duration::days(90) - Duration::hours(1);
        assert!(!rotation_due(
            &keys,
            due_at - Duration::seconds(1),
            &policy()
        ));
        assert!(rotation_due(&keys, due_at, &policy()));
        // Once a successor waits, no other is due.
        let keys = [key(1, T0, T0), key(2, due_at, due_at + Duration::hours(1))];
        assert!(!rotation_due(&keys, due_at, &policy()));
        let manual = RotationPolicy {
            period: None,
            ..policy()
        };
        assert!(!rotation_due(
            &[key(1, T0, T0)],
            T0 + Duration::days(999),
            &manual
        ));
    }

    #[test]
    fn instances_reread_keys_and_verifiers_cache_them_inside_the_window() {
        let hour = policy();
        assert_eq!(hour.reload_every(), std::time::Duration::from_secs(60));
        assert_eq!(hour.key_set_max_age(), 3_540);
        let short = RotationPolicy {
            publish_ahead: Duration::seconds(2),
            ..hour
        };
        assert_eq!(short.reload_every(), std::time::Duration::from_secs(1));
        assert_eq!(short.key_set_max_age(), 1);
        let none = RotationPolicy {
            publish_ahead: Duration::ZERO,
            ..hour
        };
        assert_eq!(none.key_set_max_age(), 0);
    }

    #[test]
    fn with_only_a_waiting_key_left_it_signs_at_once() {
        // The active key was revoked while its successor waited.
        let keys = [key(2, T0, T0 + Duration::hours(1))];
        assert_eq!(active(&keys, T0), Some(0));
        assert_eq!(states(&keys, T0, &policy()), [KeyState::Active]);
        assert_eq!(active(&[], T0), None);
    }

    #[test]
    fn revoking_the_active_key_brings_back_the_one_before_while_it_is_published() {
        let second = T0 + Duration::days(1);
        // Generation 2 was revoked: 1 and 3 remain, 3 still waits.
        let keys = [key(1, T0, T0), key(3, second, second + Duration::hours(1))];
        assert_eq!(
            states(&keys, second, &policy()),
            [KeyState::Active, KeyState::Next]
        );
    }
}
