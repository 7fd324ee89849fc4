"""Simulation of the impact estimators (not part of the test run): coverage of the 95% interval and
bias of the main and robustness estimators, through the portal's own matching and estimation code,
under three ways the comparison can go wrong. The programme has no effect (true value 0), so
1 - coverage is the false-positive rate.

    .venv/bin/python benchmarks/impact_simulation.py [--replications 200] [--seed 22]

Writes benchmarks/results/impact_simulation.md (and .json) with the machine's load.

Data: 400 primary schools, 2011-2018, programme from September 2014 (baseline 2014). A school's
result is its level (60 - 0.4 x %FSM + a persistent unobserved part u, SD 4) + a common trend +
yearly noise (SD 3, so one year is a noisy measure of the level). 60 participants in 20
partnerships of 3, each partnership with its own post-start shock (SD 1, mean 0).

- observables: taking part depends on %FSM and the observed baseline result;
- unobservables: taking part depends on u, which matching sees only through noisy results;
- attrition: as "observables", and after 2016 half of the participants below the participants'
  median level stop reporting (comparison schools do not).
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: the machine is shared
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation import impact, matching

YEARS = list(range(2011, 2019))
BASE = 2014
SCHOOLS, PARTICIPANTS, UNITS = 400, 60, 20
REGIONS = ["North West", "London", "South West", "Yorkshire and the Humber"]
OFSTED = ["outstanding", "good", "requires_improvement"]
ESTIMATORS = [
    ("main", "Main (matched on 1 year, caliper 0.2, pooled)"),
    ("main_bootstrap", "Main, wild cluster bootstrap p-value"),
    ("school_fixed_effects", "School fixed effects"),
    ("balanced_panel", "Balanced panel"),
    ("two_pre_years", "Matched on 2 pre-programme years"),
    ("caliper_narrow", "Caliper 0.1"),
    ("caliper_wide", "Caliper 0.5"),
]


def population(rng, scenario):
    fsm = np.clip(rng.gamma(3.0, 6.0, SCHOOLS), 1, 80)
    u = rng.normal(0, 4, SCHOOLS)
    level = 60 - 0.4 * fsm + u
    noise = rng.normal(0, 3, (SCHOOLS, len(YEARS)))
    y = level[:, None] + 0.8 * (np.array(YEARS) - 2011)[None, :] + noise
    b = YEARS.index(BASE)
    if scenario == "unobservables":
        score = -0.5 * u
    else:
        score = 0.06 * (fsm - fsm.mean()) - 0.15 * (y[:, b] - y[:, b].mean())
    weights = np.exp(score - score.max())
    treated_idx = rng.choice(SCHOOLS, PARTICIPANTS, replace=False, p=weights / weights.sum())
    treated = np.zeros(SCHOOLS, dtype=bool)
    treated[treated_idx] = True
    unit = np.full(SCHOOLS, -1)
    unit[treated_idx] = rng.permutation(np.repeat(np.arange(UNITS), PARTICIPANTS // UNITS))
    shock = rng.normal(0, 1, UNITS)
    post = np.array(YEARS) > BASE
    y[treated] += shock[unit[treated]][:, None] * post[None, :]
    observed = np.ones_like(y, dtype=bool)
    if scenario == "attrition":
        weak = treated & (level < np.median(level[treated]))
        leaves = weak & (rng.random(SCHOOLS) < 0.5)
        observed[leaves[:, None] & (np.array(YEARS) > 2016)[None, :]] = False
    frame = pd.DataFrame(
        {
            "school_id": np.arange(SCHOOLS),
            "treated": treated,
            "phase": "primary",
            "region": rng.choice(REGIONS, SCHOOLS),
            "ofsted": rng.choice(OFSTED, SCHOOLS, p=[0.2, 0.65, 0.15]),
            "pupils": rng.normal(300, 60, SCHOOLS),
            "fsm": fsm,
            "baseline": y[:, b],
            "baseline_2": y[:, b - 1],
        }
    )
    return frame, y, observed, unit


def panel_for(pairs, y, observed, unit):
    rows = []
    for pair in pairs:
        for school, flag in ((pair["participant"], 1), (pair["comparison"], 0)):
            for j, year in enumerate(YEARS):
                if observed[school, j]:
                    rows.append(
                        (school, flag, year, y[school, j], int(year > BASE), unit[pair["participant"]])
                    )
    return pd.DataFrame(rows, columns=["school_id", "treated", "year", "value", "post", "unit"])


def one(rng, scenario):
    frame, y, observed, unit = population(rng, scenario)
    variants = {
        "main": matching.match(frame, caliper_sd=0.2),
        "two_pre_years": matching.match(frame, caliper_sd=0.2, extra_baselines={"baseline_2": "year before"}),
        "caliper_narrow": matching.match(frame, caliper_sd=0.1),
        "caliper_wide": matching.match(frame, caliper_sd=0.5),
    }
    panels = {key: panel_for(result.pairs, y, observed, unit) for key, result in variants.items()}
    main = panels["main"]
    fits = {
        "main": impact.did_estimate(main),
        "school_fixed_effects": impact.did_estimate(main, school_effects=True),
        "balanced_panel": impact.did_estimate(impact.balanced(main)),
        "two_pre_years": impact.did_estimate(panels["two_pre_years"]),
        "caliper_narrow": impact.did_estimate(panels["caliper_narrow"]),
        "caliper_wide": impact.did_estimate(panels["caliper_wide"]),
    }
    out = {key: (fit.estimate, fit.ci_low <= 0 <= fit.ci_high) for key, fit in fits.items()}
    boot = impact.wild_cluster_bootstrap(
        main, replications=199, interval=False, seed=int(rng.integers(1 << 30))
    )
    out["main_bootstrap"] = (fits["main"].estimate, boot["p_value"] >= 0.05)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started, cpu = time.time(), time.process_time()
    results = {}
    for scenario in ("observables", "unobservables", "attrition"):
        rng = np.random.default_rng([args.seed, len(scenario)])
        runs = [one(rng, scenario) for _ in range(args.replications)]
        results[scenario] = {
            key: {
                "bias": float(np.mean([r[key][0] for r in runs])),
                "coverage": float(np.mean([r[key][1] for r in runs])),
                "sd": float(np.std([r[key][0] for r in runs], ddof=1)),
            }
            for key, _ in ESTIMATORS
        }
        print(scenario, "done", f"{time.time() - started:.0f}s", flush=True)
    elapsed, cpu = time.time() - started, time.process_time() - cpu
    load_after = os.getloadavg()
    lines = [
        "# Impact estimators under simulation",
        "",
        f"{args.replications} replications per scenario, true effect 0 "
        "(1 - coverage is the false-positive rate);",
        f"seed {args.seed}; {elapsed:.0f} s wall, {cpu:.0f} s CPU, peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (2 shared cores). "
        "Data and scenarios: the docstring of benchmarks/impact_simulation.py.",
        "",
        "| estimator | " + " | ".join(f"{s}: bias | {s}: coverage" for s in results) + " |",
        "|---|" + "---:|---:|" * len(results),
    ]
    for key, label in ESTIMATORS:
        cells = []
        for scenario in results:
            r = results[scenario][key]
            bias = f"{r['bias']:+.3f}" if key != "main_bootstrap" else "(as main)"
            cells += [bias, f"{100 * r['coverage']:.1f}%"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "impact_simulation.md").write_text("\n".join(lines) + "\n")
    (out / "impact_simulation.json").write_text(
        json.dumps({"replications": args.replications, **results}, indent=2)
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
