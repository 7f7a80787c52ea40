-- Where an account logged in from successfully: a SHA-256 digest of the normalized
-- email and the client's address (an IPv6 client by its /64), never either in clear.
-- An attempt from such a source within 30 days counts on a throttle counter of its
-- own, so failures from elsewhere cannot lock the owner out of a place they use.
CREATE TABLE login_sources (
    key             BYTEA PRIMARY KEY,
    last_success_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_sources_last_success_at ON login_sources (last_success_at);
