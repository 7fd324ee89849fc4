"""Propensity-score matching of participating schools to comparison schools, and the balance table.

Pure functions on a pandas DataFrame (no database): evaluation.outcomes builds the frame, the
Celery task stores the result. The method, and why, is in docs/evaluation.md:

- exact match on phase (each phase is matched on its own);
- within a phase, a propensity score from scikit-learn's LogisticRegression on region, size
  (pupils), % FSM, Ofsted rating and the pre-programme value of the outcome;
- greedy 1:1 matching WITHOUT replacement inside a caliper of 0.2 standard deviations of the
  logit of the score ("Mahalanobis matching within propensity-score calipers", Rubin and Thomas
  2000): participants are taken hardest first (highest score); among the candidates inside the
  caliper, those in the same region with the same Ofsted rating are preferred (then the same
  region, then any), and of those the nearest on size, % FSM and the pre-programme outcome by
  Mahalanobis distance is chosen. The caliper keeps the propensity scores close; the distance
  inside it removes chance imbalance that a score alone leaves in small groups;
- participants with no candidate inside the caliper stay unmatched and are listed.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from portal import labels

NUMERIC = {"pupils": "Size (pupils)", "fsm": "% FSM", "baseline": "Pre-programme outcome"}
CATEGORICAL = {"region": "Region", "ofsted": "Ofsted rating"}
BALANCE_CATEGORICAL = {"phase": "Phase", **CATEGORICAL}  # phase is matched exactly
COLUMNS = ["school_id", "treated", "phase", *NUMERIC, *CATEGORICAL]
CALIPER_SD = 0.2
SMD_THRESHOLD = 0.1


@dataclass
class MatchResult:
    pairs: list[dict] = field(default_factory=list)  # participant, comparison, their scores
    unmatched: list[dict] = field(default_factory=list)  # participant, reason
    balance: list[dict] = field(default_factory=list)  # one row per variable (or category)
    method: dict = field(default_factory=dict)


def _prepare(frame: pd.DataFrame, numeric: dict[str, str] = NUMERIC) -> pd.DataFrame:
    columns = ["school_id", "treated", "phase", *numeric, *CATEGORICAL]
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"Matching frame lacks columns: {sorted(missing)}")
    frame = frame[columns].copy()
    frame["treated"] = frame["treated"].astype(bool)
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in CATEGORICAL:
        frame[column] = frame[column].fillna("").astype(str).replace("", "Unknown")
    frame["phase"] = frame["phase"].astype(str)
    return frame.reset_index(drop=True)


def _design(frame: pd.DataFrame, columns: dict[str, str] = NUMERIC) -> np.ndarray:
    """Standardised numeric covariates (missing size/FSM imputed with the phase median) and
    one-hot categories, for the propensity model."""
    numeric = frame[list(columns)].copy()
    numeric = numeric.fillna(numeric.median()).fillna(0.0)
    spread = numeric.std(ddof=0).replace(0, 1.0)
    numeric = (numeric - numeric.mean()) / spread
    dummies = pd.get_dummies(frame[list(CATEGORICAL)], drop_first=False, dtype=float)
    return np.hstack([numeric.to_numpy(), dummies.to_numpy()])


def _logit_scores(frame: pd.DataFrame, numeric: dict[str, str] = NUMERIC) -> tuple[np.ndarray, np.ndarray]:
    model = LogisticRegression(max_iter=1000, C=1.0)
    x = _design(frame, numeric)
    y = frame["treated"].to_numpy()
    model.fit(x, y)
    score = np.clip(model.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
    return score, np.log(score / (1 - score))


def _mahalanobis_inverse(numeric: np.ndarray) -> np.ndarray:
    cov = np.atleast_2d(np.cov(numeric, rowvar=False))
    return np.linalg.pinv(cov)


def _greedy_match(
    stratum: pd.DataFrame,
    score: np.ndarray,
    logit: np.ndarray,
    caliper: float,
    columns: dict[str, str] = NUMERIC,
):
    treated_mask = stratum["treated"].to_numpy()
    treated_idx, pool_idx = np.flatnonzero(treated_mask), np.flatnonzero(~treated_mask)
    pool_logit = logit[pool_idx]
    available = np.ones(len(pool_idx), dtype=bool)
    region, ofsted = stratum["region"].to_numpy(), stratum["ofsted"].to_numpy()
    pool_region, pool_ofsted = region[pool_idx], ofsted[pool_idx]
    numeric = stratum[list(columns)]
    numeric = numeric.fillna(numeric.median()).fillna(0.0).to_numpy()
    inverse = _mahalanobis_inverse(numeric)
    pool_numeric = numeric[pool_idx]
    school_ids = stratum["school_id"].to_numpy()
    pairs, unmatched = [], []
    for t in treated_idx[np.argsort(-score[treated_idx], kind="stable")]:
        inside = available & (np.abs(pool_logit - logit[t]) <= caliper)
        if not inside.any():
            reason = "no comparison school left" if not available.any() else "none within the caliper"
            unmatched.append({"school_id": int(school_ids[t]), "reason": reason})
            continue
        same_region = inside & (pool_region == region[t])
        same_both = same_region & (pool_ofsted == ofsted[t])
        choice_set = same_both if same_both.any() else (same_region if same_region.any() else inside)
        candidates = np.flatnonzero(choice_set)
        difference = pool_numeric[candidates] - numeric[t]
        distance = np.einsum("ij,jk,ik->i", difference, inverse, difference)
        best = candidates[np.argmin(distance)]
        available[best] = False
        c = pool_idx[best]
        pairs.append(
            {
                "participant": int(school_ids[t]),
                "comparison": int(school_ids[c]),
                "participant_score": float(score[t]),
                "comparison_score": float(score[c]),
            }
        )
    return pairs, unmatched


def _smd(treated: pd.Series, control: pd.Series, spread: float) -> float | None:
    if treated.empty or control.empty:
        return None
    if spread == 0 or np.isnan(spread):
        return 0.0 if np.isclose(treated.mean(), control.mean()) else None
    return float((treated.mean() - control.mean()) / spread)


def _pooled_sd(treated: pd.Series, control: pd.Series) -> float:
    return float(np.sqrt((treated.var(ddof=1) + control.var(ddof=1)) / 2))


def balance_table(
    frame: pd.DataFrame, *, matched_participants, comparison_ids, numeric: dict[str, str] = NUMERIC
) -> list[dict]:
    """Standardised mean differences of every matching variable, before matching (participants
    against every candidate) and after (matched participants against their comparison schools).
    The denominator is the pooled SD before matching, so the two columns are on one scale.
    Categories are shown one row per level, as proportions."""
    frame = _prepare(frame, numeric)
    treated_all = frame[frame["treated"]]
    control_all = frame[~frame["treated"]]
    after_treated = treated_all[treated_all["school_id"].isin(set(matched_participants))]
    after_control = control_all[control_all["school_id"].isin(set(comparison_ids))]
    rows = []
    for column, label in numeric.items():
        spread = _pooled_sd(treated_all[column].dropna(), control_all[column].dropna())
        rows.append(
            _balance_row(
                label,
                (treated_all[column].dropna(), control_all[column].dropna()),
                (after_treated[column].dropna(), after_control[column].dropna()),
                spread,
            )
        )
    for column, label in BALANCE_CATEGORICAL.items():
        for level in sorted(frame[column].unique()):
            p_t, p_c = (treated_all[column] == level).mean(), (control_all[column] == level).mean()
            spread = float(np.sqrt((p_t * (1 - p_t) + p_c * (1 - p_c)) / 2))
            rows.append(
                _balance_row(
                    f"{label}: {labels.label(level)}",
                    (
                        (treated_all[column] == level).astype(float),
                        (control_all[column] == level).astype(float),
                    ),
                    (
                        (after_treated[column] == level).astype(float),
                        (after_control[column] == level).astype(float),
                    ),
                    spread,
                )
            )
    return rows


def _balance_row(label, before_groups, after_groups, spread: float) -> dict:
    (t_before, c_before), (t_after, c_after) = before_groups, after_groups
    before, after = _smd(t_before, c_before, spread), _smd(t_after, c_after, spread)
    return {
        "variable": label,
        "participants_mean": _mean(t_before),
        "candidates_mean": _mean(c_before),
        "smd_before": _round(before),
        "matched_participants_mean": _mean(t_after),
        "comparison_mean": _mean(c_after),
        "smd_after": _round(after),
        "balanced": after is not None and abs(after) < SMD_THRESHOLD,
    }


def _mean(series: pd.Series) -> float | None:
    return None if series.empty else round(float(series.mean()), 4)


def _round(value):
    return None if value is None else round(value, 4)


def match(
    frame: pd.DataFrame,
    *,
    caliper_sd: float = CALIPER_SD,
    progress: Callable[[int, str], None] | None = None,
    extra_baselines: dict[str, str] | None = None,
) -> MatchResult:
    """Match the treated rows of `frame` (columns: COLUMNS) to untreated rows.

    `extra_baselines` adds earlier pre-programme values as covariates (column → label, e.g.
    {"baseline_2": "Outcome two years before"}); a school needs every one to be matched. Rows
    without a pre-programme outcome cannot be matched and are dropped (participants among
    them are listed as unmatched)."""
    numeric = {**NUMERIC, **(extra_baselines or {})}
    frame = _prepare(frame, numeric)
    result = MatchResult(
        method={
            "exact_on": ["phase"],
            "propensity_model": "scikit-learn LogisticRegression (L2, C=1)",
            "within_caliper": "same region and Ofsted rating preferred, then nearest by Mahalanobis distance",
            "covariates": [*CATEGORICAL.values(), *numeric.values()],
            "caliper_sd_of_logit": caliper_sd,
            "with_replacement": False,
            "ratio": "1:1",
        }
    )
    no_baseline = frame[["baseline", *(extra_baselines or {})]].isna().any(axis=1)
    for school_id in frame.loc[no_baseline & frame["treated"], "school_id"]:
        result.unmatched.append({"school_id": int(school_id), "reason": "no pre-programme outcome"})
    usable = frame[~no_baseline]
    phases = sorted(usable.loc[usable["treated"], "phase"].unique())
    for done, phase in enumerate(phases):
        stratum = usable[usable["phase"] == phase].reset_index(drop=True)
        if progress:
            progress(int(100 * done / max(len(phases), 1)), f"Matching {phase} schools")
        if stratum["treated"].all():
            for school_id in stratum["school_id"]:
                result.unmatched.append({"school_id": int(school_id), "reason": f"no {phase} candidates"})
            continue
        score, logit = _logit_scores(stratum, numeric)
        caliper = caliper_sd * float(np.std(logit, ddof=1))
        pairs, unmatched = _greedy_match(stratum, score, logit, caliper, numeric)
        result.pairs.extend(pairs)
        result.unmatched.extend(unmatched)
        result.method.setdefault("caliper_by_phase", {})[phase] = round(caliper, 4)
    result.balance = balance_table(
        usable,
        matched_participants=[pair["participant"] for pair in result.pairs],
        comparison_ids=[pair["comparison"] for pair in result.pairs],
        numeric=numeric,
    )
    result.method["participants"] = int(frame["treated"].sum())
    result.method["candidates"] = int((~frame["treated"]).sum())
    result.method["matched"] = len(result.pairs)
    return result
