-- Second factors. A TOTP factor is one row per user, its secret sealed with the factor
-- key (AES-256-GCM, bound to the user id; the key lives in a file, never here), pending
-- until `confirmed_at`; `last_step` is the last time step a code was accepted for, and
-- a code is accepted only for a later one (no replay). Recovery codes are SHA-256
-- digests, each used once. `users.mfa_enabled` says whether a confirmed factor exists,
-- kept in the transactions that change factors, so a login learns it with the user.
-- A session keeps how it was opened (`amr`, RFC 8176, a JSON array), so a refresh
-- carries the same claim.
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';

CREATE TABLE totp_factors (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER
);

CREATE TABLE recovery_codes (
    user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- A login waiting for its second factor: the `mfa_token` as a SHA-256 digest, what the
-- first step proved (`amr`), 5 minutes, 5 attempts; finishing deletes the row.
CREATE TABLE mfa_tickets (
    token_hash BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mfa_tickets_user_id ON mfa_tickets (user_id);
CREATE INDEX mfa_tickets_expires_at ON mfa_tickets (expires_at);
