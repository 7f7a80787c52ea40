-- Signing keys that rotate, their private halves sealed at rest.
-- Every key of an algorithm has its own generation, and only one key may have each:
-- instances that rotate at the same moment insert the same generation, and one wins.
-- `sealed_key` is the PKCS#8 private key sealed with the factor key (AES-256-GCM,
-- bound to `kid`). `clear_pem` holds a key made before keys were sealed, only until
-- the next start seals it; no new key is ever written there.
DELETE FROM signing_keys WHERE NOT active;
DROP INDEX signing_keys_one_active;
ALTER TABLE signing_keys DROP COLUMN active;
ALTER TABLE signing_keys RENAME COLUMN private_key_pem TO clear_pem;
ALTER TABLE signing_keys ALTER COLUMN clear_pem DROP NOT NULL;
ALTER TABLE signing_keys ADD COLUMN sealed_key BYTEA;
ALTER TABLE signing_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE signing_keys ALTER COLUMN generation DROP DEFAULT;
ALTER TABLE signing_keys ADD COLUMN signs_from TIMESTAMPTZ;
UPDATE signing_keys SET signs_from = created_at;
ALTER TABLE signing_keys ALTER COLUMN signs_from SET NOT NULL;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_generation UNIQUE (alg, generation);
