-- Signing keys that rotate, their private halves sealed at rest.
-- Every key of an algorithm has its own generation, and only one key may have each:
-- instances that rotate at the same moment insert the same generation, and one wins.
-- `sealed_key` is the PKCS#8 private key sealed with the factor key (AES-256-GCM,
-- bound to `kid`). `clear_pem` holds a key made before keys were sealed, only until
-- the next start seals it; no new key is ever written there.
CREATE TABLE signing_keys_sealed (
    kid         TEXT PRIMARY KEY NOT NULL,
    alg         TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    sealed_key  BLOB,
    clear_pem   TEXT,
    created_at  TEXT NOT NULL,
    signs_from  TEXT NOT NULL,
    UNIQUE (alg, generation)
);
INSERT INTO signing_keys_sealed (kid, alg, generation, clear_pem, created_at, signs_from)
    SELECT kid, alg, 1, private_key_pem, created_at, created_at FROM signing_keys
    WHERE active = 1;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_sealed RENAME TO signing_keys;
