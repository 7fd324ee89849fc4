"""Fixtures shared by the evaluation tests: the evaluated 2014–16 cohort of test_impact_pages."""

from tests.evaluation.test_impact_pages import evaluated_cohort  # noqa: F401
