"""Schemathesis hooks for Sesame: a real account, logged in through the API.

Generated requests end sessions (POST /logout, /logout/all, DELETE /me/sessions/{id}),
so the token is fetched again whenever an answer is 401, as schemathesis does by default
for dynamic auth providers.
"""

import os
import time
import uuid

import requests
import schemathesis

BASE = os.environ["SESAME_URL"]
# The admin endpoints are called with an API key made by `sesame key create` (run).
ADMIN_KEY = os.environ["SESAME_ADMIN_KEY"]
# Not an address schemathesis generates or takes from the document's examples, so its
# wrong-password attempts never lock this account.
EMAIL = f"conformance-{uuid.uuid4().hex}@example.net"
PASSWORD = uuid.uuid4().hex


@schemathesis.auth(refresh_interval=60)
class SesameLogin:
    def get(self, case, context):
        credentials = {"email": EMAIL, "password": PASSWORD}
        registered = requests.post(f"{BASE}/register", json=credentials, timeout=10)
        if registered.status_code not in (201, 409):
            raise RuntimeError(f"register answered {registered.status_code}: {registered.text}")
        # Generated wrong passwords on DELETE /me and /me/password count against this
        # account's login throttle (the server runs with a 1-second lockout): wait it out.
        for _ in range(20):
            login = requests.post(f"{BASE}/login", json=credentials, timeout=10)
            if login.status_code != 429:
                break
            time.sleep(int(login.headers.get("Retry-After", "1")))
        login.raise_for_status()
        return login.json()["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        token = ADMIN_KEY if case.path.startswith("/admin") else data
        case.headers["Authorization"] = f"Bearer {token}"
