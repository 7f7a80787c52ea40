-- Passkeys (WebAuthn credentials, webauthn-rs). `credential` is the webauthn-rs
-- credential as JSON: its public key, counter and backup flags, no secret (the private
-- key never leaves the authenticator). `credential_id` is unique across users, as
-- WebAuthn requires. Ceremony state lives in `webauthn_challenges` until its one use
-- (5 minutes), so any instance finishes what another began.
CREATE TABLE passkeys (
    id            BLOB PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL,
    credential    TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

CREATE TABLE webauthn_challenges (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX webauthn_challenges_user_id ON webauthn_challenges (user_id);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
