"""One-off check of the portal's wild cluster bootstrap against the wildboottest package
(py-econometrics). Not part of the test run and not a dependency (it needs numba): in a separate
virtualenv with `pip install wildboottest statsmodels pandas scipy`, from the repository root,

    python benchmarks/wildboottest_check.py

Result on 1 Dec 2026 (wildboottest 0.3.2): identical p-values for G=8 (full Rademacher
enumeration), G=9 (Webb, 99,999 draws) and G=30 (Rademacher, 99,999 draws); for G=10 the portal
also counts the two sign vectors tied with the original statistic (all +1, all -1): 2/1024 higher.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

from evaluation import impact  # noqa: E402

CASES = [
    (1, 8, "rademacher", 9999),
    (2, 10, "rademacher", 9999),
    (3, 9, "webb", 99999),
    (4, 30, "rademacher", 99999),
]


def panel(seed: int, units: int, per_unit: int, effect: float) -> pd.DataFrame:
    rng, rows, school = np.random.default_rng(seed), [], 0
    for unit in range(units):
        shock = rng.normal(0, 2)
        for k in range(2 * per_unit):
            school += 1
            treated, level = int(k < per_unit), rng.normal(60, 6) + shock
            for year in range(2011, 2019):
                post = int(year > 2014)
                value = level + 0.8 * (year - 2011) + effect * treated * post + rng.normal(0, 3)
                rows.append((school, treated, year, value, post, f"u{unit}"))
    return pd.DataFrame(rows, columns=["school_id", "treated", "year", "value", "post", "unit"])


def main():
    from wildboottest.wildboottest import wildboottest

    for seed, units, kind, draws in CASES:
        data = panel(seed, units, 3, 1.0)
        data["did"] = data["treated"] * data["post"]
        codes = data["unit"].astype("category").cat.codes.to_numpy()
        model = smf.ols("value ~ treated + C(year) + did", data=data)
        theirs = wildboottest(
            model,
            param="did",
            cluster=codes,
            B=draws,
            weights_type=kind,
            seed=seed,
            show=False,
            impose_null=True,
        )
        ours = impact.wild_cluster_bootstrap(
            data, replications=draws, weights=kind, seed=seed, interval=False
        )
        print(
            f"G={units} {kind} B={draws}: wildboottest p={float(theirs['p-value'].iloc[0]):.5f}, "
            f"portal p={ours['p_value']:.5f} ({ours['replications']} draws)"
        )


if __name__ == "__main__":
    main()
