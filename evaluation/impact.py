"""Difference-in-differences estimates with statsmodels (pure functions on a pandas panel).

The panel has one row per school and academic year: school_id, treated (1 participant, 0 matched
comparison school), year, value, post (1 for years after the programme started) and unit (the
partnership or cluster; a comparison school carries its matched participant's unit, so a matched
set is one cluster). The model is

    value ~ treated + C(year) + treated:post

(year fixed effects absorb the common trend, so `post` on its own is not needed); the coefficient
of treated:post is the estimate, with standard errors clustered by unit and a t distribution
with (number of units - 1) degrees of freedom for the 95% confidence interval.
"""

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf


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


def did_estimate(panel: pd.DataFrame) -> Estimate:
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
    clusters = panel["unit"].astype("category").cat.codes
    if clusters.nunique() < 2:
        raise NotEstimable("Needs at least two partnerships or clusters.")
    model = smf.ols("value ~ treated + C(year) + did", data=panel)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": clusters.to_numpy()}, use_t=True)
    low, high = fit.conf_int(alpha=0.05).loc["did"]
    if not np.isfinite([low, high, fit.bse["did"]]).all():
        raise NotEstimable("The outcome does not vary enough to estimate a confidence interval.")
    schools = panel.drop_duplicates("school_id")
    return Estimate(
        estimate=float(fit.params["did"]),
        ci_low=float(low),
        ci_high=float(high),
        std_error=float(fit.bse["did"]),
        p_value=float(fit.pvalues["did"]),
        schools=len(schools),
        participants=int(schools["treated"].sum()),
        comparison_schools=int((schools["treated"] == 0).sum()),
        clusters=int(clusters.nunique()),
        observations=len(panel),
    )


def reading(estimate: Estimate | dict, *, measure_label: str, unit: str = "points") -> str:
    """A plain-English reading of an estimate."""
    e = estimate if isinstance(estimate, dict) else estimate.as_dict()
    ci = f"95% confidence interval {e['ci_low']:+.2f} to {e['ci_high']:+.2f} {unit}"
    if e["ci_low"] <= 0 <= e["ci_high"]:
        return (
            f"No evidence of a difference in {measure_label}: participating schools changed by "
            f"{e['estimate']:+.2f} {unit} relative to their comparison schools, but the {ci} "
            "includes zero, so the data are consistent with no effect."
        )
    moved = "rose" if e["estimate"] > 0 else "fell"
    return (
        f"Evidence of a difference in {measure_label}: relative to their matched comparison schools, "
        f"participating schools' results {moved} by {abs(e['estimate']):.2f} {unit} ({ci}). This is "
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
