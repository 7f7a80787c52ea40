"""Schemathesis hooks for Sesame: a real account, logged in through the API.

Generated requests end sessions (POST /logout, /logout/all, DELETE /me/sessions/{id}),
so the token is fetched again whenever an answer is 401, as schemathesis does by default
for dynamic auth providers. Generated admin calls can also disable, delete or re-address
this very account (its id is in GET /admin/users); when it can no longer log in, the
provider signs up a fresh one rather than stopping the run.
"""

import os
import time
import uuid

import requests
import schemathesis

BASE = os.environ["SESAME_URL"]
# The admin endpoints are called with an API key made by `sesame key create` (run).
ADMIN_KEY = os.environ["SESAME_ADMIN_KEY"]


def fresh_account():
    """Not an address schemathesis generates or takes from the document's examples, so
    its wrong-password attempts never lock this account."""
    return {"email": f"conformance-{uuid.uuid4().hex}@example.net", "password": uuid.uuid4().hex}


def log_in(credentials):
    """The account's access token, or None when it cannot log in any more."""
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
    if login.status_code == 200:
        return login.json()["access_token"]
    # 403 account_disabled (PATCH /admin/users/{id}), or 401 once the address was taken
    # by another account after this one was deleted or re-addressed.
    if login.status_code in (401, 403):
        return None
    raise RuntimeError(f"login answered {login.status_code}: {login.text}")


@schemathesis.auth(refresh_interval=60)
class SesameLogin:
    def __init__(self):
        self.credentials = fresh_account()

    def get(self, case, context):
        token = log_in(self.credentials)
        if token is None:
            self.credentials = fresh_account()
            token = log_in(self.credentials)
        if token is None:
            raise RuntimeError("a freshly registered account could not log in")
        return token

    def set(self, case, data, context):
        case.headers = case.headers or {}
        token = ADMIN_KEY if case.path.startswith("/admin") else data
        case.headers["Authorization"] = f"Bearer {token}"
