-- The per-account login throttle: consecutive failures per key (a SHA-256 digest of the
-- normalized email, so unknown addresses are throttled alike and no email is stored
-- here). A row exists only while failures count; a successful login deletes it.
CREATE TABLE login_failures (
    key             BYTEA PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_last_failure_at ON login_failures (last_failure_at);
