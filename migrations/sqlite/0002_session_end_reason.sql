-- Why a session ended: logout, logout_all, revoked, password_changed, reuse_detected,
-- expired. Kept for audit; an ended session never comes back.
ALTER TABLE sessions ADD COLUMN end_reason TEXT;
CREATE INDEX refresh_tokens_parent_hash ON refresh_tokens (parent_hash);
