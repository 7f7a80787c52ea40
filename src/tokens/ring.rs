//! The keys an instance signs and verifies with: every published key of the configured
//! algorithm, with the times that say which one signs (see `schedule.rs`).

use time::OffsetDateTime;

use super::keys::{JwtAlgorithm, SigningKey};
use super::schedule::{self, KeyState, KeyTimes, RotationPolicy};

pub struct KeyRing {
    alg: JwtAlgorithm,
    keys: Vec<(KeyTimes, SigningKey)>,
    policy: RotationPolicy,
}

impl KeyRing {
    /// A ring of `keys`, all of them for `alg`. It must hold at least one key.
    pub fn new(
        alg: JwtAlgorithm,
        keys: Vec<(KeyTimes, SigningKey)>,
        policy: RotationPolicy,
    ) -> Option<Self> {
        if keys.is_empty() || keys.iter().any(|(_, key)| key.alg != alg) {
            return None;
        }
        Some(Self { alg, keys, policy })
    }

    /// A ring of one key that never rotates: the HS256 secret, or a key in a test.
    pub fn single(key: SigningKey, policy: RotationPolicy) -> Self {
        let times = KeyTimes {
            generation: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            signs_from: OffsetDateTime::UNIX_EPOCH,
        };
        Self {
            alg: key.alg,
            keys: vec![(times, key)],
            policy,
        }
    }

    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// The ids of the keys held (none for the HS256 secret).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|(_, key)| key.kid())
    }

    pub fn alg(&self) -> JwtAlgorithm {
        self.alg
    }

    fn times(&self) -> Vec<KeyTimes> {
        self.keys.iter().map(|(times, _)| *times).collect()
    }

    /// The key that signs at `now`.
    pub fn signer(&self, now: OffsetDateTime) -> &SigningKey {
        let index = schedule::active(&self.times(), now).unwrap_or(0);
        &self.keys[index].1
    }

    /// The published key named `kid` at `now` (`None` names the HS256 secret).
    pub fn verifier(&self, kid: Option<&str>, now: OffsetDateTime) -> Option<&SigningKey> {
        let states = schedule::states(&self.times(), now, &self.policy);
        self.keys
            .iter()
            .zip(states)
            .find(|((_, key), state)| key.kid.as_deref() == kid && state.published())
            .map(|((_, key), _)| key)
    }

    /// Each key's id and state at `now`, newest first.
    pub fn states(&self, now: OffsetDateTime) -> Vec<(Option<&str>, KeyState)> {
        let states = schedule::states(&self.times(), now, &self.policy);
        let mut named: Vec<_> = self
            .keys
            .iter()
            .zip(states)
            .map(|((times, key), state)| (times.generation, key.kid(), state))
            .collect();
        named.sort_by_key(|(generation, _, _)| std::cmp::Reverse(*generation));
        named
            .into_iter()
            .map(|(_, kid, state)| (kid, state))
            .collect()
    }

    /// The public keys published at `now`, newest first (RFC 7517), or `None` when
    /// tokens are signed with a shared secret.
    pub fn jwks(&self, now: OffsetDateTime) -> Option<serde_json::Value> {
        if self.alg == JwtAlgorithm::Hs256 {
            return None;
        }
        let published: Vec<_> = self
            .states(now)
            .into_iter()
            .filter(|(_, state)| state.published())
            .filter_map(|(kid, _)| {
                self.keys
                    .iter()
                    .find(|(_, key)| key.kid() == kid)
                    .and_then(|(_, key)| key.jwk.as_ref())
            })
            .collect();
        Some(serde_json::json!({ "keys": published }))
    }
}
