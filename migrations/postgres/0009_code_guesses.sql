-- One live code per user and purpose, enforced by the database: issuing a code and
-- counting the sends before it are one transaction, and this index settles any race
-- that slips past the count. Older duplicates (none should exist) keep the newest.
DELETE FROM one_time_codes WHERE EXISTS (
    SELECT 1 FROM one_time_codes newer
    WHERE newer.user_id = one_time_codes.user_id
      AND newer.purpose = one_time_codes.purpose
      AND (newer.created_at > one_time_codes.created_at
           OR (newer.created_at = one_time_codes.created_at AND newer.id > one_time_codes.id)));
DROP INDEX one_time_codes_user_purpose;
CREATE UNIQUE INDEX one_time_codes_user_purpose ON one_time_codes (user_id, purpose);

-- Wrong codes typed for a user and purpose, across every code sent: a new code starts
-- a fresh 5 tries on its row, never a fresh count here. From `window_start` for a day;
-- at the cap, codes typed with the address are refused until the day is over (links,
-- 256 bits each, still work). A right code clears the row.
CREATE TABLE code_guesses (
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, purpose)
);
CREATE INDEX code_guesses_window_start ON code_guesses (window_start);
