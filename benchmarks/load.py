"""Load benchmark: gunicorn on 127.0.0.1 against the national data set on PostgreSQL, driven by
locust headless with logged-in sessions of the three roles, then the floor: each page's
throughput beside a trivial view (/healthz) served by the same gunicorn in the same run.

Two variants in the same run (issue 21), each with its own gunicorn:
  before  gunicorn's defaults with 2 sync workers, database sessions, PBKDF2 password hashes and
          no page cache (the portal before issue 21)
  after   gunicorn.conf.py (4 preloaded gthread processes x 2 threads on 2 cores; override with
          BENCH_WEB_CONCURRENCY / BENCH_GUNICORN_THREADS), cached_db sessions on Redis, the tuned
          Argon2id, the page cache
Both use Redis as the cache (BENCH_CACHE_URL, default redis://127.0.0.1:6379/13, flushed before
each variant). The users' stored hashes are set to the variant's hasher before its run.

Each level has three phases (benchmarks/locustfile.py): the log-ins; the ramp-up, the
BENCH_LOAD_SETTLE seconds (default 20) after the last log-in, in which every user's first views
are drawn (page-cache misses queued behind the log-ins' password hashes), reported on its own
line; then the measured window of steady state. The CPU seconds of the load generator and of
gunicorn are reported too: they share the machine's 2 cores.

Loopback only, bounded in time (the locust run has a hard timeout), and the server is stopped
at the end whatever happens (its whole process group, by the id we started it with).

    python benchmarks/load.py   # BENCH_LOAD_USERS (default "100"), BENCH_LOAD_VARIANTS ("before,after"),
                                # 60 s each; BENCH_QUICK=1: 10 s
"""

import contextlib
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from http.client import HTTPConnection
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, OUT_DIR, QUICK, ROOT, parse_emitted, server_env

LOGIN_ALLOWANCE = 240  # seconds allowed for every user to log in before the measured window
# The ramp-up between the last log-in and the measured window (every user's first views: renders,
# queued behind the log-ins' password hashes): reported on its own, not in the window's figures.
SETTLE_SECONDS = 5 if QUICK else int(os.environ.get("BENCH_LOAD_SETTLE") or 20)
CACHE_URL = os.environ.get("BENCH_CACHE_URL") or "redis://127.0.0.1:6379/13"
AFTER_WORKERS = os.environ.get("BENCH_WEB_CONCURRENCY") or "4"  # gunicorn.conf.py's default on 2 cores
AFTER_THREADS = os.environ.get("BENCH_GUNICORN_THREADS") or "2"
VARIANTS = {
    "before": {  # gunicorn's own defaults (no gunicorn.conf.py: no preloading, never replaced)
        "label": "2 sync workers, database sessions, PBKDF2, no page cache",
        "config": False,
        "args": ["--worker-class", "sync", "--workers", "2", "--threads", "1"],
        "env": {"BENCH_VARIANT": "before"},
        "workers": "2 sync workers",
    },
    "after": {
        "label": (
            f"gunicorn.conf.py ({AFTER_WORKERS} preloaded gthread workers x {AFTER_THREADS} threads), "
            "cached_db sessions on Redis, Argon2id, page cache"
        ),
        "config": True,
        "args": [],
        "env": {
            "BENCH_VARIANT": "after",
            "WEB_CONCURRENCY": AFTER_WORKERS,
            "GUNICORN_THREADS": AFTER_THREADS,
        },
        "workers": f"{AFTER_WORKERS} gthread workers x {AFTER_THREADS} threads",
    },
}
# The floor: closed-loop clients (no think time) on one path at a time, pages and /healthz in
# turn, twice, so that a busy spell slows both alike.
FLOOR_CLIENTS = 8
FLOOR_SECONDS = 2 if QUICK else 5
FLOOR_ROUNDS = 1 if QUICK else 2
FLOOR_PAGES = [  # (locust name, key in the config's paths, role)
    ("lead: home", "lead_home", "lead"),
    ("lead: application page", "lead_application", "lead"),
    ("staff: review queue", "review_queue", "staff"),
    ("staff: review queue, filtered", "review_queue_filtered", "staff"),
    ("staff: application page", "staff_application", "staff"),
    ("admin: cohort dashboard", "dashboard", "admin"),
    ("admin: dashboards index", "dashboard_index", "admin"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until_up(url: str, seconds: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {url} within {seconds:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """Stop gunicorn: TERM to its process group (master and workers), KILL if it lingers."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def locust_config() -> dict:
    out = subprocess.run(
        [sys.executable, str(BENCH_DIR / "bench_pages.py"), "--dataset", "national", "--paths"],
        cwd=ROOT,
        env=server_env("national"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    config = parse_emitted(out.stdout)
    if not config:
        raise RuntimeError(f"could not read the pages' paths: {out.stderr[-2000:]}")
    return config


def parse_stats(path: Path, duration: float) -> dict:
    pages, total = {}, None
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            requests = int(row["Request Count"])
            entry = {
                "requests": requests,
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50_ms": float(row["50%"]) if requests else None,
                "p95_ms": float(row["95%"]) if requests else None,
                "p99_ms": float(row["99%"]) if requests else None,
                "max_ms": float(row["Max Response Time"]) if requests else None,
            }
            entry["error_rate"] = entry["failures"] / requests if requests else 0.0
            if row["Name"] == "Aggregated":
                total = entry
            else:
                pages[row["Name"]] = entry
    return {"pages": pages, "total": total, "duration_s": duration}


def levels() -> list[int]:
    """Numbers of locust users, one load run each (the issue's level: 100)."""
    return [int(n) for n in (os.environ.get("BENCH_LOAD_USERS") or "100").split(",") if n.strip()]


def variants() -> list[str]:
    names = [
        n.strip() for n in (os.environ.get("BENCH_LOAD_VARIANTS") or "before,after").split(",") if n.strip()
    ]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown BENCH_LOAD_VARIANTS: {', '.join(sorted(unknown))}")
    return names


def run() -> dict:
    if not Path(_bin("locust")).exists() and not shutil.which("locust"):
        return {"available": False, "reason": 'locust is not installed (pip install -e ".[bench]")'}
    runs = []
    for variant in variants():
        prepare(variant)
        runs += [run_level(users, variant) for users in levels()]
    return {"available": True, "levels": runs}


def variant_env(variant: str) -> dict:
    return server_env(
        "national",
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="benchmarks.bench_settings",
        CACHE_URL=CACHE_URL,
        GUNICORN_ACCESS_LOG="",
        **VARIANTS[variant]["env"],
    )


def prepare(variant: str) -> None:
    """Empty the bench's Redis database and give every bench user a hash of the variant's hasher
    (one hash for all: they share the bench password)."""
    code = (
        "import os, django; django.setup()\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from django.contrib.auth.models import User\n"
        "from django.core.cache import cache\n"
        "cache.clear()\n"
        "User.objects.update(password=make_password(os.environ['BENCH_PASSWORD']))\n"
    )
    from common import BENCH_PASSWORD

    subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**variant_env(variant), "BENCH_PASSWORD": BENCH_PASSWORD},
        check=True,
        timeout=120,
    )


def run_level(users: int, variant: str = "after") -> dict:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    duration = 10 if QUICK else int(os.environ.get("BENCH_LOAD_SECONDS") or 60)
    config = locust_config()
    config_path = OUT_DIR / "locust-config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")

    # The machine's load before this level starts (other people's work, mostly): latencies under
    # load depend on it more than on the code, so it is reported with the level.
    load_before = os.getloadavg()[0]
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    env = variant_env(variant)
    log = (OUT_DIR / f"gunicorn-{variant}.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [
            _bin("gunicorn"),
            *(["-c", str(ROOT / "gunicorn.conf.py")] if VARIANTS[variant]["config"] else []),
            *VARIANTS[variant]["args"],
            "--bind",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "portal.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() ends master and workers
    )
    try:
        wait_until_up(f"{host}/healthz", 60, server)
        prefix = OUT_DIR / "locust"
        login_path = OUT_DIR / "locust-logins.json"
        login_path.unlink(missing_ok=True)
        ramp_path = OUT_DIR / "locust-ramp.json"
        ramp_path.unlink(missing_ok=True)
        started = time.monotonic()
        cpu_before = _children_cpu()
        locust = subprocess.run(
            [
                _bin("locust"),
                "-f",
                str(BENCH_DIR / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                # a bound: the locustfile stops after the ramp-up and `duration`
                f"{duration + SETTLE_SECONDS + LOGIN_ALLOWANCE}s",
                "--stop-timeout",
                "5",
                "--host",
                host,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "BENCH_LOCUST_CONFIG": str(config_path),
                "BENCH_LOAD_USERS": str(users),
                "BENCH_LOAD_SECONDS": str(duration),
                "BENCH_LOGIN_SUMMARY": str(login_path),
                "BENCH_LOAD_SETTLE": str(SETTLE_SECONDS),
                "BENCH_RAMP_SUMMARY": str(ramp_path),
            },
            capture_output=True,
            text=True,
            timeout=duration + SETTLE_SECONDS + LOGIN_ALLOWANCE + 60,
            check=False,
        )
        elapsed = time.monotonic() - started
        locust_cpu = _children_cpu() - cpu_before
        (OUT_DIR / "locust.log").write_text(locust.stdout + locust.stderr, encoding="utf-8")
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            return {"available": False, "reason": f"locust wrote no statistics: {locust.stderr[-1500:]}"}
        result = parse_stats(stats, elapsed)
        if login_path.exists():
            result["login"] = json.loads(login_path.read_text(encoding="utf-8"))
        else:
            result["login"] = {"error": "not every user logged in within the allowance"}
        if ramp_path.exists():
            result["ramp_up"] = json.loads(ramp_path.read_text(encoding="utf-8"))
        # CPU the load generator used (it shares the machine's cores with the server)
        result["locust_cpu_s"] = locust_cpu
        result["locust_elapsed_s"] = elapsed
        failures_csv = Path(f"{prefix}_failures.csv")
        if failures_csv.exists():
            with failures_csv.open(encoding="utf-8") as handle:
                result["failure_samples"] = [
                    f"{row['Name']}: {row['Error'][:200]} (x{row['Occurrences']})"
                    for row in csv.DictReader(handle)
                ][:10]
        floor_load_before = os.getloadavg()[0]
        result["floor"] = floor(host, config)
        result["floor"]["load_average_before"] = floor_load_before
        result["floor"]["load_average_after"] = os.getloadavg()[0]
    finally:
        cpu_before = _children_cpu()
        stop(server)
        log.close()
    # gunicorn's CPU (master and workers, log-ins, ramp-up, window and floor together)
    result["server_cpu_s"] = _children_cpu() - cpu_before
    result.update(
        available=True,
        users=users,
        variant=variant,
        variant_label=VARIANTS[variant]["label"],
        workers=VARIANTS[variant]["workers"],
        seconds=duration,
        host=host,
        load_average_before=load_before,
        load_average_after=os.getloadavg()[0],
    )
    return result


# --- The floor ---------------------------------------------------------------------------------


def _send_secure_cookies_over_loopback_http(self, cookie, request):
    return True


def log_in(host: str, config: dict, username: str) -> str:
    """Log in through the form (and the second factor for staff and admins); the Cookie header."""
    import re

    import requests

    DefaultCookiePolicy.return_ok_secure = (
        _send_secure_cookies_over_loopback_http  # DEBUG off: Secure cookies
    )
    csrf = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    login = host + config["paths"]["login"]
    session = requests.Session()
    form = session.get(login, timeout=60)
    response = session.post(
        login,
        data={
            "username": username,
            "password": config["password"],
            "csrfmiddlewaretoken": csrf.search(form.text).group(1),
        },
        headers={"Referer": login},
        timeout=60,
    )
    if "/two-factor/" in response.url:
        codes = config["tokens"][username]
        response = session.post(
            response.url,
            data={"token": codes.pop(0), "csrfmiddlewaretoken": csrf.search(response.text).group(1)},
            headers={"Referer": response.url},
            timeout=60,
        )
    if not session.cookies.get("sessionid") or "/two-factor/" in response.url:
        raise RuntimeError(
            f"floor: could not log in as {username} ({response.status_code} at {response.url})"
        )
    # Every cookie, as a browser sends them: without the CSRF cookie each view of a page with a
    # form would mint a new CSRF secret, and such a response is never taken from the page cache.
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def burst(port: int, path: str, cookies: str | None, seconds: float, clients: int) -> dict:
    """`clients` threads requesting `path` back to back for `seconds`: completed requests a second."""
    deadline = time.monotonic() + seconds
    done, errors, latencies = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    headers = {"Cookie": cookies} if cookies else {}

    def client(index: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if response.will_close:
                    conn.close()
            except OSError:
                ok = False
                conn.close()
            if ok:
                done[index] += 1
                latencies[index].append((time.perf_counter() - started) * 1000)
            else:
                errors[index] += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    every = sorted(ms for chunk in latencies for ms in chunk)
    return {
        "requests": sum(done),
        "errors": sum(errors),
        "seconds": elapsed,
        "rps": sum(done) / elapsed,
        "p50_ms": every[len(every) // 2] if every else None,
    }


def floor(host: str, config: dict) -> dict:
    """Each page's throughput beside /healthz's, on the same server, the two alternated: the
    page's share of the floor is what the page costs beyond serving any request at all."""
    port = int(host.rsplit(":", 1)[1])
    cast = config["cast"]
    sessions = {role: log_in(host, config, cast[role]) for role in ("lead", "staff", "admin")}
    pages = [(name, config["paths"].get(key), role) for name, key, role in FLOOR_PAGES]
    pages = [page for page in pages if page[1]]
    if config["paths"].get("lead_application") is None:
        pages = [p for p in pages if p[0] != "lead: application page"]
    samples: dict[str, list[dict]] = {name: [] for name, _path, _role in pages}
    floors: dict[str, list[dict]] = {name: [] for name, _path, _role in pages}
    for _round in range(FLOOR_ROUNDS):
        for name, path, role in pages:
            floors[name].append(burst(port, "/healthz", None, FLOOR_SECONDS, FLOOR_CLIENTS))
            samples[name].append(burst(port, path, sessions[role], FLOOR_SECONDS, FLOOR_CLIENTS))
    result = {"clients": FLOOR_CLIENTS, "seconds": FLOOR_SECONDS, "rounds": FLOOR_ROUNDS, "pages": {}}
    for name, _path, _role in pages:
        page_rps = sum(s["requests"] for s in samples[name]) / sum(s["seconds"] for s in samples[name])
        floor_rps = sum(s["requests"] for s in floors[name]) / sum(s["seconds"] for s in floors[name])
        result["pages"][name] = {
            "rps": page_rps,
            "floor_rps": floor_rps,
            "share": page_rps / floor_rps if floor_rps else None,
            "errors": sum(s["errors"] for s in samples[name]),
            "floor_errors": sum(s["errors"] for s in floors[name]),
            "p50_ms": statistics.median(
                [s["p50_ms"] for s in samples[name] if s["p50_ms"] is not None] or [0]
            ),
        }
    every_floor = [s for name in floors for s in floors[name]]
    result["floor_rps"] = sum(s["requests"] for s in every_floor) / sum(s["seconds"] for s in every_floor)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
