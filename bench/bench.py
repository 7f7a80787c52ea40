"""Runs every scenario of bench/run and prints (and, in full mode, writes) the table.

Each server is started here on loopback and stopped here; each scenario is run RUNS
times and reported as the median run (by requests/s). Ratios compare figures of the
same run on the same machine.
"""
import concurrent.futures
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import fastapi_users

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
WITH_PEERS = "--no-peers" not in sys.argv
DURATION = "2s" if QUICK else "10s"
RUNS = 1 if QUICK else 3
SESAME = os.path.join(ROOT, "target/release/sesame")
BARE = os.path.join(ROOT, "target/release/examples/bare_axum")
HASH_LIMIT = os.path.join(ROOT, "target/release/examples/hash_limit")
COMMIT_RATE = os.path.join(ROOT, "target/release/examples/commit_rate")
QUERY_PLANS = os.path.join(ROOT, "target/release/examples/query_plans")
VERIFY = os.path.join(ROOT, "target/release/examples/verify_axum")
SEED = os.path.normpath(os.path.join(ROOT, "../shared/peers/fastapi-seed/run"))
BETTER_AUTH = os.path.normpath(os.path.join(ROOT, "../shared/peers/better-auth/run"))
PASSWORD = "correct horse battery"
WORK = tempfile.mkdtemp(prefix="sesame-bench-")
STARTED = []


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(url, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http("GET", url)[0] < 500:
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} did not become ready")


def start(args, ready_url, env=None, timeout=60.0):
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    STARTED.append(process)
    wait_ready(ready_url, timeout)
    return process


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in STARTED:
        STARTED.remove(process)


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(process, field="VmRSS"):
    """RSS of a process and its children (the seed runs uvicorn workers)."""
    pids = [process.pid]
    try:
        out = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
        pids = sorted({int(p) for p in out.stdout.split()} | {process.pid})
    except OSError:
        pass
    return sum(rss_kib(p, field) for p in pids if os.path.exists(f"/proc/{p}"))


def wrk(url, conns, script=None, env=None, headers=()):
    threads = 2
    args = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{DURATION}", "--latency", "--timeout", "10s"]
    for header in headers:
        args += ["-H", header]
    lua = os.path.join(WORK, "scenario.lua")
    with open(lua, "w") as out:
        if script:
            out.write(open(os.path.join(ROOT, "bench", script)).read())
        out.write(open(os.path.join(ROOT, "bench", "done.lua")).read())
    args += ["-s", lua, url]
    result = subprocess.run(args, capture_output=True, text=True,
                            env={**os.environ, "THREADS": str(threads), **(env or {})})
    line = [l for l in result.stdout.splitlines() if l.startswith("{")]
    if result.returncode != 0 or not line:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    figures = json.loads(line[-1])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def median_run(runs):
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


def scenario(name, url, conns, script=None, env=None, headers=(), before_each=None,
             before_each_extra=None):
    """RUNS runs of one load; the median run, with every run's figures under "runs".
    `before_each` (and `before_each_extra`) run before each run and may add to wrk's
    environment."""
    runs = []
    for _ in range(RUNS):
        for hook in (before_each_extra, before_each):
            if hook:
                env = {**(env or {}), **hook()}
        runs.append(wrk(url, conns, script, env, headers))
    result = dict(median_run(runs))
    result["runs"] = runs
    statuses = ", ".join(f"{code}×{n}" for code, n in sorted(result.get("statuses", {}).items()))
    log(f"{name}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, errors {result['errors']}, non-2xx {result['non_2xx']}"
        + (f" ({statuses})" if statuses else ""))
    return result


def sesame_server(db, port, extra=(), quiet=False, log_name="sesame.log"):
    """`db` is a SQLite file, or a postgres:// URL. As shipped unless `quiet`: the
    default log level (an access line per request), written to a file in the scratch
    folder as a service manager would take it; `quiet` runs with RUST_LOG=warn."""
    database = db if db.startswith("postgres") else f"sqlite://{db}"
    # All load comes from one loopback address: the per-address limits, made for
    # traffic from many clients, are turned off (as docs/benchmarks.md says).
    args = [SESAME, "serve", "--bind", f"127.0.0.1:{port}", "--database", database,
            "--issuer", "http://bench", "--ip-rate-limit", "0", "--hash-client-share", "100",
            "--mail-dir", os.path.join(WORK, "mail"), *extra]
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    if quiet:
        env["RUST_LOG"] = "warn"
    log_path = os.path.join(WORK, log_name)
    process = subprocess.Popen(args, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    process.log_path = log_path
    STARTED.append(process)
    wait_ready(f"http://127.0.0.1:{port}/readyz")
    return process


def log_bytes(process):
    return os.path.getsize(process.log_path)


def user_lines(count, prefix, password_hash):
    """`count` import lines PREFIX-N@example.com, all with one hash, in a file."""
    path = os.path.join(WORK, f"{prefix}{count}.jsonl")
    with open(path, "w") as out:
        for n in range(count):
            out.write(json.dumps({"email": f"{prefix}{n}@example.com", "password_hash": password_hash}) + "\n")
    return path


def ada_hash(database):
    """Ada's Argon2id hash (current parameters): imported users who share it log in with
    a full verification and no rehash."""
    exported = subprocess.run([SESAME, "user", "export", "--database", database],
                              check=True, capture_output=True, text=True).stdout
    return json.loads(exported.splitlines()[0])["password_hash"]


def import_users(database, path):
    """Imports a file of users; returns users/s."""
    lines = sum(1 for _ in open(path))
    began = time.monotonic()
    subprocess.run([SESAME, "user", "import", path, "--database", database],
                   check=True, capture_output=True)
    return lines / (time.monotonic() - began)


def import_login_users(database, users=1000):
    """Logins cycle through many accounts: concurrent logins to one account are
    throttled by design. Returns login_many.lua's environment."""
    import_users(database, user_lines(users, "login-", ada_hash(database)))
    return {"USERS": str(users), "PREFIX": "login-", "PASSWORD": PASSWORD}


def hash_limit(seconds):
    return float(subprocess.run([HASH_LIMIT, str(seconds)], capture_output=True, text=True,
                                check=True).stdout)


def commit_rate(database, seconds):
    return float(subprocess.run([COMMIT_RATE, database, str(seconds)], capture_output=True,
                                text=True, check=True).stdout)


def interleaved(name, url, conns, script, env, ceiling, **kw):
    """A scenario whose ratio is to a ceiling that moves with the machine's load (the
    hashing limit, the disk's commit rate): the ceiling is measured just before each
    run, with the server idle, and the row keeps the median of the runs' ratios."""
    ceilings = []

    def before():
        ceilings.append(ceiling())
        return {}
    result = scenario(name, url, conns, script, env, before_each=before, **kw)
    result["ceiling"] = statistics.median(ceilings)
    result["ratios"] = sorted(r["rps"] / c for r, c in zip(result["runs"], ceilings))
    result["ratio"] = statistics.median(result["ratios"])
    log(f"  ceiling {result['ceiling']:.1f}/s, ratios {', '.join(f'{x:.2f}' for x in result['ratios'])}")
    return result


def login(url, email):
    status, body = http("POST", url + "/login", {"email": email, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"login of {email} answered {status}: {body[:200]}")
    return json.loads(body)


def refresh_tokens(url, email="ada@example.com", count=128):
    """A file of fresh refresh tokens, one session each, for refresh.lua."""
    def make():
        tokens = [login(url, email)["refresh_token"] for _ in range(count)]
        path = os.path.join(WORK, "tokens.txt")
        with open(path, "w") as out:
            out.write("\n".join(tokens) + "\n")
        return {"TOKENS_FILE": path}
    return make


def me_row(name, url, token, **kw):
    # No Lua response hook, as for bare axum: one would cost wrk a call per answer on
    # the cores the server uses (wrk counts non-2xx answers by itself).
    return scenario(name, url + "/me", 64, headers=[f"Authorization: Bearer {token}"], **kw)


def verify_row(sesame_url, token):
    """sesame-verify's extractor on a bare axum route with a cached key set, against
    the same server's route with no auth, measured just before each run."""
    port = 18095
    base = f"http://127.0.0.1:{port}"
    server = start([VERIFY, f"127.0.0.1:{port}", "http://bench",
                    sesame_url + "/.well-known/jwks.json"], base + "/")
    bare = lambda: wrk(base + "/", 64)["rps"]  # noqa: E731
    try:
        return interleaved("sesame-verify GET /me c=64", base + "/me", 64, None, None, bare,
                           headers=[f"Authorization: Bearer {token}"])
    finally:
        stop(server)


def store_size_bytes(database):
    if database.startswith("postgres"):
        out = subprocess.run(["psql", database, "-Atc", "SELECT pg_database_size(current_database())"],
                             check=True, capture_output=True, text=True).stdout
        return int(out.strip())
    path = database.removeprefix("sqlite://")
    subprocess.run(["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                    "c.execute('PRAGMA wal_checkpoint(TRUNCATE)')", path], check=True)
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def postgres_ready():
    return shutil.which("pg_isready") is not None and subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def fresh_postgres_database():
    admin = os.environ.get("SESAME_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    for sql in ("DROP DATABASE IF EXISTS sesame_bench WITH (FORCE)", "CREATE DATABASE sesame_bench"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/sesame_bench"


def growth(results, backend, database, users, port):
    """Login, store-checked /me and refresh over a store of `users` imported users."""
    key = f"{backend}_{users}"
    subprocess.run([SESAME, "migrate", "--database", database], check=True, capture_output=True)
    server = sesame_server(database.removeprefix("sqlite://"), port, ["--session-check-ms", "0"],
                           log_name=f"{key}.log")
    url = f"http://127.0.0.1:{port}"
    http("POST", url + "/register", {"email": "ada@example.com", "password": PASSWORD})
    stop(server)
    path = user_lines(users, "user-", ada_hash(database))
    rate = import_users(database, path)
    os.remove(path)
    log(f"{backend}: imported {users:,} users at {rate:,.0f} users/s")
    size = store_size_bytes(database)
    server = sesame_server(database.removeprefix("sqlite://"), port, ["--session-check-ms", "0"],
                           log_name=f"{key}.log")
    token = login(url, "ada@example.com")["access_token"]
    row = {"users": users, "import_rate": rate, "bytes_per_user": size / (users + 1)}
    row["login"] = scenario(f"{backend} {users:,} users POST /login c=16", url + "/login", 16,
                            "login_many.lua", {"USERS": "1000", "PREFIX": "user-", "PASSWORD": PASSWORD})
    row["me"] = me_row(f"{backend} {users:,} users GET /me c=64, session checked every request", url, token)
    row["refresh"] = scenario(f"{backend} {users:,} users POST /refresh c=64", url + "/refresh", 64,
                              "refresh.lua", before_each=refresh_tokens(url))
    row.update(admin_rows(backend, database, url, users))
    stop(server)
    row["plans"] = subprocess.run([QUERY_PLANS, database], check=True, capture_output=True,
                                  text=True).stdout
    results[key] = row


def admin_rows(backend, database, url, users):
    """The admin API over `users` users, called with an API key: the first page, a page
    from the middle (keyset: as cheap as the first), a selective search (trigram index)
    and one that matches every user."""
    key = subprocess.run([SESAME, "key", "create", "--name", f"bench-{users}", "--database", database],
                         check=True, capture_output=True, text=True).stdout.strip()
    auth = {"Authorization": f"Bearer {key}"}
    middle = f"user-{users // 2}@"
    status, body = http("GET", f"{url}/admin/users?q={middle}", headers=auth)
    found = json.loads(body)["users"] if status == 200 else []
    if not found:
        raise RuntimeError(f"search for {middle} answered {status}: {body[:200]!r}")
    header = (f"Authorization: Bearer {key}",)
    name = f"{backend} {users:,} users GET /admin/users"
    return {
        "admin_first": scenario(f"{name} first page c=16", f"{url}/admin/users?limit=50", 16, headers=header),
        "admin_middle": scenario(f"{name} a middle page c=16",
                                 f"{url}/admin/users?limit=50&cursor={found[0]['id']}", 16, headers=header),
        "admin_search": scenario(f"{name}?q={middle} c=16", f"{url}/admin/users?q={middle}", 16,
                                 headers=header),
        "admin_search_all": scenario(f"{name}?q=example (every user matches) c=16",
                                     f"{url}/admin/users?q=example", 16, headers=header),
    }


def better_auth(results, port):
    """The better-auth peer as shipped (../shared/peers/better-auth): one Node process,
    SQLite, scrypt. Its hashing limit is measured with the same scrypt call in Node."""
    peer_db = os.path.join(WORK, "better-auth.db")
    env = {"PORT": str(port), "PEER_DB": peer_db}
    log("better-auth: starting (the first run installs its npm dependencies)")
    peer = start([BETTER_AUTH], f"http://127.0.0.1:{port}/api/auth/ok", env=env, timeout=900)
    purl = f"http://127.0.0.1:{port}/api/auth"
    time.sleep(1)
    results["ba_idle_rss_mb"] = tree_rss_kib(peer) / 1024
    users = 200

    def sign_up(n):
        status, _ = http("POST", purl + "/sign-up/email",
                         {"email": f"login-{n}@example.com", "password": PASSWORD, "name": "Bench"})
        return status
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(sign_up, range(users)))
    if any(status != 200 for status in statuses):
        raise RuntimeError(f"better-auth sign-ups answered {sorted(set(statuses))}")
    request = urllib.request.Request(purl + "/sign-in/email", method="POST",
                                     data=json.dumps({"email": "login-0@example.com", "password": PASSWORD}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers["set-cookie"].split(";", 1)[0]
    results["ba_session"] = scenario("better-auth GET get-session c=64", purl + "/get-session", 64,
                                     "session.lua", {"EXPECT": '"session":{'}, headers=[f"Cookie: {cookie}"])
    results["ba_signin"] = scenario("better-auth POST sign-in c=16", purl + "/sign-in/email", 16,
                                    "login_many.lua", {"USERS": str(users), "PREFIX": "login-",
                                                       "PASSWORD": PASSWORD, "LOGIN_PATH": "/api/auth/sign-in/email"})
    results["ba_signup"] = scenario("better-auth POST sign-up c=16", purl + "/sign-up/email", 16,
                                    "register.lua", {"SIGNUP_PATH": "/api/auth/sign-up/email", "NAME": "Bench"})
    results["ba_peak_rss_mb"] = tree_rss_kib(peer, "VmHWM") / 1024
    stop(peer)
    seconds = 2 if QUICK else 8
    results["ba_hash_limit"] = statistics.median(
        float(subprocess.run(["node", os.path.join(ROOT, "bench", "scrypt_limit.mjs"), str(seconds)],
                             capture_output=True, text=True, check=True).stdout)
        for _ in range(RUNS))
    log(f"better-auth scrypt limit: {results['ba_hash_limit']:.1f} hashes/s")


def main():
    results = {}
    base_s, base_b, base_p, base_a = 18080, 18090, 18100, 18110
    sqlite_url = lambda path: f"sqlite://{path}"  # noqa: E731

    # The raw hashing limit, in-process, on all cores (also measured again before each
    # login run, for that row's ratio).
    results["hash_limit"] = statistics.median(hash_limit(2 if QUICK else 8) for _ in range(RUNS))
    log(f"argon2id hashing limit: {results['hash_limit']:.1f} hashes/s")

    # The bare axum ceiling.
    bare = start([BARE, f"127.0.0.1:{base_b}"], f"http://127.0.0.1:{base_b}/")
    results["bare"] = scenario("bare axum GET /", f"http://127.0.0.1:{base_b}/", 64)
    stop(bare)

    # Sesame as shipped: cold start on an existing store, idle RSS, binary size.
    db = os.path.join(WORK, "sesame.db")
    subprocess.run([SESAME, "migrate", "--database", sqlite_url(db)], check=True, capture_output=True)
    starts = []
    for _ in range(3 if QUICK else 5):
        began = time.monotonic()
        server = sesame_server(db, base_s)
        starts.append((time.monotonic() - began) * 1000)
        stop(server)
    results["start_ms"] = statistics.median(starts)
    results["binary_mb"] = os.path.getsize(SESAME) / 1e6
    server = sesame_server(db, base_s)
    time.sleep(1)
    results["idle_rss_mb"] = rss_kib(server.pid) / 1024
    results["idle_anon_mb"] = rss_kib(server.pid, "RssAnon") / 1024
    url = f"http://127.0.0.1:{base_s}"
    http("POST", url + "/register", {"email": "ada@example.com", "password": PASSWORD})
    token = login(url, "ada@example.com")["access_token"]
    before = log_bytes(server)
    results["me"] = me_row("sesame GET /me c=64", url, token)
    results["log_bytes_per_request"] = (log_bytes(server) - before) / sum(
        r["requests"] for r in results["me"]["runs"])
    results["verify"] = verify_row(url, token)
    login_env = import_login_users(sqlite_url(db))
    hashing = lambda: hash_limit(2 if QUICK else 4)  # noqa: E731
    results["login16"] = interleaved("sesame POST /login c=16", url + "/login", 16, "login_many.lua",
                                     login_env, hashing)
    results["login64"] = interleaved("sesame POST /login c=64", url + "/login", 64, "login_many.lua",
                                     login_env, hashing)
    results["login_rss_mb"] = rss_kib(server.pid, "VmHWM") / 1024
    results["register"] = interleaved("sesame POST /register c=16", url + "/register", 16,
                                      "register.lua", None, hashing)
    probe = sqlite_url(os.path.join(WORK, "commit-rate.db"))
    tokens = refresh_tokens(url)

    def commits():
        return commit_rate(probe, 2 if QUICK else 3)
    results["refresh"] = interleaved("sesame POST /refresh c=64", url + "/refresh", 64, "refresh.lua",
                                     None, commits, before_each_extra=tokens)
    stop(server)

    # The same /me with a line for every request (--access-log all), and with no log
    # at all (RUST_LOG=warn), for comparison.
    server = sesame_server(db, base_s, ["--access-log", "all"], log_name="sesame-all.log")
    before = log_bytes(server)
    results["me_all"] = me_row("sesame GET /me c=64, --access-log all", url, token)
    results["log_bytes_per_request_all"] = (log_bytes(server) - before) / sum(
        r["requests"] for r in results["me_all"]["runs"])
    stop(server)
    server = sesame_server(db, base_s, quiet=True)
    results["me_quiet"] = me_row("sesame GET /me c=64, RUST_LOG=warn", url, token)
    stop(server)

    # The cost of instant revocation: the session looked up in the store on every request
    # instead of trusted for 1 s after the store last confirmed it.
    server = sesame_server(db, base_s, ["--session-check-ms", "0"])
    results["me_uncached"] = me_row("sesame GET /me c=64, session checked every request", url, token)
    stop(server)

    # The same on PostgreSQL (a fresh database on the local server), when there is one.
    if postgres_ready():
        pg = fresh_postgres_database()
        server = sesame_server(pg, base_s)
        http("POST", url + "/register", {"email": "ada@example.com", "password": PASSWORD})
        pg_token = login(url, "ada@example.com")["access_token"]
        results["pg_me"] = me_row("sesame on PostgreSQL GET /me c=64", url, pg_token)
        results["pg_login16"] = interleaved("sesame on PostgreSQL POST /login c=16", url + "/login", 16,
                                            "login_many.lua", import_login_users(pg), hashing)

        def pg_commits():
            return commit_rate(pg, 2 if QUICK else 3)
        results["pg_refresh"] = interleaved("sesame on PostgreSQL POST /refresh c=64", url + "/refresh", 64,
                                            "refresh.lua", None, pg_commits,
                                            before_each_extra=refresh_tokens(url))
        stop(server)

    # Growth: the same rows over 1,000 and over 1,000,000 imported users (CI: 20,000).
    large = 20_000 if QUICK else 1_000_000
    for users in (1_000, large):
        growth(results, "sqlite", sqlite_url(os.path.join(WORK, f"growth-{users}.db")), users, base_s)
        if postgres_ready():
            growth(results, "postgres", fresh_postgres_database(), users, base_s)

    # Sesame with users imported from bcrypt-12 hashes (passlib's), before their rehash.
    if not QUICK:
        users = 3000
        bcrypt12 = "$2b$12$4onKSiHYbS0ET6GrdCHi6elVj8YAKNdsPRdSKXuGQ.dbWtN6eRo02"
        bdb = os.path.join(WORK, "bcrypt.db")
        import_users(sqlite_url(bdb), user_lines(users, "bench-", bcrypt12))
        # A bcrypt-12 check costs about ten Argon2id ones, so at c=16 the queue holds more
        # than the default 1 s of work and most logins would be shed (503) at once; the
        # bound is raised so that this row compares throughput at the seed's concurrency.
        server = sesame_server(bdb, base_s, ["--hash-max-wait-ms", "10000"])
        results["login_bcrypt"] = scenario("sesame POST /login bcrypt-12 users c=16", url + "/login",
                                           16, "login_many.lua", {"USERS": str(users)})
        stop(server)

    if WITH_PEERS:
        better_auth(results, base_a)
        fastapi_users.run(sys.modules[__name__], results, base_a + 5)

    # The seed peer: uvicorn, 2 workers, SQLite, bcrypt 12.
    if WITH_PEERS:
        peer_db = os.path.join(WORK, "seed.db")
        seed = start([SEED], f"http://127.0.0.1:{base_p}/docs",
                     env={"PORT": str(base_p), "PEER_DB": peer_db})
        purl = f"http://127.0.0.1:{base_p}"
        time.sleep(1)
        results["seed_idle_rss_mb"] = tree_rss_kib(seed) / 1024
        query = "email=ada@example.com&password=correct%20horse%20battery"
        http("POST", f"{purl}/register?{query}")
        _, body = http("POST", f"{purl}/login?{query}")
        seed_token = json.loads(body)["access_token"]
        results["seed_me"] = scenario("seed GET /me c=64", purl + "/me", 64,
                                      headers=[f"Authorization: Bearer {seed_token}"])
        seed_login = {"PATH_QUERY": f"/login?{query}", "BODY": ""}
        results["seed_login16"] = scenario("seed POST /login c=16", purl + "/login", 16, "post.lua", seed_login)
        if not QUICK:
            results["seed_login64"] = scenario("seed POST /login c=64", purl + "/login", 64, "post.lua", seed_login)
        results["seed_register"] = scenario("seed POST /register c=16", purl + "/register", 16,
                                            "register.lua", {"SEED": "1"})
        stop(seed)

    report(results)


def report(r):
    def rps(key):
        x = r.get(key)
        return x["rps"] if isinstance(x, dict) else x

    def ratio(a, b, fmt="{:.2f}×"):
        try:
            return fmt.format(rps(a) / rps(b))
        except (TypeError, ZeroDivisionError):
            return "–"

    def errors(x):
        statuses = dict(x.get("statuses") or {})
        no_session = statuses.pop("0", 0)
        text = str(x["errors"] + x["non_2xx"] + no_session)
        parts = [f"{c}×{n}" for c, n in sorted(statuses.items())]
        if no_session:
            parts.append(f"no session×{no_session}")
        return text + (" (" + ", ".join(parts) + ")" if parts else "")

    def row(name, key, extra=""):
        if key not in r:
            return None
        x = r[key]
        return f"| {name} | {x['rps']:,.1f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {errors(x)} | {extra} |"

    def of_ceiling(key, what):
        x = r.get(key)
        if not x:
            return ""
        runs = ", ".join(f"{v:.2f}" for v in x["ratios"])
        return f"{x['ratio']:.2f}× of the {what} ({x['ceiling']:,.0f}/s; runs {runs})"

    table = [
        "| scenario | req/s | p50 ms | p99 ms | errors | ratio |",
        "|---|---:|---:|---:|---:|---|",
        row("bare axum `GET /` (c=64): the HTTP ceiling", "bare"),
        row("**Sesame `GET /me` (c=64), as shipped**", "me",
            f"{ratio('me', 'bare')} of axum; {ratio('me', 'seed_me', '{:.1f}×')} the seed; "
            f"{ratio('me', 'ba_session', '{:.1f}×')} better-auth; "
            f"{ratio('me', 'fu_me', '{:.1f}×')} fastapi-users"),
        row("Sesame `GET /me` (c=64), `--access-log all` (a line per request)", "me_all",
            f"{ratio('me_all', 'bare')} of axum; {ratio('me_all', 'me')} of the default"),
        row("Sesame `GET /me` (c=64), `RUST_LOG=warn` (no log at all)", "me_quiet",
            f"{ratio('me_quiet', 'bare')} of axum; {ratio('me', 'me_quiet')} of it as shipped"),
        row("`sesame-verify` extractor on bare axum `GET /me` (c=64), key set cached", "verify",
            of_ceiling("verify", "same server's route without auth")),
        row("seed `GET /me` (c=64)", "seed_me"),
        row("better-auth `GET /api/auth/get-session` (c=64)", "ba_session"),
        row("fastapi-users `GET /users/me` (c=64)", "fu_me"),
        row("Sesame `POST /login` (c=16)", "login16",
            f"{of_ceiling('login16', 'hashing limit')}; {ratio('login16', 'ba_signin', '{:.1f}×')} better-auth"),
        row("Sesame `POST /login` (c=64)", "login64", of_ceiling("login64", "hashing limit")),
        row("better-auth `POST /api/auth/sign-in/email` (c=16)", "ba_signin"),
        row("fastapi-users `POST /auth/jwt/login` (c=16)", "fu_login16",
            f"Sesame does {ratio('login16', 'fu_login16', '{:.1f}×')}"),
        row("Sesame `POST /login`, bcrypt-12 users before rehash (c=16)", "login_bcrypt",
            f"{ratio('login_bcrypt', 'seed_login16')} of the seed"),
        row("seed `POST /login` (c=16)", "seed_login16"),
        row("seed `POST /login` (c=64)", "seed_login64"),
        row("Sesame `POST /register` (c=16)", "register",
            f"{of_ceiling('register', 'hashing limit')}; {ratio('register', 'ba_signup', '{:.1f}×')} better-auth"),
        row("better-auth `POST /api/auth/sign-up/email` (c=16)", "ba_signup"),
        row("fastapi-users `POST /auth/register` (c=16)", "fu_register",
            f"Sesame does {ratio('register', 'fu_register', '{:.1f}×')}"),
        row("seed `POST /register` (c=16)", "seed_register"),
        row("Sesame `POST /refresh` (c=64)", "refresh", of_ceiling("refresh", "commit rate")),
        row("Sesame `GET /me` (c=64), session checked in the store on every request", "me_uncached",
            f"{ratio('me_uncached', 'me')} of cached /me"),
        row("Sesame on PostgreSQL `GET /me` (c=64)", "pg_me", f"{ratio('pg_me', 'me')} of SQLite"),
        row("Sesame on PostgreSQL `POST /login` (c=16)", "pg_login16", of_ceiling("pg_login16", "hashing limit")),
        row("Sesame on PostgreSQL `POST /refresh` (c=64)", "pg_refresh", of_ceiling("pg_refresh", "commit rate")),
    ]
    lines = [line for line in table if line]

    growth_rows = [k for k in r if k.startswith(("sqlite_", "postgres_"))]
    if growth_rows:
        lines += [
            "",
            "| store | users | import users/s | bytes per user | login p50 ms (c=16) | `/me` req/s, store-checked (c=64) | `/refresh` req/s (c=64) | vs 1,000 users: login p50 / `/me` / refresh |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for key in growth_rows:
            g = r[key]
            backend = key.split("_")[0]
            small = r.get(f"{backend}_1000")
            versus = "–"
            if small and small is not g:
                versus = (f"{g['login']['p50_ms'] / small['login']['p50_ms']:.2f}× / "
                          f"{small['me']['rps'] / g['me']['rps']:.2f}× / "
                          f"{small['refresh']['rps'] / g['refresh']['rps']:.2f}× slower")
            lines.append(f"| {backend} | {g['users']:,} | {g['import_rate']:,.0f} | {g['bytes_per_user']:,.0f} | "
                         f"{g['login']['p50_ms']:.1f} | {g['me']['rps']:,.0f} | {g['refresh']['rps']:,.0f} | {versus} |")

    admin_keys = [k for k in growth_rows if "admin_first" in r[k]]
    if admin_keys:
        lines += [
            "",
            "Admin API (an API key, c=16), p50 / p99 ms:",
            "",
            "| store | users | first page | a middle page | search, one match | search, every user matches |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key in admin_keys:
            g = r[key]
            cells = " | ".join(f"{g[k]['p50_ms']:.2f} / {g[k]['p99_ms']:.2f}"
                               for k in ("admin_first", "admin_middle", "admin_search", "admin_search_all"))
            lines.append(f"| {key.split('_')[0]} | {g['users']:,} | {cells} |")

    cores = os.cpu_count() or 1
    lines += [
        "",
        "| figure | value |",
        "|---|---|",
        f"| Argon2id hashing limit (m=19456 KiB, t=2, p=1, all cores, in-process) | {r['hash_limit']:.1f} hashes/s ({cores * 1000 / r['hash_limit']:.0f} ms of one core a hash) |",
    ]
    if "fu_hash_limit" in r:
        lines.append(f"| fastapi-users' Argon2id limit (m=64 MiB, t=3, p=4, pwdlib, all cores) | {r['fu_hash_limit']:.2f} hashes/s ({r['hash_limit'] / r['fu_hash_limit']:.1f}× the cost of Sesame's Argon2id hash) |")
    if "ba_hash_limit" in r:
        lines.append(f"| better-auth's scrypt limit (N=16384, r=16, p=1, all cores, in Node) | {r['ba_hash_limit']:.1f} hashes/s ({cores * 1000 / r['ba_hash_limit']:.0f} ms of one core a hash; {r['hash_limit'] / r['ba_hash_limit']:.2f}× Argon2id's cost) |")
    if "refresh" in r:
        lines.append(f"| durable commits, SQLite (WAL, `synchronous=FULL`, one connection) | {r['refresh']['ceiling']:,.0f}/s |")
    if "pg_refresh" in r:
        lines.append(f"| durable commits, PostgreSQL (one connection) | {r['pg_refresh']['ceiling']:,.0f}/s |")
    lines += [
        f"| log written per `/me` request: as shipped / `--access-log all` | {r['log_bytes_per_request']:.0f} / {r['log_bytes_per_request_all']:.0f} bytes |",
        f"| start to `/readyz` = 200, existing store (median) | {r['start_ms']:.0f} ms |",
        f"| idle RSS (of it anonymous: heap, stacks; the rest is the binary's code paged in) | {r['idle_rss_mb']:.1f} MB ({r['idle_anon_mb']:.1f} MB) |",
        f"| peak RSS through the login runs | {r['login_rss_mb']:.1f} MB |",
        f"| binary size (release, stripped) | {r['binary_mb']:.1f} MB |",
    ]
    if "seed_idle_rss_mb" in r:
        lines.append(f"| seed idle RSS (uvicorn, 2 workers) | {r['seed_idle_rss_mb']:.1f} MB |")
    if "fu_idle_rss_mb" in r:
        lines.append(f"| fastapi-users idle RSS / peak through its runs (uvicorn, 2 workers) | {r['fu_idle_rss_mb']:.1f} / {r['fu_peak_rss_mb']:.1f} MB |")
    if "ba_idle_rss_mb" in r:
        lines.append(f"| better-auth idle RSS / peak through its runs | {r['ba_idle_rss_mb']:.1f} / {r['ba_peak_rss_mb']:.1f} MB |")
    lines += ["", *targets(r)]
    largest = {}
    for key in growth_rows:
        backend = key.split("_")[0]
        if r[key]["users"] >= largest.get(backend, {"users": 0})["users"]:
            largest[backend] = r[key]
    for backend, g in largest.items():
        name = "SQLite (`EXPLAIN QUERY PLAN`)" if backend == "sqlite" else "PostgreSQL (`EXPLAIN`)"
        lines += ["", f"Plans of the queries on the request paths, {name}, at {g['users']:,} users "
                  "(`examples/query_plans`):", "", "```", g["plans"].rstrip(), "```"]
    table = "\n".join(lines)
    print(table, flush=True)
    if not QUICK:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
        header = open(os.path.join(ROOT, "bench", "header.md")).read()
        reading = open(os.path.join(ROOT, "bench", "reading.md")).read()
        with open(os.path.join(ROOT, "docs", "benchmarks.md"), "w") as out:
            out.write(header.replace("{machine}", machine).replace("{date}", time.strftime("%Y-%m-%d")))
            out.write("\n" + table + "\n\n" + reading)


def targets(r):
    """Issue 13's targets, each with this run's figure and whether it holds."""
    rows = ["| target | figure | holds |", "|---|---|---|"]

    def add(target, figure, holds):
        rows.append(f"| {target} | {figure} | {'yes' if holds else '**no**'} |")

    def rps(key):
        return r[key]["rps"]
    if "me" in r:
        me = r["me"]
        add("`GET /me` as shipped ≥ 0.6× bare axum", f"{rps('me') / rps('bare'):.2f}×", rps("me") >= 0.6 * rps("bare"))
        if "seed_me" in r:
            add("`GET /me` as shipped ≥ 40× the seed", f"{rps('me') / rps('seed_me'):.1f}×", rps("me") >= 40 * rps("seed_me"))
        if "ba_session" in r:
            add("`GET /me` as shipped ≥ 50× better-auth get-session", f"{rps('me') / rps('ba_session'):.1f}×",
                rps("me") >= 50 * rps("ba_session"))
        add("`GET /me` p99 < 10 ms (c=64)", f"{me['p99_ms']:.2f} ms", me["p99_ms"] < 10)
    if "verify" in r:
        add("`sesame-verify` extractor ≥ 0.8× bare axum (interleaved)", f"{r['verify']['ratio']:.2f}×",
            r["verify"]["ratio"] >= 0.8)
    if "ba_signin" in r:
        add("sign-in ≥ 4× better-auth (c=16)", f"{rps('login16') / rps('ba_signin'):.1f}×", rps("login16") >= 4 * rps("ba_signin"))
        add("sign-up ≥ 9× better-auth (c=16)", f"{rps('register') / rps('ba_signup'):.1f}×", rps("register") >= 9 * rps("ba_signup"))
        ours = rps("login16") / r["hash_limit"]
        theirs = rps("ba_signin") / r["ba_hash_limit"]
        add("sign-in per unit of hash cost ≥ better-auth's", f"{ours:.2f} vs {theirs:.2f} of each one's hashing limit", ours >= theirs)
        ours = rps("register") / r["hash_limit"]
        theirs = rps("ba_signup") / r["ba_hash_limit"]
        add("sign-up per unit of hash cost ≥ better-auth's", f"{ours:.2f} vs {theirs:.2f} of each one's hashing limit", ours >= theirs)
    for key, name in (("login16", "c=16"), ("login64", "c=64")):
        if key in r:
            add(f"`POST /login` {name} ≥ 0.9× the interleaved hashing limit", f"{r[key]['ratio']:.2f}×", r[key]["ratio"] >= 0.9)
    for key, name in (("refresh", "SQLite"), ("pg_refresh", "PostgreSQL")):
        if key in r:
            x = r[key]
            add(f"`POST /refresh` c=64 on {name} ≥ 0.8× the commit rate, p99 < 50 ms",
                f"{x['ratio']:.2f}×, p99 {x['p99_ms']:.1f} ms", x["ratio"] >= 0.8 and x["p99_ms"] < 50)
    for backend in ("sqlite", "postgres"):
        small = r.get(f"{backend}_1000")
        large = [r[k] for k in r if k.startswith(f"{backend}_") and r[k] is not small]
        if small and large:
            g = large[0]
            worst = max(g["login"]["p50_ms"] / small["login"]["p50_ms"], small["me"]["rps"] / g["me"]["rps"],
                        small["refresh"]["rps"] / g["refresh"]["rps"])
            add(f"{backend}: {g['users']:,} users within 1.2× of 1,000 (login p50, `/me`, refresh)",
                f"worst {worst:.2f}×", worst <= 1.2)
    add("idle RSS ≤ 15 MB", f"{r['idle_rss_mb']:.1f} MB", r["idle_rss_mb"] <= 15)
    add("start to ready ≤ 100 ms", f"{r['start_ms']:.0f} ms", r["start_ms"] <= 100)
    return rows


def growth_only(users):
    """`--growth-only N`: only the rows over N imported users, on both backends, printed
    (docs/benchmarks.md is left as it is)."""
    results = {}
    growth(results, "sqlite", f"sqlite://{os.path.join(WORK, 'growth.db')}", users, 18080)
    if postgres_ready():
        growth(results, "postgres", fresh_postgres_database(), users, 18080)
    print(json.dumps({k: {f: v for f, v in g.items() if f != "plans"} for k, g in results.items()},
                     indent=1, default=str), flush=True)


def print_server_errors():
    """What the servers logged as errors, and which requests they answered with 5xx:
    the scratch folder with their logs is deleted on the way out."""
    for name in sorted(os.listdir(WORK)):
        if not name.endswith(".log"):
            continue
        with open(os.path.join(WORK, name), errors="replace") as lines:
            bad = [line.rstrip() for line in lines if " ERROR " in line or "status=5" in line]
        for line in bad[:20]:
            print(f"{name}: {line}", file=sys.stderr)


if __name__ == "__main__":
    try:
        if "--growth-only" in sys.argv:
            growth_only(int(sys.argv[sys.argv.index("--growth-only") + 1]))
        else:
            main()
    except BaseException:
        print_server_errors()
        raise
    finally:
        for process in list(STARTED):
            stop(process)
        shutil.rmtree(WORK, ignore_errors=True)
