"""Runs every scenario of bench/run and prints (and, in full mode, writes) the table.

Each server is started here on loopback and stopped here; each scenario is run RUNS
times and reported as the median run (by requests/s). Ratios compare figures of the
same run on the same machine.
"""
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = "--quick" in sys.argv
WITH_SEED = "--no-seed" not in sys.argv
DURATION = "2s" if QUICK else "10s"
RUNS = 1 if QUICK else 3
SESAME = os.path.join(ROOT, "target/release/sesame")
BARE = os.path.join(ROOT, "target/release/examples/bare_axum")
HASH_LIMIT = os.path.join(ROOT, "target/release/examples/hash_limit")
SEED = os.path.normpath(os.path.join(ROOT, "../shared/peers/fastapi-seed/run"))
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


def start(args, ready_url, env=None):
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    STARTED.append(process)
    wait_ready(ready_url)
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


def scenario(name, url, conns, script=None, env=None, headers=(), before_each=None):
    runs = []
    for _ in range(RUNS):
        if before_each:
            env = {**(env or {}), **before_each()}
        runs.append(wrk(url, conns, script, env, headers))
    result = median_run(runs)
    statuses = ", ".join(f"{code}×{n}" for code, n in sorted(result.get("statuses", {}).items()))
    log(f"{name}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, errors {result['errors']}, non-2xx {result['non_2xx']}"
        + (f" ({statuses})" if statuses else ""))
    return result


def sesame_server(db, port, extra=()):
    """`db` is a SQLite file, or a postgres:// URL."""
    database = db if db.startswith("postgres") else f"sqlite://{db}"
    # All load comes from one loopback address: the per-address limits, made for
    # traffic from many clients, are turned off (as docs/benchmarks.md says).
    args = [SESAME, "serve", "--bind", f"127.0.0.1:{port}", "--database", database,
            "--issuer", "http://bench", "--ip-rate-limit", "0", "--hash-client-share", "100",
            *extra]
    return start(args, f"http://127.0.0.1:{port}/readyz", env={"RUST_LOG": "warn"})


def import_login_users(database, users=1000):
    """Logins cycle through many accounts: concurrent logins to one account are
    throttled by design. Each gets ada's Argon2id hash (current parameters), so every
    login is a full verification with no rehash. Returns login_many.lua's environment."""
    exported = subprocess.run([SESAME, "user", "export", "--database", database],
                              check=True, capture_output=True, text=True).stdout
    ada_hash = json.loads(exported.splitlines()[0])["password_hash"]
    import_file = os.path.join(WORK, "argon2-users.jsonl")
    with open(import_file, "w") as out:
        for n in range(users):
            out.write(json.dumps({"email": f"login-{n}@example.com", "password_hash": ada_hash}) + "\n")
    subprocess.run([SESAME, "user", "import", import_file, "--database", database],
                   check=True, capture_output=True)
    return {"USERS": str(users), "PREFIX": "login-", "PASSWORD": PASSWORD}


def postgres_ready():
    return shutil.which("pg_isready") is not None and subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def fresh_postgres_database():
    admin = os.environ.get("SESAME_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    for sql in ("DROP DATABASE IF EXISTS sesame_bench WITH (FORCE)", "CREATE DATABASE sesame_bench"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/sesame_bench"


def main():
    results, notes = {}, {}
    base_s, base_b, base_p = 18080, 18090, 18100

    # The raw hashing limit, in-process, on all cores.
    hash_seconds = "2" if QUICK else "8"
    limits = [float(subprocess.run([HASH_LIMIT, hash_seconds], capture_output=True, text=True,
                                   check=True).stdout) for _ in range(RUNS)]
    results["hash_limit"] = statistics.median(limits)
    log(f"argon2id hashing limit: {results['hash_limit']:.1f} hashes/s")

    # The bare axum ceiling.
    bare = start([BARE, f"127.0.0.1:{base_b}"], f"http://127.0.0.1:{base_b}/")
    results["bare"] = scenario("bare axum GET /", f"http://127.0.0.1:{base_b}/", 64)
    stop(bare)

    # Sesame: cold start on an existing store, idle RSS, binary size.
    db = os.path.join(WORK, "sesame.db")
    subprocess.run([SESAME, "migrate", "--database", f"sqlite://{db}"], check=True,
                   capture_output=True)
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
    url = f"http://127.0.0.1:{base_s}"
    http("POST", url + "/register", {"email": "ada@example.com", "password": PASSWORD})
    _, body = http("POST", url + "/login", {"email": "ada@example.com", "password": PASSWORD})
    token = json.loads(body)["access_token"]
    results["me"] = scenario("sesame GET /me c=64", url + "/me", 64,
                             headers=[f"Authorization: Bearer {token}"])
    login_env = import_login_users(f"sqlite://{db}")
    results["login16"] = scenario("sesame POST /login c=16", url + "/login", 16, "login_many.lua", login_env)
    results["login64"] = scenario("sesame POST /login c=64", url + "/login", 64, "login_many.lua", login_env)
    results["login_rss_mb"] = rss_kib(server.pid, "VmHWM") / 1024
    results["register"] = scenario("sesame POST /register c=16", url + "/register", 16, "register.lua")

    def fresh_tokens():
        tokens = []
        for _ in range(128):
            _, body = http("POST", url + "/login", {"email": "ada@example.com", "password": PASSWORD})
            tokens.append(json.loads(body)["refresh_token"])
        path = os.path.join(WORK, "tokens.txt")
        with open(path, "w") as out:
            out.write("\n".join(tokens) + "\n")
        return {"TOKENS_FILE": path}
    results["refresh"] = scenario("sesame POST /refresh c=64", url + "/refresh", 64, "refresh.lua",
                                  before_each=fresh_tokens)
    stop(server)

    # The cost of instant revocation: the session looked up in the store on every request
    # instead of trusted for 1 s after the store last confirmed it.
    server = sesame_server(db, base_s, ["--session-check-ms", "0"])
    results["me_uncached"] = scenario("sesame GET /me c=64, session checked every request",
                                      url + "/me", 64, headers=[f"Authorization: Bearer {token}"])
    stop(server)

    # The same on PostgreSQL (a fresh database on the local server), when there is one.
    if postgres_ready():
        pg = fresh_postgres_database()
        server = sesame_server(pg, base_s)
        http("POST", url + "/register", {"email": "ada@example.com", "password": PASSWORD})
        _, body = http("POST", url + "/login", {"email": "ada@example.com", "password": PASSWORD})
        pg_token = json.loads(body)["access_token"]
        results["pg_me"] = scenario("sesame on PostgreSQL GET /me c=64", url + "/me", 64,
                                    headers=[f"Authorization: Bearer {pg_token}"])
        results["pg_login16"] = scenario("sesame on PostgreSQL POST /login c=16", url + "/login", 16,
                                         "login_many.lua", import_login_users(pg))
        stop(server)

    # Sesame with users imported from bcrypt-12 hashes (passlib's), before their rehash.
    if not QUICK:
        users = 3000
        import_file = os.path.join(WORK, "bcrypt-users.jsonl")
        bcrypt12 = "$2b$12$4onKSiHYbS0ET6GrdCHi6elVj8YAKNdsPRdSKXuGQ.dbWtN6eRo02"
        with open(import_file, "w") as out:
            for n in range(users):
                out.write(json.dumps({"email": f"bench-{n}@example.com", "password_hash": bcrypt12}) + "\n")
        bdb = os.path.join(WORK, "bcrypt.db")
        subprocess.run([SESAME, "user", "import", import_file, "--database", f"sqlite://{bdb}"],
                       check=True, capture_output=True)
        # A bcrypt-12 check costs about ten Argon2id ones, so at c=16 the queue holds more
        # than the default 1 s of work and most logins would be shed (503) at once; the
        # bound is raised so that this row compares throughput at the seed's concurrency.
        server = sesame_server(bdb, base_s, ["--hash-max-wait-ms", "10000"])
        results["login_bcrypt"] = scenario("sesame POST /login bcrypt-12 users c=16", url + "/login",
                                           16, "login_many.lua", {"USERS": str(users)})
        stop(server)

    # The seed peer: uvicorn, 2 workers, SQLite, bcrypt 12.
    if WITH_SEED:
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
    def row(name, key, extra=""):
        if key not in r:
            return None
        x = r[key]
        errors = str(x["errors"] + x["non_2xx"])
        if x.get("statuses"):
            errors += " (" + ", ".join(f"{c}×{n}" for c, n in sorted(x["statuses"].items())) + ")"
        return (f"| {name} | {x['rps']:,.1f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
                f"{errors} | {extra} |")

    def ratio(a, b, fmt="{:.2f}×"):
        try:
            num = r[a]["rps"] if isinstance(r[a], dict) else r[a]
            den = r[b]["rps"] if isinstance(r[b], dict) else r[b]
            return fmt.format(num / den)
        except (KeyError, ZeroDivisionError):
            return "–"

    lines = [
        "| scenario | req/s | p50 ms | p99 ms | errors | ratio |",
        "|---|---:|---:|---:|---:|---|",
        row("bare axum `GET /` (c=64): the HTTP ceiling", "bare"),
        row("Sesame `GET /me` (c=64)", "me",
            f"{ratio('me', 'bare')} of axum; {ratio('me', 'seed_me')} of the seed"),
        row("seed `GET /me` (c=64)", "seed_me"),
        row("Sesame `POST /login` (c=16)", "login16", f"{ratio('login16', 'hash_limit')} of the hashing limit"),
        row("Sesame `POST /login` (c=64)", "login64", f"{ratio('login64', 'hash_limit')} of the hashing limit"),
        row("Sesame `POST /login`, bcrypt-12 users before rehash (c=16)", "login_bcrypt",
            f"{ratio('login_bcrypt', 'seed_login16')} of the seed"),
        row("seed `POST /login` (c=16)", "seed_login16"),
        row("seed `POST /login` (c=64)", "seed_login64"),
        row("Sesame `POST /register` (c=16)", "register", f"{ratio('register', 'hash_limit')} of the hashing limit"),
        row("seed `POST /register` (c=16)", "seed_register"),
        row("Sesame `POST /refresh` (c=64)", "refresh"),
        row("Sesame `GET /me` (c=64), session checked in the store on every request", "me_uncached",
            f"{ratio('me_uncached', 'me')} of cached /me"),
        row("Sesame on PostgreSQL `GET /me` (c=64)", "pg_me", f"{ratio('pg_me', 'me')} of SQLite"),
        row("Sesame on PostgreSQL `POST /login` (c=16)", "pg_login16",
            f"{ratio('pg_login16', 'login16')} of SQLite"),
    ]
    lines = [l for l in lines if l]
    lines += [
        "",
        "| figure | value |",
        "|---|---|",
        f"| Argon2id hashing limit (m=19456 KiB, t=2, p=1, all cores, in-process) | {r['hash_limit']:.1f} hashes/s |",
        f"| start to `/readyz` = 200, existing store (median) | {r['start_ms']:.0f} ms |",
        f"| idle RSS | {r['idle_rss_mb']:.1f} MB |",
        f"| peak RSS through the login runs | {r['login_rss_mb']:.1f} MB |",
        f"| binary size (release, stripped) | {r['binary_mb']:.1f} MB |",
    ]
    if "seed_idle_rss_mb" in r:
        lines.append(f"| seed idle RSS (uvicorn, 2 workers) | {r['seed_idle_rss_mb']:.1f} MB |")
    table = "\n".join(lines)
    print(table)
    if not QUICK:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
        header = open(os.path.join(ROOT, "bench", "header.md")).read()
        reading = open(os.path.join(ROOT, "bench", "reading.md")).read()
        with open(os.path.join(ROOT, "docs", "benchmarks.md"), "w") as out:
            out.write(header.replace("{machine}", machine).replace("{date}", time.strftime("%Y-%m-%d")))
            out.write("\n" + table + "\n\n" + reading)


if __name__ == "__main__":
    try:
        main()
    finally:
        for process in list(STARTED):
            stop(process)
        shutil.rmtree(WORK, ignore_errors=True)
