// better-auth's hashing limit: its password hash (node:crypto scrypt, N=16384 r=16 p=1,
// 64-byte key, as @better-auth/utils/password calls it) kept busy on libuv's pool, for
// bench/run to set beside Sesame's Argon2id limit. Prints hashes per second.
// Usage: node scrypt_limit.mjs SECONDS
import { randomBytes, scrypt } from "node:crypto";
import os from "node:os";

const seconds = Number(process.argv[2] || 5);
const params = { N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2 };
const callers = 2 * os.availableParallelism();
const started = performance.now();
const deadline = started + seconds * 1000;
let done = 0;
let running = callers;

function next() {
  if (performance.now() >= deadline) {
    if (--running === 0) {
      console.log((done / ((performance.now() - started) / 1000)).toFixed(1));
    }
    return;
  }
  scrypt("correct horse battery".normalize("NFKC"), randomBytes(16).toString("hex"), 64, params,
    (err) => {
      if (err) throw err;
      done += 1;
      next();
    });
}
for (let i = 0; i < callers; i++) next();
