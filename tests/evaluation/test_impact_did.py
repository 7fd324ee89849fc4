"""Difference in differences on synthetic panels: a known effect is recovered inside the 95%
confidence interval; with no effect, the interval contains zero and the reading claims nothing."""

import numpy as np
import pandas as pd
import pytest

from evaluation.impact import NotEstimable, did_estimate, group_trends, reading
from portal import labels

YEARS = range(2011, 2019)
START = 2015  # first year after the programme started


def synthetic_panel(effect: float, *, seed: int, units: int = 38, per_unit: int = 6) -> pd.DataFrame:
    """Participants in `units` partnerships and as many comparison schools; school and
    partnership levels, a common trend, noise, and `effect` added to participants after START.
    Participants start lower than the comparison schools (as matched groups may)."""
    rng = np.random.default_rng(seed)
    rows, school = [], 0
    for unit in range(units):
        unit_shock = rng.normal(0, 2)
        for k in range(2 * per_unit):
            school += 1
            treated = int(k < per_unit)
            level = rng.normal(60, 8) - 3 * treated + unit_shock
            for year in YEARS:
                post = int(year >= START)
                value = level + 0.8 * (year - 2011) + effect * treated * post + rng.normal(0, 3)
                rows.append((school, treated, year, value, post, f"partnership:{unit}"))
    return pd.DataFrame(rows, columns=["school_id", "treated", "year", "value", "post", "unit"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_known_effect_lies_inside_the_confidence_interval(seed):
    effect = 3.0

    estimate = did_estimate(synthetic_panel(effect, seed=seed))

    assert estimate.ci_low <= effect <= estimate.ci_high
    assert estimate.ci_low > 0  # and it is detected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_effect_gives_an_interval_containing_zero_and_no_claim(seed):
    estimate = did_estimate(synthetic_panel(0.0, seed=seed))

    assert estimate.ci_low <= 0 <= estimate.ci_high
    text = reading(estimate, measure_label="KS2 science", unit="percentage points")
    assert text.startswith("No evidence of a difference")


def test_negative_effect_is_read_as_a_fall():
    estimate = did_estimate(synthetic_panel(-3.0, seed=4))

    assert estimate.ci_high < 0
    assert "fell by" in reading(estimate, measure_label="retention")


def test_positive_effect_is_read_as_a_rise_with_its_interval():
    estimate = did_estimate(synthetic_panel(3.0, seed=5))

    text = reading(estimate, measure_label="KS2 science", unit="percentage points")

    assert "rose by" in text
    assert labels.interval(estimate.ci_low, estimate.ci_high) in text


def test_counts_schools_groups_and_clusters():
    panel = synthetic_panel(1.0, seed=6, units=10, per_unit=3)

    estimate = did_estimate(panel)

    assert (estimate.schools, estimate.participants, estimate.comparison_schools) == (60, 30, 30)
    assert estimate.clusters == 10
    assert estimate.observations == 60 * len(YEARS)


def test_errors_are_clustered_by_partnership_not_by_school():
    """How well a partnership implemented the programme is shared by its schools: that is not
    independent noise, and the clustered standard error must account for it."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(7)
    panel = synthetic_panel(0.0, seed=7)
    shocks = {unit: rng.normal(0, 3) for unit in panel["unit"].unique()}
    panel["value"] += panel["post"] * panel["treated"] * panel["unit"].map(shocks)
    panel["did"] = panel["treated"] * panel["post"]
    by_school = smf.ols("value ~ treated + C(year) + did", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": panel["school_id"]}
    )

    by_partnership = did_estimate(panel)

    assert by_partnership.estimate == pytest.approx(by_school.params["did"])
    assert by_partnership.std_error > 1.5 * by_school.bse["did"]


def test_needs_years_before_and_after():
    panel = synthetic_panel(1.0, seed=8)
    panel = panel[panel["post"] == 1]

    with pytest.raises(NotEstimable, match="before and after"):
        did_estimate(panel)


def test_needs_both_groups():
    panel = synthetic_panel(1.0, seed=9)

    with pytest.raises(NotEstimable, match="participants and comparison"):
        did_estimate(panel[panel["treated"] == 1])


def test_group_trends_give_each_group_mean_by_year():
    panel = synthetic_panel(0.0, seed=10, units=4, per_unit=2)

    trends = group_trends(panel)

    assert trends["years"] == list(YEARS)
    first = panel[(panel["year"] == 2011) & (panel["treated"] == 1)]["value"].mean()
    assert trends["participants"][0] == pytest.approx(first, abs=0.01)
