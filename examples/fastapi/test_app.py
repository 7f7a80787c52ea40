"""The example against a real Sesame and a real uvicorn: a Sesame login's token is
accepted; expired, tampered, foreign and algorithm-confused tokens are refused; a
rotated key is picked up without a restart. Run by .ci/run:

    SESAME_BIN=target/release/sesame pytest examples/fastapi
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SESAME_BIN = os.environ.get("SESAME_BIN", str(HERE.parents[1] / "target/release/sesame"))
PASSWORD = "correct horse battery"
# Short, so that the test sees a key go from published to signing.
PUBLISH_AHEAD = 2
TOKEN_TTL = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url):
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def call(method, url, body=None, token=None):
    request = urllib.request.Request(url, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    if token is not None:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Sesame:
    def __init__(self, directory):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = ["--database", f"sqlite://{directory}/sesame.db"]
        self.process = subprocess.Popen(
            [SESAME_BIN, "serve", "--bind", f"127.0.0.1:{self.port}", *self.store,
             "--key-publish-ahead", str(PUBLISH_AHEAD),
             "--access-token-ttl", str(TOKEN_TTL),
             "--hash-memory-kib", "64", "--hash-iterations", "1",
             "--mail-dir", f"{directory}/mail"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(f"{self.url}/healthz")

    def token(self, email="ada@example.com"):
        call("POST", f"{self.url}/register", {"email": email, "password": PASSWORD})
        status, body = call("POST", f"{self.url}/login", {"email": email, "password": PASSWORD})
        assert status == 200, body
        return body["access_token"]

    def rotate(self):
        subprocess.run(
            [SESAME_BIN, "keys", "rotate", *self.store,
             "--key-publish-ahead", str(PUBLISH_AHEAD)],
            check=True, capture_output=True,
        )

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def sesame():
    with tempfile.TemporaryDirectory() as directory:
        server = Sesame(directory)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def service(sesame):
    port = free_port()
    env = dict(os.environ, SESAME_URL=sesame.url, SESAME_LEEWAY="0", SESAME_JWKS_LIFESPAN="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning"],
        cwd=HERE, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/docs")
    yield url
    process.terminate()
    process.wait(timeout=10)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_sesame_token_is_accepted(sesame, service):
    status, body = call("GET", f"{service}/me", token=sesame.token())
    assert status == 200
    assert body["email"] == "ada@example.com"


def test_an_expired_token_is_refused(sesame, service):
    token = sesame.token()
    time.sleep(TOKEN_TTL + 1.5)
    assert call("GET", f"{service}/me", token=token)[0] == 401


def test_a_tampered_token_is_refused(sesame, service):
    header, payload, signature = sesame.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["email"] = "mallory@example.com"
    forged = ".".join([header, b64(json.dumps(claims).encode()), signature])
    assert call("GET", f"{service}/me", token=forged)[0] == 401


def test_another_issuers_token_is_refused(service):
    with tempfile.TemporaryDirectory() as directory:
        other = Sesame(directory)
        try:
            assert call("GET", f"{service}/me", token=other.token())[0] == 401
        finally:
            other.stop()


def test_an_hs256_token_signed_with_the_public_key_is_refused(sesame, service):
    token = sesame.token()
    with urllib.request.urlopen(f"{sesame.url}/.well-known/jwks.json") as response:
        public = response.read()
    header, payload, _ = token.split(".")
    confused = json.loads(base64.urlsafe_b64decode(header + "=="))
    confused["alg"] = "HS256"
    signing_input = f"{b64(json.dumps(confused).encode())}.{payload}"
    for secret in [public, json.dumps(json.loads(public)["keys"][0]).encode()]:
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert call("GET", f"{service}/me", token=f"{signing_input}.{b64(mac)}")[0] == 401


def test_a_rotated_key_is_picked_up_without_a_restart(sesame, service):
    before = sesame.token()
    assert call("GET", f"{service}/me", token=before)[0] == 200
    sesame.rotate()
    # Published now, signing after the window (plus the server's one-second reread).
    time.sleep(PUBLISH_AHEAD + 1.5)
    after = sesame.token()
    kid = lambda token: json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
    assert kid(after) != kid(before)
    assert call("GET", f"{service}/me", token=after)[0] == 200
