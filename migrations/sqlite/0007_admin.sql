-- Roles (a JSON array of names, carried by access tokens as the `roles` claim) and
-- metadata (a JSON object of at most 4 KiB, set by admins only).
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Case-insensitive substring search of emails at any size: a trigram index over the
-- normalized (lowercased) address, kept in step with `users` by triggers. `LIKE
-- '%ada%'` on this table is answered from the index.
CREATE VIRTUAL TABLE users_email_search USING fts5 (
    email_normalized, content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO users_email_search (rowid, email_normalized)
    SELECT rowid, email_normalized FROM users;
CREATE TRIGGER users_email_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_email_search (rowid, email_normalized)
        VALUES (new.rowid, new.email_normalized);
END;
CREATE TRIGGER users_email_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_email_search (users_email_search, rowid, email_normalized)
        VALUES ('delete', old.rowid, old.email_normalized);
END;
CREATE TRIGGER users_email_search_update AFTER UPDATE OF email_normalized ON users BEGIN
    INSERT INTO users_email_search (users_email_search, rowid, email_normalized)
        VALUES ('delete', old.rowid, old.email_normalized);
    INSERT INTO users_email_search (rowid, email_normalized)
        VALUES (new.rowid, new.email_normalized);
END;

-- API keys for services calling the admin API: only a SHA-256 digest of the key is
-- kept. A live key's name is unique; a revoked key stays, for the audit trail.
CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    key_hash     BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

-- The audit trail. Ids are UUIDv7, so id order is time order and pages are keyset
-- ranges of it. `user_id` is deliberately no foreign key: the trail outlives the user.
CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    at          TEXT NOT NULL,
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    BLOB,
    user_id     BLOB,
    session_id  BLOB,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_at ON audit_events (at);
