"""Load benchmark: gunicorn (2 workers) on 127.0.0.1 against the national data set on
PostgreSQL, driven by locust headless with logged-in sessions of the three roles.

Loopback only, bounded in time (the locust run has a hard timeout), and the server is stopped
at the end whatever happens (its whole process group, by the id we started it with).

    python benchmarks/load.py   # BENCH_LOAD_USERS (default "10,30": a run each), 60 s; BENCH_QUICK=1: 10 s
"""

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, OUT_DIR, QUICK, ROOT, parse_emitted, server_env

WORKERS = 2
LOGIN_ALLOWANCE = 120  # seconds allowed for every user to log in before the measured window


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


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
    """Numbers of locust users, one load run each: below and at saturation of 2 workers."""
    return [int(n) for n in (os.environ.get("BENCH_LOAD_USERS") or "10,30").split(",") if n.strip()]


def run() -> dict:
    if not Path(_bin("locust")).exists() and not shutil.which("locust"):
        return {"available": False, "reason": 'locust is not installed (pip install -e ".[bench]")'}
    return {"available": True, "levels": [run_level(users) for users in levels()]}


def run_level(users: int) -> dict:
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
    env = server_env("national", ALLOWED_HOSTS="127.0.0.1")
    log = (OUT_DIR / "gunicorn.log").open("w", encoding="utf-8")
    server = subprocess.Popen(
        [
            _bin("gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
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
        started = time.monotonic()
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
                f"{duration + LOGIN_ALLOWANCE}s",  # a bound: the locustfile stops after `duration`
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
            },
            capture_output=True,
            text=True,
            timeout=duration + LOGIN_ALLOWANCE + 60,
            check=False,
        )
        elapsed = time.monotonic() - started
        (OUT_DIR / "locust.log").write_text(locust.stdout + locust.stderr, encoding="utf-8")
        stats = Path(f"{prefix}_stats.csv")
        if not stats.exists():
            return {"available": False, "reason": f"locust wrote no statistics: {locust.stderr[-1500:]}"}
        result = parse_stats(stats, elapsed)
        if login_path.exists():
            result["login"] = json.loads(login_path.read_text(encoding="utf-8"))
        else:
            result["login"] = {"error": "not every user logged in within the allowance"}
        failures_csv = Path(f"{prefix}_failures.csv")
        if failures_csv.exists():
            with failures_csv.open(encoding="utf-8") as handle:
                result["failure_samples"] = [
                    f"{row['Name']}: {row['Error'][:200]} (x{row['Occurrences']})"
                    for row in csv.DictReader(handle)
                ][:10]
    finally:
        stop(server)
        log.close()
    result.update(
        available=True,
        users=users,
        workers=WORKERS,
        seconds=duration,
        host=host,
        load_average_before=load_before,
        load_average_after=os.getloadavg()[0],
    )
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
