-- Secrets the server keys its own derivations with (the refresh-token derivation
-- key; later the one-time-code key), shared by every instance like the signing keys.
-- One row per name; the first instance to start creates it.
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY NOT NULL,
    secret     BLOB NOT NULL,
    created_at TEXT NOT NULL
);
