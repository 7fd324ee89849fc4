"""The methods around the difference in differences, on synthetic panels made for each test
(small, fixed seeds): the event study and its pre-trend test, the wild cluster bootstrap, Hedges'
g and the EEF months' conversion, Holm's correction, attrition, series breaks and the dose."""

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaluation import impact

YEARS = range(2011, 2019)
BASELINE = 2014  # the programme starts in September 2014: 2015 is the first year after


def panel(
    *,
    seed: int,
    effect: float = 0.0,
    pre_trend: float = 0.0,
    units: int = 20,
    per_unit: int = 3,
    noise: float = 3.0,
) -> pd.DataFrame:
    """Participants and as many comparison schools in `units` partnerships, with school and
    partnership levels, a common trend and noise; participants gain `effect` after the start,
    and drift by `pre_trend` a year relative to comparison schools before it (a violation of
    parallel trends that stops at the baseline)."""
    rng = np.random.default_rng(seed)
    rows, school = [], 0
    for unit in range(units):
        shock = rng.normal(0, 2)
        for k in range(2 * per_unit):
            school += 1
            treated = int(k < per_unit)
            level = rng.normal(60, 6) - 2 * treated + shock
            for year in YEARS:
                post = int(year > BASELINE)
                drift = pre_trend * treated * min(year - BASELINE, 0)
                value = level + 0.8 * (year - 2011) + drift + effect * treated * post + rng.normal(0, noise)
                rows.append((school, treated, year, value, post, f"partnership:{unit}"))
    return pd.DataFrame(rows, columns=["school_id", "treated", "year", "value", "post", "unit"])


# --- Event study and the pre-trend test ----------------------------------------------------


def test_event_study_has_a_row_per_year_with_the_baseline_as_reference():
    study = impact.event_study(panel(seed=1, effect=3.0), baseline=BASELINE)

    assert [row["year"] for row in study["rows"]] == list(YEARS)
    reference = next(row for row in study["rows"] if row["reference"])
    assert (reference["year"], reference["estimate"]) == (BASELINE, 0.0)
    assert study["pre_trend_test"]["leads"] == 3  # 2011, 2012, 2013
    assert study["pre_trend_test"]["df"] == [3, 19]


def test_event_study_lags_find_the_planted_effect():
    study = impact.event_study(panel(seed=2, effect=4.0, units=30), baseline=BASELINE)

    lags = [row for row in study["rows"] if row["relative"] > 0]
    assert all(row["ci_low"] <= 4.0 <= row["ci_high"] for row in lags)
    assert all(row["ci_low"] > 0 for row in lags)


def test_planted_pre_trend_is_detected_by_the_pre_trend_test():
    rejected = [
        impact.event_study(panel(seed=seed, pre_trend=1.5), baseline=BASELINE)["pre_trend_test"]["p_value"]
        < 0.05
        for seed in range(20)
    ]

    assert sum(rejected) >= 19


def test_parallel_trends_are_rejected_only_at_about_the_test_size():
    """Without a pre-trend the test rejects about 5% of the time, not more (20 panels; 5 or more
    rejections would happen by chance less than 1.6% of the time with a 5% test)."""
    rejected = [
        impact.event_study(panel(seed=100 + seed, effect=3.0), baseline=BASELINE)["pre_trend_test"]["p_value"]
        < 0.05
        for seed in range(20)
    ]

    assert sum(rejected) <= 4


def test_pre_trend_test_needs_a_year_before_the_baseline():
    short = panel(seed=3)
    short = short[short["year"] >= BASELINE]

    study = impact.event_study(short, baseline=BASELINE)

    assert study["pre_trend_test"] == {"leads": 0, "statistic": None, "p_value": None, "df": None}


def test_event_study_wald_statistic_equals_a_hand_computation():
    data = panel(seed=4, pre_trend=0.5)
    study = impact.event_study(data, baseline=BASELINE)
    data = data.assign(cluster=data["unit"].astype("category").cat.codes)
    for year in YEARS:
        if year != BASELINE:
            data[f"rel_{year}"] = data["treated"] * (data["year"] == year)
    terms = " + ".join(f"rel_{y}" for y in YEARS if y != BASELINE)
    fit = smf.ols(f"value ~ treated + C(year) + {terms}", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": data["cluster"]}, use_t=True
    )
    leads = ["rel_2011", "rel_2012", "rel_2013"]
    b = fit.params[leads].to_numpy()
    f_stat = b @ np.linalg.inv(fit.cov_params().loc[leads, leads].to_numpy()) @ b / 3

    assert study["pre_trend_test"]["statistic"] == pytest.approx(f_stat, rel=1e-5)


# --- Main estimate: planted effect, no effect ---------------------------------------------


def test_planted_effect_lands_in_the_95_percent_interval_of_every_estimator():
    """Over 40 panels each interval should hold the planted effect about 38 times; 34 or fewer
    would happen less than 1.5% of the time if it were a true 95% interval."""
    covered = {"main": 0, "school_fixed_effects": 0, "balanced_panel": 0}
    for seed in range(40):
        data = panel(seed=1000 + seed, effect=3.0, units=12)
        for key, estimate in (
            ("main", impact.did_estimate(data)),
            ("school_fixed_effects", impact.did_estimate(data, school_effects=True)),
            ("balanced_panel", impact.did_estimate(impact.balanced(data))),
        ):
            covered[key] += estimate.ci_low <= 3.0 <= estimate.ci_high

    assert min(covered.values()) >= 35, covered


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_no_effect_gives_intervals_containing_zero(seed):
    data = panel(seed=seed)

    assert impact.did_estimate(data).spans_zero
    assert impact.did_estimate(data, school_effects=True).spans_zero
    boot = impact.wild_cluster_bootstrap(data, replications=999)
    assert boot["ci_low"] <= 0 <= boot["ci_high"]
    assert boot["p_value"] > 0.05


# --- Wild cluster bootstrap ----------------------------------------------------------------


def _brute_force_bootstrap_t(data: pd.DataFrame) -> tuple[float, np.ndarray]:
    """Every Rademacher sign vector, the slow way: impose the null (effect 0), flip each cluster's
    restricted residuals, refit the regression with statsmodels and take its clustered t."""
    data = data.assign(did=data["treated"] * data["post"], cluster=data["unit"].astype("category").cat.codes)
    groups = {"groups": data["cluster"].to_numpy()}
    original = smf.ols("value ~ treated + C(year) + did", data=data).fit(cov_type="cluster", cov_kwds=groups)
    restricted = smf.ols("value ~ treated + C(year)", data=data).fit()
    fitted, residual = restricted.fittedvalues.to_numpy(), restricted.resid.to_numpy()
    t_stars = []
    codes = data["cluster"].to_numpy()
    for signs in itertools.product([-1.0, 1.0], repeat=int(codes.max()) + 1):
        boot = data.assign(value=fitted + residual * np.array(signs)[codes])
        fit = smf.ols("value ~ treated + C(year) + did", data=boot).fit(cov_type="cluster", cov_kwds=groups)
        t_stars.append(fit.tvalues["did"])
    return float(original.tvalues["did"]), np.array(t_stars)


def test_wild_bootstrap_equals_a_brute_force_refit_of_every_sign_vector():
    """With 7 clusters and Rademacher weights, 2^7 = 128 sign vectors are all enumerated, so the
    p-value is exact and must equal refitting the model 128 times."""
    data = panel(seed=31, effect=1.5, units=7, per_unit=2)
    t, t_stars = _brute_force_bootstrap_t(data)

    boot = impact.wild_cluster_bootstrap(data, weights="rademacher", replications=9999, interval=False)

    assert boot["replications"] == 128
    assert boot["p_value"] == pytest.approx(np.mean(np.abs(t_stars) >= abs(t) - 1e-12), abs=1e-12)


def test_wild_bootstrap_t_statistics_equal_the_refits_one_by_one():
    data = panel(seed=32, units=6, per_unit=2)
    prepared = impact._prepare(data)
    pieces = impact._BootstrapPieces(*impact._design(prepared))
    weights = impact._weights(pieces.groups, 9999, "rademacher", np.random.default_rng(0))
    t, t_stars = _brute_force_bootstrap_t(data)

    ratio = t / pieces.t_original(0.0)  # CRV1's constant: the same for every draw
    np.testing.assert_allclose(pieces.t_boot(0.0, weights) * ratio, t_stars, rtol=1e-8, atol=1e-8)


def test_wild_bootstrap_interval_covers_the_planted_effect_with_few_clusters():
    data = panel(seed=33, effect=4.0, units=10, per_unit=3)

    boot = impact.wild_cluster_bootstrap(data, replications=1999)

    assert boot["weights"] == "webb"  # fewer than 12 clusters
    assert boot["ci_low"] <= 4.0 <= boot["ci_high"]
    assert boot["ci_low"] > 0
    assert boot["p_value"] < 0.05


def test_wild_bootstrap_interval_edges_have_p_value_five_percent():
    data = panel(seed=34, effect=2.0, units=15)
    boot = impact.wild_cluster_bootstrap(data, replications=999, seed=5)
    prepared = impact._prepare(data)
    pieces = impact._BootstrapPieces(*impact._design(prepared))
    weights = impact._weights(pieces.groups, 999, boot["weights"], np.random.default_rng(5))

    for edge, step in ((boot["ci_low"], -0.05), (boot["ci_high"], 0.05)):
        assert pieces.p_value(edge - step, weights) >= 0.05  # just inside: not rejected
        assert pieces.p_value(edge + step, weights) < 0.05  # just outside: rejected


def test_wild_bootstrap_is_reproducible_with_its_seed():
    data = panel(seed=35, effect=1.0, units=15)

    first = impact.wild_cluster_bootstrap(data, replications=499, seed=9)
    again = impact.wild_cluster_bootstrap(data, replications=499, seed=9)

    assert first == again


# --- Reference check against an independent implementation -------------------------------


def test_main_and_fixed_effects_estimates_equal_linearmodels_to_1e_6():
    """linearmodels' PanelOLS (its own within transformation and clustered covariance, with the
    same small-sample corrections: G/(G-1) and (N-1)/(N-K)) on a fixed synthetic panel."""
    from linearmodels.panel import PanelOLS

    data = panel(seed=41, effect=2.0, units=12)
    indexed = data.assign(did=data["treated"] * data["post"]).set_index(["school_id", "year"])
    clusters = indexed["unit"].astype("category").cat.codes

    pooled = PanelOLS(indexed["value"], indexed[["treated", "did"]].assign(const=1.0), time_effects=True).fit(
        cov_type="clustered", clusters=clusters, group_debias=True
    )
    two_way = PanelOLS(indexed["value"], indexed[["did"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", clusters=clusters, group_debias=True
    )
    main = impact.did_estimate(data)
    fixed = impact.did_estimate(data, school_effects=True)

    assert main.estimate == pytest.approx(pooled.params["did"], abs=1e-6)
    assert main.std_error == pytest.approx(pooled.std_errors["did"], abs=1e-6)
    assert fixed.estimate == pytest.approx(two_way.params["did"], abs=1e-6)
    assert fixed.std_error == pytest.approx(two_way.std_errors["did"], abs=1e-6)


# --- Effect sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "months"),
    [
        (0.0, 0),
        (0.014, 0),
        (0.016, 1),  # 0.02 to two decimal places
        (0.09, 1),
        (0.10, 2),
        (0.18, 2),
        (0.19, 3),
        (0.35, 4),
        (0.36, 5),
        (0.52, 6),
        (0.53, 7),
        (0.95, 11),
        (0.96, 12),
        (1.4, 12),
        (-0.19, -3),
    ],
)
def test_months_of_progress_follow_the_eef_table(size, months):
    assert impact.months_of_progress(size) == months


def test_hedges_g_equals_a_hand_computation():
    data = panel(seed=51, effect=2.0, units=4, per_unit=3)
    estimate = {"estimate": 2.0, "ci_low": 1.0, "ci_high": 3.0}
    base = data[data["year"] == BASELINE]
    t, c = base[base["treated"] == 1]["value"], base[base["treated"] == 0]["value"]
    pooled = np.sqrt((11 * t.var() + 11 * c.var()) / 22)
    j = 1 - 3 / (4 * 24 - 9)

    g = impact.hedges_g(estimate, data, baseline=BASELINE, pupil_sd=20.0)

    assert g["g"] == pytest.approx(j * 2.0 / pooled, abs=1e-6)
    assert g["g_ci_low"] == pytest.approx(j * 1.0 / pooled, abs=1e-6)
    assert g["pupil_effect_size"] == pytest.approx(0.1)
    assert g["months"] == 2


def test_no_months_without_a_pupil_level_standard_deviation():
    g = impact.hedges_g({"estimate": 2.0, "ci_low": 1, "ci_high": 3}, panel(seed=52), baseline=BASELINE)

    assert g["g"] is not None
    assert "months" not in g


# --- Holm -------------------------------------------------------------------------------------


def test_holm_matches_a_hand_computation():
    """p = 0.01, 0.04, 0.03, 0.005 for four outcomes. Sorted: 0.005, 0.01, 0.03, 0.04; times
    4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04; running maximum: 0.02, 0.03, 0.06, 0.06."""
    adjusted = impact.holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})

    assert adjusted == pytest.approx({"d": 0.02, "a": 0.03, "c": 0.06, "b": 0.06})


def test_holm_caps_at_one_and_leaves_a_single_outcome_alone():
    assert impact.holm({"a": 0.6, "b": 0.7}) == pytest.approx({"a": 1.0, "b": 1.0})
    assert impact.holm({"only": 0.03}) == {"only": 0.03}


# --- Attrition, series breaks ------------------------------------------------------------------


def test_attrition_is_reported_by_arm_and_year_with_its_counts():
    data = panel(seed=61, units=5, per_unit=2)  # 10 participants, 10 comparison schools
    participants = sorted(data.loc[data["treated"] == 1, "school_id"].unique())
    comparisons = sorted(data.loc[data["treated"] == 0, "school_id"].unique())
    # two participants close after 2016, one comparison school misses 2015 only
    data = data[~(data["school_id"].isin(participants[:2]) & (data["year"] > 2016))]
    data = data[~((data["school_id"] == comparisons[0]) & (data["year"] == 2015))]

    report = impact.attrition(data, matched={1: 10, 0: 10}, years=list(YEARS))

    by_year = {row["year"]: row for row in report["rows"]}
    assert by_year[2016]["participants"] == {"matched": 10, "observed": 10, "missing": 0}
    assert by_year[2017]["participants"] == {"matched": 10, "observed": 8, "missing": 2}
    assert by_year[2015]["comparison"] == {"matched": 10, "observed": 9, "missing": 1}
    assert report["post"]["participants"] == {"matched": 10, "lost": 2, "rate": 0.2}
    assert report["post"]["comparison"] == {"matched": 10, "lost": 1, "rate": 0.1}
    assert report["differential"] == pytest.approx(0.1)
    assert impact.balanced(data)["school_id"].nunique() == 17


def test_years_across_a_series_break_are_never_compared():
    kept, dropped = impact.comparable_years("ks2_rwm_expected", baseline=2014, years=list(range(2011, 2019)))

    assert kept == [2011, 2012, 2013, 2014, 2015]
    assert [d["year"] for d in dropped] == [2016, 2017, 2018]
    assert "series break in 2016" in dropped[0]["reason"]


def test_a_baseline_after_the_break_keeps_only_later_years_and_skips_missing_tables():
    kept, dropped = impact.comparable_years("ks4_progress8", baseline=2018, years=list(range(2014, 2024)))

    assert kept == [2016, 2017, 2018, 2019, 2022, 2023]
    assert {d["year"]: d["reason"] for d in dropped}[2020] == "no performance tables for 2019/20"


def test_an_unbroken_series_keeps_every_year_but_the_missing_tables():
    kept, _ = impact.comparable_years("stem_teacher_retention", baseline=2014, years=list(range(2011, 2022)))

    assert kept == list(range(2011, 2020))


# --- Dose and response --------------------------------------------------------------------------


def test_dose_response_finds_a_planted_association_and_is_a_slope_per_ten_hours():
    rng = np.random.default_rng(71)
    data = panel(seed=71, units=20)
    participants = data.loc[data["treated"] == 1, "school_id"].unique()
    doses = {int(s): float(rng.uniform(0, 60)) for s in participants}
    gain = data["school_id"].map(doses).fillna(0) * 0.1  # 1 point per 10 hours, after the start
    data["value"] += gain * data["post"]

    result = impact.dose_response(data, doses)

    assert result["ci_low"] <= 1.0 <= result["ci_high"]
    assert result["ci_low"] > 0
    assert [band["band"] for band in result["bands"]] == ["lowest", "middle", "highest"]
    assert sum(band["schools"] for band in result["bands"]) == len(participants)


def test_dose_response_without_variation_gives_no_slope():
    data = panel(seed=72, units=5)
    doses = {int(s): 10.0 for s in data["school_id"].unique()}

    result = impact.dose_response(data, doses)

    assert result["slope_per_10_hours"] is None
    assert result["bands"] == []
