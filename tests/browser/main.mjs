// Every browser test, in the one chromium they share (starting it is most of their
// cost). SESAME_URL=http://localhost:PORT MAIL_DIR=... node main.mjs
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

import { pages } from "./pages.mjs";
import { passkeys } from "./passkeys.mjs";

assert.ok(process.env.SESAME_URL?.startsWith("http://localhost:"), "SESAME_URL must be http://localhost:PORT");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Without the background-networking flags chromium reaches for Google's hosts,
  // which this machine's closed network refuses.
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  await passkeys(browser);
  await pages(browser);
} finally {
  await browser.close();
}
