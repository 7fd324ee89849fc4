"""Difference-in-differences and what an evaluator checks around it: pure functions on a pandas
panel (no database). docs/evaluation.md explains each method, its assumptions and what the page
shows when they fail.

The panel has one row per school and academic year: school_id, treated (1 participant, 0 matched
comparison school), year, value, post (1 for years after the programme started) and unit (the
partnership or cluster; a comparison school carries its matched participant's unit, so a matched
set is one cluster). The main model is

    value ~ treated + C(year) + treated:post

(year fixed effects absorb the common trend, so `post` on its own is not needed); the coefficient
of treated:post is the estimate, with standard errors clustered by unit and a t distribution
with (number of units - 1) degrees of freedom for the 95% confidence interval. With
`school_effects=True` the school's own level replaces `treated` (two-way fixed effects).

Also here: the event study (leads and lags, joint Wald test of the leads), the wild cluster
bootstrap (restricted, Webb or Rademacher weights, confidence interval by test inversion), Hedges'
g and the EEF months'-progress conversion, Holm's correction, attrition by arm and year, series
breaks, and the dose-response association.
"""

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from portal.labels import interval, num

ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    schools: int
    participants: int
    comparison_schools: int
    clusters: int
    observations: int

    @property
    def spans_zero(self) -> bool:
        return self.ci_low <= 0 <= self.ci_high

    def as_dict(self) -> dict:
        return asdict(self)


class NotEstimable(ValueError):
    """The panel cannot give an estimate (no schools in a group, no years before or after)."""


def _prepare(panel: pd.DataFrame) -> pd.DataFrame:
    panel = panel.dropna(subset=["value"]).copy()
    panel["treated"] = panel["treated"].astype(int)
    panel["post"] = panel["post"].astype(int)
    panel["did"] = panel["treated"] * panel["post"]
    for column, groups in (
        ("treated", "participants and comparison schools"),
        ("post", "years before and after"),
    ):
        if panel[column].nunique() < 2:
            raise NotEstimable(f"Needs both {groups}.")
    panel["cluster"] = panel["unit"].astype("category").cat.codes
    if panel["cluster"].nunique() < 2:
        raise NotEstimable("Needs at least two partnerships or clusters.")
    return panel


def did_estimate(panel: pd.DataFrame, *, school_effects: bool = False) -> Estimate:
    panel = _prepare(panel)
    clusters = panel["cluster"].to_numpy()
    if school_effects:
        estimate, std_error = _two_way(panel)
    else:
        fit = smf.ols("value ~ treated + C(year) + did", data=panel).fit(
            cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
        )
        estimate, std_error = float(fit.params["did"]), float(fit.bse["did"])
    groups = int(np.unique(clusters).size)
    t_crit = stats.t.ppf(1 - ALPHA / 2, groups - 1)
    low, high = estimate - t_crit * std_error, estimate + t_crit * std_error
    if not np.isfinite([low, high, std_error]).all() or std_error == 0:
        raise NotEstimable("The outcome does not vary enough to estimate a confidence interval.")
    schools = panel.drop_duplicates("school_id")
    return Estimate(
        estimate=estimate,
        ci_low=float(low),
        ci_high=float(high),
        std_error=std_error,
        p_value=float(2 * stats.t.sf(abs(estimate / std_error), groups - 1)),
        schools=len(schools),
        participants=int(schools["treated"].sum()),
        comparison_schools=int((schools["treated"] == 0).sum()),
        clusters=int(panel["cluster"].nunique()),
        observations=len(panel),
    )


def _two_way(panel: pd.DataFrame) -> tuple[float, float]:
    """School and year fixed effects, by Frisch-Waugh-Lovell: every variable minus its school mean
    (exact, balanced or not), then OLS on the year dummies and treated x post. The clustered
    variance is the dummy regression's (the same influence of each observation on the estimate);
    only the small-sample factor (N-1)/(N-K) must count the school effects in K."""
    years = sorted(panel["year"].unique())
    x = pd.DataFrame({f"year_{y}": (panel["year"] == y).astype(float) for y in years[1:]}, index=panel.index)
    x["did"] = panel["did"].astype(float)
    x["value"] = panel["value"].astype(float)
    demeaned = x - x.groupby(panel["school_id"]).transform("mean")
    y = demeaned.pop("value").to_numpy()
    if np.allclose(demeaned["did"].to_numpy(), 0):
        raise NotEstimable("No school is observed both before and after the start.")
    fit = sm.OLS(y, demeaned.to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": panel["cluster"].to_numpy()}
    )
    n, k_within = len(panel), demeaned.shape[1]
    k_full = k_within + panel["school_id"].nunique()
    correction = (n - k_within) / (n - k_full) if n > k_full else np.nan
    return float(fit.params[-1]), float(fit.bse[-1] * np.sqrt(correction))


def reading(
    estimate: Estimate | dict, *, measure_label: str, unit: str = "points", lower_is_better: bool = False
) -> str:
    """A plain-English reading of an estimate (uses the wild-bootstrap interval when there is one)."""
    e = estimate if isinstance(estimate, dict) else estimate.as_dict()
    low, high = e["ci_low"], e["ci_high"]
    ci = f"95% confidence interval {interval(low, high)} {unit}"
    if low <= 0 <= high:
        return (
            f"No evidence of a difference in {measure_label}: participating schools changed by "
            f"{num(e['estimate'], signed=True)} {unit} relative to their comparison schools, but the {ci} "
            "includes zero, so the data are consistent with no effect."
        )
    if lower_is_better:
        moved = "narrowed" if e["estimate"] < 0 else "widened"
        what = "the gap"
    else:
        moved = "rose" if e["estimate"] > 0 else "fell"
        what = "results"
    return (
        f"Evidence of a difference in {measure_label}: relative to their matched comparison schools, "
        f"participating schools' {what} {moved} by {num(abs(e['estimate']))} {unit} ({ci}). This is "
        "an association from a matched comparison, not proof that the programme caused it."
    )


def group_trends(panel: pd.DataFrame) -> dict:
    """Mean value by year for each group, for the chart and its data table."""
    means = panel.dropna(subset=["value"]).groupby(["year", "treated"])["value"].mean().unstack("treated")
    years = [int(year) for year in means.index]

    def column(flag):
        if flag not in means.columns:
            return [None] * len(years)
        return [None if np.isnan(v) else round(float(v), 2) for v in means[flag].to_numpy()]

    return {"years": years, "participants": column(1), "comparison": column(0)}


# --- Event study -------------------------------------------------------------------------


def event_study(panel: pd.DataFrame, *, baseline: int) -> dict:
    """Leads and lags around the start: value ~ treated + C(year) + sum_k treated x 1[year = k]
    for every year k but the baseline (the reference, coefficient 0 by construction), with
    standard errors clustered by unit and 95% intervals on G-1 degrees of freedom.

    The joint test of the leads (years before the baseline) is a cluster-robust Wald test,
    F = b' V^-1 b / q on (q, G-1) degrees of freedom: if participants and comparison schools
    were on parallel paths before the programme, the leads are zero."""
    panel = _prepare(panel)
    years = sorted(int(y) for y in panel["year"].unique())
    if baseline not in years:
        raise NotEstimable(f"No values in the baseline year {baseline}.")
    others = [y for y in years if y != baseline]
    year_dummies = pd.get_dummies(panel["year"].astype(int), dtype=float)
    x = pd.DataFrame({"const": 1.0, "treated": panel["treated"].astype(float)}, index=panel.index)
    for year in years[1:]:
        x[f"year_{year}"] = year_dummies[year]
    for year in others:
        x[f"rel_{year}"] = panel["treated"] * (panel["year"] == year)
    clusters = panel["cluster"].to_numpy()
    groups = int(np.unique(clusters).size)
    fit = sm.OLS(panel["value"].to_numpy(), x.astype(float)).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
    )
    t_crit = stats.t.ppf(1 - ALPHA / 2, groups - 1)
    rows = []
    for year in years:
        if year == baseline:
            rows.append(_event_row(year, baseline, 0.0, 0.0, 0.0, 0.0, reference=True))
            continue
        name = f"rel_{year}"
        b, se = float(fit.params[name]), float(fit.bse[name])
        rows.append(_event_row(year, baseline, b, se, b - t_crit * se, b + t_crit * se))
    leads = [f"rel_{y}" for y in others if y < baseline]
    pre_test = {"leads": len(leads), "statistic": None, "p_value": None, "df": None}
    if leads:
        b = fit.params[leads].to_numpy()
        v = fit.cov_params().loc[leads, leads].to_numpy()
        wald = float(b @ np.linalg.pinv(v) @ b)
        f_stat = wald / len(leads)
        pre_test.update(
            statistic=round(f_stat, 6),
            p_value=float(stats.f.sf(f_stat, len(leads), groups - 1)),
            df=[len(leads), groups - 1],
        )
    return {"baseline": baseline, "rows": rows, "pre_trend_test": pre_test, "clusters": groups}


def _event_row(year, baseline, b, se, low, high, *, reference=False) -> dict:
    return {
        "year": year,
        "relative": year - baseline,
        "estimate": round(b, 6),
        "std_error": round(se, 6),
        "ci_low": round(low, 6),
        "ci_high": round(high, 6),
        "reference": reference,
    }


# --- Wild cluster bootstrap ----------------------------------------------------------------

WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
WEBB_BELOW_CLUSTERS = 12  # Rademacher weights give only 2^G distinct draws; Webb's six points more


def _design(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """y, X (const, treated, year dummies, did), the column of did, cluster codes."""
    years = sorted(panel["year"].unique())
    columns = [np.ones(len(panel)), panel["treated"].to_numpy(float)]
    columns += [(panel["year"] == year).to_numpy(float) for year in years[1:]]
    columns.append(panel["did"].to_numpy(float))
    x = np.column_stack(columns)
    return panel["value"].to_numpy(float), x, x.shape[1] - 1, panel["cluster"].to_numpy()


def _weights(groups: int, replications: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """G x B weights. Rademacher with 2^G <= B: every sign vector once (the exact distribution)."""
    if kind == "rademacher" and 2**groups <= replications:
        return np.array(list(itertools.product([-1.0, 1.0], repeat=groups))).T
    if kind == "rademacher":
        return rng.choice([-1.0, 1.0], size=(groups, replications))
    return rng.choice(WEBB, size=(groups, replications))


class _BootstrapPieces:
    """The restricted wild cluster bootstrap (WCR) of Roodman, MacKinnon, Nielsen and Webb (2019,
    "Fast and wild") for one coefficient, with the null value beta0 left free: the restricted
    residuals are linear in beta0, so every bootstrap t statistic is too, and an interval by test
    inversion costs a few matrix products per trial value."""

    def __init__(self, y, x, k, clusters):
        self.y, self.x, self.k = y, x, k
        xtx_inv = np.linalg.pinv(x.T @ x)
        self.beta = xtx_inv @ x.T @ y
        a = (xtx_inv @ x.T)[k]  # beta_k = a . y
        z = np.delete(x, k, axis=1)
        ztz_inv_zt = np.linalg.pinv(z.T @ z) @ z.T
        mz_y = y - z @ (ztz_inv_zt @ y)  # restricted residuals are mz_y - beta0 * mz_x
        mz_x = x[:, k] - z @ (ztz_inv_zt @ x[:, k])
        codes, index = np.unique(clusters, return_inverse=True)
        self.groups = len(codes)
        one_hot = np.zeros((len(y), self.groups))
        one_hot[np.arange(len(y)), index] = 1.0
        a_x = one_hot.T @ (a[:, None] * x)  # G x K: a_g' X_g
        self.s, self.c = {}, {}
        for name, residual in (("y", mz_y), ("x", mz_x)):
            s = one_hot.T @ (a * residual)  # s_g = a_g' u_g
            w = (xtx_inv @ (x * residual[:, None]).T @ one_hot).T  # G x K: (X'X)^-1 X_g' u_g
            self.s[name] = s
            self.c[name] = np.diag(s) - a_x @ w.T  # cluster scores of the bootstrap residuals
        residual = y - x @ self.beta
        score = one_hot.T @ (a * residual)
        self.se_unscaled = float(np.sqrt(score @ score))  # CRV1 without its constant (it cancels)

    def t_original(self, beta0):
        return (self.beta[self.k] - beta0) / self.se_unscaled

    def t_boot(self, beta0, weights):
        s = self.s["y"] - beta0 * self.s["x"]
        c = self.c["y"] - beta0 * self.c["x"]
        numerator = s @ weights
        scores = c @ weights
        denominator = np.sqrt(np.einsum("gb,gb->b", scores, scores))
        with np.errstate(divide="ignore", invalid="ignore"):
            return numerator / denominator

    def p_value(self, beta0, weights) -> float:
        t_star = self.t_boot(beta0, weights)
        return float(np.mean(np.abs(t_star) >= abs(self.t_original(beta0)) - 1e-12))


def wild_cluster_bootstrap(
    panel: pd.DataFrame,
    *,
    replications: int = 9999,
    weights: str | None = None,
    seed: int = 20140901,
    null: float = 0.0,
    interval: bool = True,
) -> dict:
    """Restricted wild cluster bootstrap-t of the main difference-in-differences coefficient:
    symmetric p-value of H0: effect = null, and a 95% interval by test inversion (the values of
    the effect the test does not reject at 5%). Webb's six-point weights below 12 clusters,
    Rademacher otherwise; the seed is fixed so the page shows the same figures on every run."""
    panel = _prepare(panel)
    y, x, k, clusters = _design(panel)
    pieces = _BootstrapPieces(y, x, k, clusters)
    kind = weights or ("webb" if pieces.groups < WEBB_BELOW_CLUSTERS else "rademacher")
    draws = _weights(pieces.groups, replications, kind, np.random.default_rng(seed))
    result = {
        "p_value": pieces.p_value(null, draws),
        "weights": kind,
        "replications": int(draws.shape[1]),
        "clusters": pieces.groups,
        "null": null,
        "estimate": float(pieces.beta[k]),
        "ci_low": None,
        "ci_high": None,
    }
    if interval:
        result["ci_low"], result["ci_high"] = _invert(pieces, draws)
    return result


def _invert(pieces: _BootstrapPieces, draws: np.ndarray) -> tuple[float | None, float | None]:
    """The edges where the bootstrap p-value crosses 5%, by bisection outward from the estimate."""
    centre = float(pieces.beta[pieces.k])
    scale = abs(pieces.se_unscaled) or 1.0
    # CRV1's constant cancels in p, but not in a step size: take it for the starting width
    step = scale * math.sqrt(pieces.groups / max(pieces.groups - 1, 1)) * 2.0

    def rejected(value):
        return pieces.p_value(value, draws) < ALPHA

    edges = []
    for direction in (-1, 1):
        inside, width = centre, step
        outside = centre + direction * width
        for _ in range(40):
            if rejected(outside):
                break
            inside, width = outside, width * 2
            outside = centre + direction * width
        else:
            edges.append(None)  # never rejected: the interval is unbounded on this side
            continue
        for _ in range(50):
            middle = (inside + outside) / 2
            if rejected(middle):
                outside = middle
            else:
                inside = middle
            if abs(outside - inside) < 1e-4 * scale:  # a ten-thousandth of a standard error
                break
        edges.append(float((inside + outside) / 2))
    return edges[0], edges[1]


# --- Effect sizes ------------------------------------------------------------------------

# EEF, "Teaching and Learning Toolkit: guide to the toolkit" (months' additional progress):
# (lowest effect size, months). Negative effect sizes convert to the same months, negative.
EEF_MONTHS = [
    (0.00, 0),
    (0.02, 1),
    (0.10, 2),
    (0.19, 3),
    (0.27, 4),
    (0.36, 5),
    (0.45, 6),
    (0.53, 7),
    (0.62, 8),
    (0.70, 9),
    (0.79, 10),
    (0.88, 11),
    (0.96, 12),
]


def months_of_progress(effect_size: float) -> int:
    """EEF Toolkit conversion of a (pupil-level) effect size to months' additional progress;
    the effect size is taken to two decimal places, as the EEF's table is."""
    size = round(abs(effect_size), 2)
    months = 0
    for lowest, value in EEF_MONTHS:
        if size >= lowest:
            months = value
    return months if effect_size >= 0 else -months


def hedges_g(estimate: dict, panel: pd.DataFrame, *, baseline: int, pupil_sd: float | None = None) -> dict:
    """The estimate in standard-deviation units.

    Hedges' g on the school-level spread: the estimate over the pooled within-group standard
    deviation of the outcome in the baseline year among the matched schools, times Hedges'
    small-sample factor J = 1 - 3 / (4 (n1 + n0) - 9). School means vary far less than pupils'
    results, so a school-level g is larger than a pupil-level one and is not comparable with the
    EEF Toolkit. When the plan gives the outcome's pupil-level standard deviation, the estimate
    over it is a pupil-level effect size, converted to months' progress with the EEF's table."""
    base = panel[(panel["year"] == baseline)].dropna(subset=["value"])
    treated, control = base[base["treated"] == 1]["value"], base[base["treated"] == 0]["value"]
    n1, n0 = len(treated), len(control)
    result = {"school_sd": None, "g": None, "g_ci_low": None, "g_ci_high": None, "pupil_sd": pupil_sd}
    if n1 >= 2 and n0 >= 2:
        pooled = math.sqrt(((n1 - 1) * treated.var(ddof=1) + (n0 - 1) * control.var(ddof=1)) / (n1 + n0 - 2))
        if pooled > 0:
            j = 1 - 3 / (4 * (n1 + n0) - 9)
            result.update(
                school_sd=round(pooled, 6),
                g=round(j * estimate["estimate"] / pooled, 6),
                g_ci_low=round(j * estimate["ci_low"] / pooled, 6),
                g_ci_high=round(j * estimate["ci_high"] / pooled, 6),
            )
    if pupil_sd:
        size = estimate["estimate"] / pupil_sd
        result.update(
            pupil_effect_size=round(size, 6),
            pupil_ci_low=round(estimate["ci_low"] / pupil_sd, 6),
            pupil_ci_high=round(estimate["ci_high"] / pupil_sd, 6),
            months=months_of_progress(size),
        )
    return result


# --- Multiple outcomes -------------------------------------------------------------------


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjusted p-values: sort ascending, multiply the i-th smallest (from 0) by
    m - i, carry the running maximum forward, cap at 1. An outcome is significant at 5% after
    correction when its adjusted p is below 0.05; this controls the chance of any false positive
    among the outcomes at 5%."""
    ordered = sorted(p_values.items(), key=lambda item: (item[1], item[0]))
    m, running, adjusted = len(ordered), 0.0, {}
    for i, (name, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - i) * p))
        adjusted[name] = running
    return adjusted


# --- Attrition, balanced panel, series breaks ----------------------------------------------


def attrition(panel: pd.DataFrame, *, matched: dict[int, int], years: list[int]) -> dict:
    """For each arm and year: schools in the matched sample, observed, missing. `matched` maps
    arm (1 participants, 0 comparison) to the number of schools matched into it. Overall and
    differential attrition are over the post-programme years (a school missing any of them)."""
    observed = panel.dropna(subset=["value"])
    rows = []
    for year in years:
        this = observed[observed["year"] == year]
        row = {"year": year, "post": bool(this["post"].max()) if len(this) else None}
        for arm, name in ((1, "participants"), (0, "comparison")):
            seen = int(this.loc[this["treated"] == arm, "school_id"].nunique())
            row[name] = {
                "matched": matched.get(arm, 0),
                "observed": seen,
                "missing": matched.get(arm, 0) - seen,
            }
        rows.append(row)
    post_years = sorted(observed.loc[observed["post"] == 1, "year"].unique())
    lost = {}
    for arm, name in ((1, "participants"), (0, "comparison")):
        schools = observed[observed["treated"] == arm]
        complete = schools[schools["year"].isin(post_years)].groupby("school_id")["year"].nunique()
        always = int((complete == len(post_years)).sum()) if post_years else 0
        total = matched.get(arm, 0)
        lost[name] = {
            "matched": total,
            "lost": total - always,
            "rate": round((total - always) / total, 4) if total else None,
        }
    rates = [lost[name]["rate"] for name in ("participants", "comparison")]
    differential = round(rates[0] - rates[1], 4) if None not in rates else None
    return {"rows": rows, "post": lost, "differential": differential}


def balanced(panel: pd.DataFrame) -> pd.DataFrame:
    """Only the schools observed in every year of the panel."""
    observed = panel.dropna(subset=["value"])
    years = observed["year"].nunique()
    counts = observed.groupby("school_id")["year"].nunique()
    return observed[observed["school_id"].isin(counts[counts == years].index)]


# Years from which a published series changed so that it cannot be compared with earlier years
# (docs/evaluation.md, "Series breaks"). No tables were published for 2019-20 and 2020-21.
SERIES_BREAKS: dict[str, list[tuple[int, str]]] = {
    "ks2_rwm_expected": [(2016, "new KS2 tests and the expected standard from 2015/16")],
    "ks2_science_ta": [(2016, "new KS2 teacher-assessment framework from 2015/16")],
    "ks4_progress8": [(2016, "Progress 8 is the headline measure from 2015/16")],
}
NO_TABLES = {2020: "no performance tables for 2019/20", 2021: "no performance tables for 2020/21"}


def comparable_years(outcome: str, *, baseline: int, years: list[int], breaks=None) -> tuple[list, list]:
    """The years on the baseline's side of every break of the outcome's series (a difference is
    never taken across a break), and the years left out with the reason."""
    breaks = SERIES_BREAKS.get(outcome, []) if breaks is None else breaks
    kept, dropped = [], []
    for year in sorted(years):
        reason = next(
            (
                f"series break in {start}: {why}"
                for start, why in breaks
                if (year >= start) != (baseline >= start)
            ),
            None,
        )
        if reason is None and year in NO_TABLES:
            reason = NO_TABLES[year]
        if reason:
            dropped.append({"year": year, "reason": reason})
        else:
            kept.append(year)
    return kept, dropped


# --- Dose and response (an association, not an effect) ------------------------------------


def dose_response(panel: pd.DataFrame, doses: dict[int, float]) -> dict:
    """Among participants: each school's change (mean after the start minus mean before) against
    its CPD hours, by least squares with standard errors clustered by unit; and the change by
    third of the dose, beside the comparison schools' change. Not causal: schools choose how
    much CPD they take, and whatever drives that may drive their results too."""
    observed = panel.dropna(subset=["value"])
    means = observed.groupby(["school_id", "post"])["value"].mean().unstack("post")
    if 0 not in means.columns or 1 not in means.columns:
        raise NotEstimable("Needs years before and after.")
    change = (means[1] - means[0]).dropna()
    info = observed.drop_duplicates("school_id").set_index("school_id")[["treated", "unit"]]
    frame = pd.DataFrame({"change": change}).join(info)
    frame["dose"] = [float(doses.get(int(school), 0.0)) for school in frame.index]
    participants, comparison = frame[frame["treated"] == 1], frame[frame["treated"] == 0]
    result = {
        "schools": len(participants),
        "comparison_change": round(float(comparison["change"].mean()), 6) if len(comparison) else None,
        "bands": [],
        "slope_per_10_hours": None,
    }
    if len(participants) >= 3 and participants["dose"].nunique() >= 2:
        bands = pd.qcut(participants["dose"].rank(method="first"), 3, labels=["lowest", "middle", "highest"])
        for label, group in participants.groupby(bands, observed=True):
            result["bands"].append(
                {
                    "band": str(label),
                    "schools": len(group),
                    "hours_low": round(float(group["dose"].min()), 1),
                    "hours_high": round(float(group["dose"].max()), 1),
                    "mean_change": round(float(group["change"].mean()), 6),
                }
            )
        clusters = participants["unit"].astype("category").cat.codes.to_numpy()
        x = sm.add_constant(participants["dose"].to_numpy(float) / 10.0)
        if np.unique(clusters).size >= 2:
            fit = sm.OLS(participants["change"].to_numpy(float), x).fit(
                cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
            )
            low, high = fit.conf_int(alpha=ALPHA)[1]
            result.update(
                slope_per_10_hours=round(float(fit.params[1]), 6),
                ci_low=round(float(low), 6),
                ci_high=round(float(high), 6),
                p_value=float(fit.pvalues[1]),
                clusters=int(np.unique(clusters).size),
            )
    return result
