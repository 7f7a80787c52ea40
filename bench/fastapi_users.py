"""The fastapi-users peer (../shared/peers/fastapi-users) in bench/run: fastapi-users 15
as its full example sets it up, uvicorn with 2 workers, SQLite, Argon2id m=64 MiB t=3
p=4 through pwdlib, hashed inside the async handlers. Its `/users/me`, login and
register rows, its idle and peak RSS, and its hashing limit measured as better-auth's
is: the library's own hash, kept busy on every core, outside HTTP.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import time
import urllib.parse
import urllib.request

PEER = os.path.normpath(os.path.join(os.path.dirname(__file__), "../../shared/peers/fastapi-users"))
USERS = 32


def venv_python():
    """The peer's virtualenv, as its run script names it."""
    digest = hashlib.sha256(open(os.path.join(PEER, "requirements.txt"), "rb").read()).hexdigest()
    venv = os.environ.get("PEER_VENV") or os.path.expanduser(
        f"~/.cache/sesame-peers/fastapi-users/{digest[:12]}")
    return os.path.join(venv, "bin", "python")


def form_login(url, email, password):
    data = urllib.parse.urlencode({"username": email, "password": password}).encode()
    request = urllib.request.Request(url + "/auth/jwt/login", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["access_token"]


# Kept busy on every core, as the two workers keep it: argon2-cffi's own defaults, the
# hash pwdlib makes (its 4 lanes run on 4 threads).
HASH_LIMIT = """
import sys, time
from concurrent.futures import ProcessPoolExecutor
from os import cpu_count
def busy(seconds):
    from pwdlib.hashers.argon2 import Argon2Hasher
    hasher, done, deadline = Argon2Hasher(), 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.hash("correct horse battery")
        done += 1
    return done
seconds = float(sys.argv[1])
began = time.monotonic()
with ProcessPoolExecutor(cpu_count()) as pool:
    done = sum(pool.map(busy, [seconds] * cpu_count()))
print(f"{done / (time.monotonic() - began):.2f}")
"""


def run(kit, results, port):
    """Adds the peer's rows to `results`; `kit` is bench.py, for its helpers."""
    peer_db = os.path.join(kit.WORK, "fastapi-users.db")
    env = {"PORT": str(port), "PEER_DB": peer_db}
    kit.log("fastapi-users: starting (the first run makes its virtualenv)")
    purl = f"http://127.0.0.1:{port}"
    # Any answer means it is up: /users/me without a token is a 401.
    peer = kit.start([os.path.join(PEER, "run")], purl + "/users/me", env=env, timeout=900)
    time.sleep(1)
    results["fu_idle_rss_mb"] = kit.tree_rss_kib(peer) / 1024

    def sign_up(n):
        status, _ = kit.http("POST", purl + "/auth/register",
                             {"email": f"login-{n}@example.com", "password": kit.PASSWORD})
        return status
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(sign_up, range(USERS)))
    if any(status != 201 for status in statuses):
        raise RuntimeError(f"fastapi-users sign-ups answered {sorted(set(statuses))}")
    token = form_login(purl, "login-0@example.com", kit.PASSWORD)
    results["fu_me"] = kit.scenario("fastapi-users GET /users/me c=64", purl + "/users/me", 64,
                                    "session.lua", {"EXPECT": '"email"'},
                                    headers=[f"Authorization: Bearer {token}"])
    signin = os.path.join(PEER, "compare", "signin.lua")
    results["fu_login16"] = kit.scenario("fastapi-users POST /auth/jwt/login c=16", purl + "/auth/jwt/login",
                                         16, signin, {"USERS": str(USERS), "PREFIX": "login-",
                                                      "PASSWORD": kit.PASSWORD})
    # Logins still queued in the workers when wrk stopped would hold up the next run.
    time.sleep(5)
    results["fu_register"] = kit.scenario("fastapi-users POST /auth/register c=16", purl + "/auth/register",
                                          16, "register.lua", {"SIGNUP_PATH": "/auth/register"})
    results["fu_peak_rss_mb"] = kit.tree_rss_kib(peer, "VmHWM") / 1024
    kit.stop(peer)
    seconds = 2 if kit.QUICK else 8
    results["fu_hash_limit"] = kit.statistics.median(
        float(subprocess.run([venv_python(), "-c", HASH_LIMIT, str(seconds)],
                             capture_output=True, text=True, check=True).stdout)
        for _ in range(kit.RUNS))
    kit.log(f"fastapi-users argon2id limit: {results['fu_hash_limit']:.2f} hashes/s")
