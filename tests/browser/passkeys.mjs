// Passkeys end to end in a real browser: Debian's chromium, headless, with a virtual
// authenticator (CTAP2, resident keys, user verification) added through the DevTools
// protocol. The page /ui/passkeys calls navigator.credentials.create/get against the
// API; this script drives it and checks what came back. Exits non-zero on any failure.
//
// Run by main.mjs, which starts the one chromium every browser test shares.
import assert from "node:assert/strict";

import { mailTo } from "./mail.mjs";

const base = process.env.SESAME_URL;

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
const post = async (path, body) => {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => ({})) };
};

export async function passkeys(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (message) => console.log(`page: ${message.text()}`));
  const devtools = await context.newCDPSession(page);
  await devtools.send("WebAuthn.enable");
  const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${base}/ui/passkeys`);

  const email = `browser-${Date.now()}@example.com`;
  const password = "correct horse battery staple";
  assert.equal((await post("/register", { email, password })).status, 201);
  // Factors are for proven addresses only.
  const code = (await mailTo(email)).match(/Code: (\d{6})/)[1];
  assert.equal((await post("/email/verify", { email, code })).status, 200);

  // Registration: a resident key, user verified, stored server-side.
  const added = await page.evaluate(
    ([e, p]) => window.sesamePasskeys.register(e, p, "virtual authenticator"), [email, password]);
  assert.equal(added.name, "virtual authenticator");
  const { credentials } = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, "the passkey is discoverable");

  // Passwordless, with no address: the discoverable credential names its user.
  const discoverable = await page.evaluate(() => window.sesamePasskeys.login(null));
  const first = claims(discoverable.access_token);
  assert.equal(first.email, email);
  assert.deepEqual(first.amr, ["hwk", "user"]);
  // With the address: its credentials are named.
  const named = await page.evaluate((e) => window.sesamePasskeys.login(e), email);
  assert.equal(claims(named.access_token).sub, first.sub);

  // The passkey is now a second factor for the password.
  const refused = await post("/login", { email, password });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, "mfa_required");
  assert.deepEqual(refused.body.methods, ["passkey"]);

  // The signature counter moved with each use.
  const after = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 3, `signCount ${after.credentials[0].signCount}`);
  console.log(`browser passkeys: registered, discoverable and named logins, mfa_required: ok (${await browser.version()})`);
  await context.close();
}
