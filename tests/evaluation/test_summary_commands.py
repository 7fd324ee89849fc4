"""build_cohort_summaries and cohort_summary."""

import io
import json
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evaluation import tasks
from evaluation.models import CohortSummary
from tests import factories


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def two_cohorts(programme):
    first, second = factories.CohortFactory(programme=programme), factories.CohortFactory(programme=programme)
    factories.PartnershipFactory(cohort=first, partners=4, status="active")
    factories.PartnershipFactory(cohort=second, partners=5, status="active")
    return first, second


def test_build_sync_builds_every_cohort_in_process(two_cohorts):
    with mock.patch.object(tasks.build_cohort_summary, "apply_async") as queued:
        output = run("build_cohort_summaries", sync=True)

    assert queued.call_count == 0
    assert CohortSummary.objects.filter(state="ready").count() == 2
    assert "5 schools" in output
    assert "6 schools" in output


def test_build_sync_with_cohort_builds_only_that_one(two_cohorts):
    first, second = two_cohorts

    run("build_cohort_summaries", cohort=first.pk, sync=True)

    assert CohortSummary.objects.get(cohort=first).built_at is not None
    assert not CohortSummary.objects.filter(cohort=second, built_at__isnull=False).exists()


def test_build_without_sync_queues_one_task_per_cohort(two_cohorts):
    with mock.patch.object(tasks.build_cohort_summary, "apply_async") as queued:
        output = run("build_cohort_summaries")

    assert sorted(call.args[0][0] for call in queued.call_args_list) == sorted(c.pk for c in two_cohorts)
    assert output.count(": queued") == 2


def test_build_unknown_cohort_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no cohort with id 424242"):
        run("build_cohort_summaries", cohort=424242)


def test_cohort_summary_json_prints_the_stored_summary(two_cohorts):
    first, _ = two_cohorts
    run("build_cohort_summaries", cohort=first.pk, sync=True)

    printed = json.loads(run("cohort_summary", cohort=first.pk, json=True))

    stored = CohortSummary.objects.get(cohort=first)
    assert {"partnerships", "schools", "primary", "secondary", "awarded", "built_at"} <= set(printed)
    assert printed["partnerships"] == 1
    assert printed["schools"] == 5
    assert printed["built_at"] == stored.built_at.isoformat()
    assert printed["stale"] is False


def test_cohort_summary_json_says_when_the_data_changed_since(two_cohorts):
    first, _ = two_cohorts
    run("build_cohort_summaries", cohort=first.pk, sync=True)
    CohortSummary.objects.filter(cohort=first).update(source_changed_at=timezone.now())

    assert json.loads(run("cohort_summary", cohort=first.pk, json=True))["stale"] is True


def test_cohort_summary_text_lists_the_headlines(two_cohorts):
    first, _ = two_cohorts
    run("build_cohort_summaries", cohort=first.pk, sync=True)

    output = run("cohort_summary", cohort=first.pk)

    assert "Schools" in output
    assert "built at" in output


def test_cohort_summary_for_an_unknown_cohort_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no cohort with id 424242"):
        run("cohort_summary", cohort=424242, json=True)


def test_cohort_summary_before_any_build_says_how_to_build_one(cohort):
    CohortSummary.objects.create(cohort=cohort)  # a row queued but never built

    with pytest.raises(CommandError, match=r"no summary yet.*build_cohort_summaries"):
        run("cohort_summary", cohort=cohort.pk, json=True)
