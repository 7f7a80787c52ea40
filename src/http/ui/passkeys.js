// Sesame's passkey endpoints from a browser: the options go to
// navigator.credentials.create/get through the WebAuthn JSON helpers, and the
// credential comes back as its toJSON(). window.sesamePasskeys is what the browser
// test calls; the form and button call the same functions.
"use strict";

async function call(path, body, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${path}: ${response.status} ${answer.code || answer.error || ""}`);
  }
  return answer;
}

// Logs in with the password and adds a passkey made by this browser's authenticator.
async function register(email, password, name) {
  const tokens = await call("/login", { email, password });
  const started = await call("/me/passkeys/options", { password }, tokens.access_token);
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(started.options.publicKey);
  const credential = await navigator.credentials.create({ publicKey });
  return call(
    "/me/passkeys",
    { challenge_id: started.challenge_id, credential: credential.toJSON(), name },
    tokens.access_token,
  );
}

// Signs in with a passkey: any discoverable one without an email.
async function login(email) {
  const started = await call("/login/passkey/options", email ? { email } : {});
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.options.publicKey);
  const credential = await navigator.credentials.get({ publicKey });
  return call("/login/passkey", { challenge_id: started.challenge_id, credential: credential.toJSON() });
}

window.sesamePasskeys = { register, login };

document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("status");
  const report = (promise, done) =>
    promise.then(done, (error) => { status.textContent = error.message; });
  document.getElementById("add").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    report(register(form.email.value, form.password.value, "This browser"), (added) => {
      status.textContent = `Added the passkey "${added.name}".`;
    });
  });
  document.getElementById("login").addEventListener("click", () => {
    report(login(null), () => { status.textContent = "Signed in with a passkey."; });
  });
});
