"""Propensity-score matching: balance within 0.1 SMD on well-overlapping synthetic data, exact on
phase, 1:1 without replacement, and the caliper leaves out participants with no close match."""

import numpy as np
import pandas as pd
import pytest

from evaluation.demo_outcomes import synthetic_matching_frame
from evaluation.matching import SMD_THRESHOLD, balance_table, match
from portal import labels


@pytest.fixture(scope="module")
def frame():
    return synthetic_matching_frame(248, 6000, seed=11)


@pytest.fixture(scope="module")
def result(frame):
    return match(frame)


def test_groups_differ_before_matching(result):
    before = {row["variable"]: row["smd_before"] for row in result.balance}

    assert abs(before["% FSM"]) > 0.3
    assert abs(before["Pre-programme outcome"]) > 0.2


def test_every_matching_variable_is_within_0_1_smd_after_matching(result):
    after = {row["variable"]: row["smd_after"] for row in result.balance}

    assert after, "balance table is empty"
    assert all(abs(smd) < SMD_THRESHOLD for smd in after.values()), after
    assert all(row["balanced"] for row in result.balance)


def test_balance_table_covers_each_variable_and_category(result, frame):
    variables = {row["variable"] for row in result.balance}

    assert {"Size (pupils)", "% FSM", "Pre-programme outcome"} <= variables
    assert {f"Region: {labels.label(region)}" for region in frame["region"].unique()} <= variables
    assert {f"Ofsted rating: {labels.label(rating)}" for rating in frame["ofsted"].unique()} <= variables
    assert {f"Phase: {labels.label(phase)}" for phase in frame["phase"].unique()} <= variables


def test_nearly_all_participants_are_matched_on_well_overlapping_data(result):
    assert len(result.pairs) >= 0.98 * 248
    assert len(result.pairs) + len(result.unmatched) == 248


def test_each_comparison_school_is_used_once(result):
    comparisons = [pair["comparison"] for pair in result.pairs]

    assert len(comparisons) == len(set(comparisons))


def test_pairs_have_the_same_phase(result, frame):
    phase = dict(zip(frame["school_id"], frame["phase"], strict=True))

    assert all(phase[p["participant"]] == phase[p["comparison"]] for p in result.pairs)


def test_pairs_are_within_the_caliper(result):
    caliper = max(result.method["caliper_by_phase"].values())
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731

    assert all(
        abs(logit(p["participant_score"]) - logit(p["comparison_score"])) <= caliper + 1e-9
        for p in result.pairs
    )


def test_participants_unlike_any_candidate_stay_unmatched():
    frame = synthetic_matching_frame(40, 400, seed=12)
    frame = frame[frame["phase"] == "primary"].copy()
    outlier = frame.index[frame["treated"]][0]
    frame.loc[outlier, ["fsm", "baseline", "pupils"]] = [99.0, -50.0, 5000.0]

    result = match(frame)

    assert {"school_id": int(frame.loc[outlier, "school_id"]), "reason": "none within the caliper"} in (
        result.unmatched
    )


def test_participant_without_a_pre_programme_value_is_listed_not_matched():
    frame = synthetic_matching_frame(20, 300, seed=13)
    school = int(frame.loc[0, "school_id"])
    frame.loc[0, "baseline"] = np.nan

    result = match(frame)

    assert {"school_id": school, "reason": "no pre-programme outcome"} in result.unmatched
    assert school not in {p["participant"] for p in result.pairs}


def test_phase_without_candidates_is_reported():
    frame = synthetic_matching_frame(20, 300, seed=14)
    frame = frame[~((frame["phase"] == "secondary") & ~frame["treated"])]

    result = match(frame)

    assert {row["reason"] for row in result.unmatched} == {"no secondary candidates"}


def test_smd_is_zero_for_identical_groups():
    frame = pd.DataFrame(
        {
            "school_id": [1, 2, 3, 4],
            "treated": [True, True, False, False],
            "phase": ["primary"] * 4,
            "region": ["London", "Kent", "London", "Kent"],
            "ofsted": ["good"] * 4,
            "pupils": [100, 200, 100, 200],
            "fsm": [10.0, 20.0, 10.0, 20.0],
            "baseline": [50.0, 60.0, 50.0, 60.0],
        }
    )

    rows = balance_table(frame, matched_participants=[1, 2], comparison_ids=[3, 4])

    assert all(row["smd_before"] == 0 and row["smd_after"] == 0 for row in rows)
