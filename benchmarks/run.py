"""`make bench`: generate (or reuse) the bench data, run every benchmark, and publish the figures.

    python benchmarks/run.py                       # everything
    python benchmarks/run.py --only pages,load     # some of: import, summaries, pages, load, experiments
    python benchmarks/run.py --save-baseline       # also write benchmarks/results-baseline.json
    BENCH_QUICK=1 python benchmarks/run.py         # a smoke run: fewer repeats, 10 s of load

Writes benchmarks/results.json, the tables between the markers in docs/performance.md (with
the baseline beside them when benchmarks/results-baseline.json exists), and prints the table.
Each benchmark runs in its own process; one that fails is reported and the others still run
(the exit status is then 1). A page or task that does not exist yet is "not available yet".
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import load
from common import BENCH_DIR, QUICK, ROOT, parse_emitted, repeats, server_env, spread

RESULTS = BENCH_DIR / "results.json"
BASELINE = BENCH_DIR / "results-baseline.json"
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
SECTIONS = ["import", "summaries", "pages", "load", "experiments"]


def child(script: str, *args: str, timeout: int = 900) -> dict:
    """Run a benchmark script in its own process on the bench settings; its emitted result."""
    out = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), *args],
        cwd=ROOT,
        env=server_env("national"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = parse_emitted(out.stdout)
    if out.returncode != 0 or result is None:
        raise RuntimeError(
            f"{script} {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()[-1500:]}"
        )
    return result


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gb = None
    import psycopg2

    conn = generate._connect()
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    conn.close()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_gb, 1) if mem_gb else None,
        "python": platform.python_version(),
        "postgresql": pg,
        "psycopg2": psycopg2.__version__.split(" ")[0],
        "load_average_at_start": os.getloadavg()[0],
    }


# --- The benchmarks ------------------------------------------------------------------------


def bench_import() -> dict:
    runs = [child("bench_import.py") for _ in range(repeats(5) if not QUICK else 1)]
    # Tracing allocations slows the import about 7x: one extra run, skipped by BENCH_QUICK.
    traced = None if QUICK else child("bench_import.py", "--tracemalloc")
    result = {"file": runs[0]["file"], "file_mb": runs[0]["file_mb"], "rows": runs[0]["first"]["rows"]}
    for name in ("first", "unchanged"):
        result[name] = {
            "rows_per_s": spread([r[name]["rows_per_s"] for r in runs]),
            "seconds": spread([r[name]["seconds"] for r in runs]),
            "peak_mb": traced[name]["peak_mb"] if traced else None,
            "rss_growth_mb": spread([r[name]["max_rss_mb"] - r["baseline_rss_mb"] for r in runs]),
            "created": runs[0][name]["created"],
            "updated": runs[0][name]["updated"],
            "unchanged": runs[0][name]["unchanged"],
            "rejected": runs[0][name]["rejected"],
        }
    result["baseline_rss_mb"] = runs[0]["baseline_rss_mb"]
    return result


def bench_summaries() -> dict:
    result = child("bench_summaries.py")
    if result.get("available"):  # the task's query count must not grow with the data
        result["task_queries_small"] = child("bench_summaries.py", "--dataset", "small")["task_queries"]
    return result


def bench_pages() -> dict:
    return {dataset: child("bench_pages.py", "--dataset", dataset) for dataset in ("small", "national")}


def bench_load() -> dict:
    return load.run()


def bench_experiments() -> dict:
    return child("experiments.py")


# --- Reporting -----------------------------------------------------------------------------


def _ms(value) -> str:
    return "—" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def _sp(s: dict, fmt=lambda v: f"{v:,.0f}") -> str:
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


def render_load(ld: dict) -> list[str]:
    if not ld.get("available", True) or "total" not in ld:
        return [f"| Load | | {ld.get('reason') or ld.get('error', '')[:300]} | |"]
    t = ld["total"]
    login = ld.get("login", {})
    variant = (
        f"{ld['variant']}: {ld['variant_label']}" if "variant" in ld else f"gunicorn {ld['workers']} workers"
    )
    target = "p95 ≤ 150 ms, no errors" if ld["users"] >= 100 else "no errors"
    lines = [
        f"| Load, {ld['users']} locust users, {ld['seconds']} s — {variant}"
        + (
            f" (machine load average {ld['load_average_before']:.1f} before, "
            f"{ld['load_average_after']:.1f} after)"
            if "load_average_before" in ld
            else ""
        )
        + f" | all pages | {t['rps']:.1f} req/s; p50 {_ms(t['p50_ms'])}, p95 {_ms(t['p95_ms'])}, "
        f"p99 {_ms(t['p99_ms'])}; errors {t['failures']}/{t['requests']} ({100 * t['error_rate']:.1f}%) "
        f"| {target} |"
    ]
    for name, p in sorted(ld["pages"].items()):
        if not p["requests"] or name.startswith("login"):
            continue
        target = "p95 < 300 ms" if "cohort dashboard" in name else ""
        lines.append(
            f"| | {name} | {p['rps']:.1f} req/s; p50 {_ms(p['p50_ms'])}, p95 {_ms(p['p95_ms'])}, "
            f"p99 {_ms(p['p99_ms'])}; errors {p['failures']} | {target} |"
        )
    if "logins" in login:
        lines.append(
            f"| | log-ins (before the window) | {login['logins']} in {login['login_phase_s']:.0f} s, "
            f"median {_ms(login['login_median_ms'])}, failures {login['login_failures']} | |"
        )
    elif login:
        lines.append(f"| | log-ins | {login.get('error', '')} | |")
    ramp = ld.get("ramp_up")
    if ramp:
        r = ramp["total"]
        lines.append(
            f"| | ramp-up: the {ramp['seconds']:.0f} s after the last log-in (first views drawn; "
            f"not in the window) | {r['rps']:.1f} req/s; p50 {_ms(r['p50_ms'])}, p95 {_ms(r['p95_ms'])}, "
            f"p99 {_ms(r['p99_ms'])}; errors {r['failures']}/{r['requests']} | |"
        )
    if "locust_cpu_s" in ld:
        lines.append(
            f"| | CPU: load generator (locust) / gunicorn | {ld['locust_cpu_s']:.0f} s in its "
            f"{ld['locust_elapsed_s']:.0f} s / {ld.get('server_cpu_s', 0):.0f} s (log-ins, ramp-up, "
            "window and floor) | |"
        )
    fl = ld.get("floor")
    if fl and fl.get("pages"):
        lines.append(
            f"| | floor: /healthz, {fl['clients']} clients back to back (load average "
            f"{fl['load_average_before']:.1f} before, {fl['load_average_after']:.1f} after) "
            f"| {fl['floor_rps']:.0f} req/s | |"
        )
        for name, p in fl["pages"].items():
            errors = f"; errors {p['errors']}" if p["errors"] or p["floor_errors"] else ""
            lines.append(
                f"| | throughput: {name} | {p['rps']:.0f} req/s beside /healthz {p['floor_rps']:.0f} req/s: "
                f"**{100 * p['share']:.0f}%** of the floor (p50 {_ms(p['p50_ms'])}){errors} | |"
            )
    if ld.get("failure_samples"):
        lines.append(f"| | failures (samples) | {'; '.join(ld['failure_samples'])[:600]} | |")
    return lines


def render_experiments(ex: dict) -> list[str]:
    """The applied fixes, each measured without and with it in the same run (experiments.py)."""
    lines = []
    qi = ex.get("queue_index", {})
    for name, r in qi.get("queries", {}).items():
        lines.append(
            f"| Fix: review-queue index | queue query, {name}: without → with | "
            f"{_ms(r['without_ms'])} → {_ms(r['with_ms'])} | |"
        )
    if qi and not qi.get("available", True):
        lines.append(f"| Fix: review-queue index | | {qi.get('reason')} | |")
    rc = ex.get("region_cache")
    if rc:
        lines.append(
            f"| Fix: cached region list | region list ({rc['regions']} regions): query → cache hit | "
            f"{_ms(rc['without_ms'])} → {rc['with_ms']:.2f} ms | |"
        )
    f = ex.get("summary_fusion")
    if f:
        lines.append(
            f"| Fix: fused summary queries | compute() unfused → fused, vs one query "
            f"{_ms(f['one_query_ms'])} | {_ms(f['without_ms'])} ({f['queries_without']} queries) → "
            f"{_ms(f['with_ms'])} ({f['queries_with']} queries): ratio {f['ratio_without']:.2f}× → "
            f"**{f['ratio_with']:.2f}×**; identical output: {'yes' if f['identical_output'] else 'NO'} "
            "| ≤ 2× |"
        )
    cap = ex.get("capacity")
    if cap:
        lp, df, uc = cap["lead_partnerships"], cap["dashboard_fragment"], cap["unread_count"]
        lines.append(
            f"| Fix: a lead's partnerships (lead home) | OR of two INs → one IN over a UNION | "
            f"{_ms(lp['without_ms'])} → {_ms(lp['with_ms'])}; "
            f"same rows: {'yes' if lp['same_rows'] else 'NO'} | |"
        )
        lines.append(
            f"| Fix: cohort dashboard figures cached per build | whole page, fragment cache empty → hit | "
            f"{_ms(df['without_ms'])} → {_ms(df['with_ms'])} | |"
        )
        lines.append(
            f"| Fix: header's unread count | query → cache hit | "
            f"{_ms(uc['without_ms'])} → {uc['with_ms']:.2f} ms | |"
        )
    return lines


def render(results: dict, title: str) -> str:
    lines = [f"### {title}", ""]
    m = results.get("machine", {})
    lines.append(
        f"Run {results.get('finished_at', '?')}{' (BENCH_QUICK)' if results.get('quick') else ''} on "
        f"{m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gb')} GB, "
        f"PostgreSQL {m.get('postgresql')}, "
        f"Python {m.get('python')}; load average {m.get('load_average_at_start', 0):.1f} at start. "
        "Median (min–max) of the repeats."
    )
    lines.append("")
    lines += ["| Benchmark | Figure | Result | Target |", "|---|---|---|---|"]
    imp = results.get("import")
    if imp and "error" not in imp:
        for name, label in (("first", "first run (empty register)"), ("unchanged", "second, unchanged run")):
            r = imp[name]
            lines.append(
                f"| Import {imp['rows']:,} rows | {label}: rows/s | {_sp(r['rows_per_s'])} rows/s "
                f"({r['seconds']['median']:.1f} s; {r['created']:,} created, {r['unchanged']:,} unchanged, "
                f"{r['rejected']} rejected) | |"
            )
            traced = "not traced (BENCH_QUICK)" if r["peak_mb"] is None else f"{r['peak_mb']:.1f} MB traced"
            lines.append(
                f"| | {label}: peak memory | {traced} (tracemalloc); "
                f"RSS +{r['rss_growth_mb']['median']:.1f} MB over {imp['baseline_rss_mb']:.0f} MB | flat |"
            )
    elif imp:
        lines.append(f"| Import | | error: {imp['error'][:200]} | |")
    s = results.get("summaries")
    if s and s.get("available"):
        lines.append(
            f"| Summary, largest cohort ({s['cohort_partnerships']} partnerships) | build_cohort_summary "
            f"| {_sp(s['task_ms'], _ms)} | |"
        )
        if "task_queries_small" in s:
            grows = s["task_queries"] > s["task_queries_small"]
            lines.append(
                f"| | task's queries, small → national | {s['task_queries_small']} → {s['task_queries']}"
                f"{' **grows**' if grows else ''} | must not grow |"
            )
        else:
            lines.append(f"| | task's queries (national) | {s['task_queries']} | |")
        lines.append(f"| | one raw SQL query | {_sp(s['sql_ms'], _ms)} | |")
        lines.append(
            f"| | ratio task / SQL | **{s['ratio']:.2f}×** "
            f"(figures agree: {'yes' if s['figures_agree'] else 'NO: ' + '; '.join(s['disagreements'])}) "
            "| ≤ 2× |"
        )
        lines.append(f"| | rebuild all {s['cohorts']} cohorts | {_sp(s['all_cohorts_ms'], _ms)} | |")
    elif s:
        lines.append(f"| Summaries | | {s.get('reason') or s.get('error', '')[:200]} | ≤ 2× |")
    pages = results.get("pages")
    if pages and "error" not in pages:
        small, big = pages["small"]["pages"], pages["national"]["pages"]
        for key, entry in big.items():
            if not entry.get("available"):
                lines.append(f"| Page: {entry['label']} | | {entry.get('reason')} | |")
                continue
            q_small = small.get(key, {}).get("queries", "—")
            grows = isinstance(q_small, int) and entry["queries"] > q_small
            lines.append(
                f"| Page: {entry['label']} | queries small → national | {q_small} → {entry['queries']}"
                f"{' **grows**' if grows else ''} | must not grow |"
            )
            lines.append(
                f"| | server time, ratio to /healthz | "
                f"{_ms(entry['page_ms'])} vs {_ms(entry['trivial_ms'])}: "
                f"**{entry['ratio']:.1f}×** ({entry['ratio_min']:.1f}–{entry['ratio_max']:.1f}) | |"
            )
    elif pages:
        lines.append(f"| Pages | | error: {pages['error'][:200]} | |")
    ld = results.get("load")
    if ld and ld.get("available"):
        for level in ld.get("levels", [ld]):
            lines += render_load(level)
    elif ld:
        lines.append(f"| Load | | {ld.get('reason') or ld.get('error', '')[:300]} | |")
    ex = results.get("experiments")
    if ex and "error" not in ex:
        lines += render_experiments(ex)
    elif ex:
        lines.append(f"| Experiments | | error: {ex['error'][:300]} | |")
    lines.append("")
    return "\n".join(lines)


def write_doc(results: dict) -> None:
    block = [START, "", render(results, "Latest run (`make bench`)")]
    if BASELINE.exists():
        block.append(render(json.loads(BASELINE.read_text(encoding="utf-8")), "Baseline (before the fixes)"))
    block.append(END)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: "\n".join(block), text)
    else:
        text = text.rstrip() + "\n\n" + "\n".join(block) + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--save-baseline", action="store_true", help="also save as results-baseline.json")
    parser.add_argument("--fresh", action="store_true", help="regenerate the bench data first")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    for dataset in generate.SCALES:
        generate.ensure(dataset, fresh=args.fresh)
    # The load test's gunicorn serves static files with whitenoise's manifest storage (DEBUG off).
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=server_env("national"),
        check=True,
    )
    results = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "machine": machine(),
    }
    failed = False
    runners = {
        "import": bench_import,
        "summaries": bench_summaries,
        "pages": bench_pages,
        "load": bench_load,
        "experiments": bench_experiments,
    }
    for name in wanted:
        print(f"--- {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = runners[name]()
        except Exception as exc:  # report it, run the others, exit 1 at the end
            failed = True
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"    failed: {exc}", flush=True)
        print(f"    {time.perf_counter() - t0:.0f} s", flush=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    results["total_seconds"] = time.perf_counter() - started

    if set(wanted) != set(SECTIONS) and RESULTS.exists():  # keep the other sections' last figures
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        results = {**{k: v for k, v in previous.items() if k in SECTIONS}, **results}
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    if args.save_baseline:
        BASELINE.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    write_doc(results)
    print()
    print(render(results, "Results"))
    print(f"Written: {RESULTS.relative_to(ROOT)}, {DOC.relative_to(ROOT)} ({results['total_seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
