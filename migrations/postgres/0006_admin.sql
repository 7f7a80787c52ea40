-- Roles (a JSON array of names, carried by access tokens as the `roles` claim) and
-- metadata (a JSON object of at most 4 KiB, set by admins only).
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Case-insensitive substring search of emails at any size: a trigram index over the
-- normalized (lowercased) address answers `LIKE '%ada%'`.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trigram ON users USING gin (email_normalized gin_trgm_ops);

-- API keys for services calling the admin API: only a SHA-256 digest of the key is
-- kept. A live key's name is unique; a revoked key stays, for the audit trail.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

-- The audit trail. Ids are UUIDv7, so id order is time order and pages are keyset
-- ranges of it. `user_id` is deliberately no foreign key: the trail outlives the user.
CREATE TABLE audit_events (
    id          UUID PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    UUID,
    user_id     UUID,
    session_id  UUID,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_at ON audit_events (at);
