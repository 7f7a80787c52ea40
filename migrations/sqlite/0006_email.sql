-- One-time codes: every emailed secret (verification, password reset, sign-in, email
-- change). A row holds a 256-bit link token and a 6-digit code, each only as an HMAC
-- under a server secret. Using either deletes the row (single use); `attempts` counts
-- wrong codes, and at 5 the row is dead. At most one row per user and purpose: issuing
-- a new one deletes the older. `address` is the normalized address the secret was sent
-- to, where an `{email, code}` pair is looked up.
CREATE TABLE one_time_codes (
    id                   BLOB PRIMARY KEY NOT NULL,
    user_id              BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose              TEXT NOT NULL,
    address              TEXT NOT NULL,
    token_hash           BLOB NOT NULL,
    code_hash            BLOB NOT NULL,
    new_email            TEXT,
    created_at           TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT one_time_codes_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX one_time_codes_user_purpose ON one_time_codes (user_id, purpose);
CREATE INDEX one_time_codes_address ON one_time_codes (purpose, address);
CREATE INDEX one_time_codes_expires_at ON one_time_codes (expires_at);

-- Mail waiting for delivery, written in the transaction of the code it carries. The
-- recipient and the body are erased once the message is delivered or given up on;
-- the row stays a day to count the per-recipient send limit (`recipient_key`, set on
-- messages that carry a code: an HMAC
-- of the kind and the normalized address, so no address stays in clear).
CREATE TABLE outbox (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    recipient_key   BLOB,
    recipient       TEXT,
    subject         TEXT,
    body_text       TEXT,
    body_html       TEXT,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    claimed_until   TEXT,
    sent_at         TEXT,
    failed_at       TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX outbox_recipient_key ON outbox (recipient_key, created_at);
CREATE INDEX outbox_created_at ON outbox (created_at);
