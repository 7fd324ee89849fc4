"""The summary task and its triggers: idempotent builds, failures that keep the previous
summary, the debounced on-commit queueing, a broker that is down, the nightly rebuild, and
a decision travelling through Redis to a real worker."""

import time
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, transaction
from django.utils import timezone

from evaluation import summaries, tasks
from evaluation.models import CohortSummary
from grants.models import Payment
from partnerships.models import Membership
from tests import factories
from tests.conftest import broker_at

# --- Building -------------------------------------------------------------------------------


def test_running_the_task_twice_gives_the_same_row(db, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")

    tasks.build_cohort_summary.delay(cohort.pk)
    first = CohortSummary.objects.get(cohort=cohort)
    tasks.build_cohort_summary.delay(cohort.pk)
    second = CohortSummary.objects.get(cohort=cohort)

    assert CohortSummary.objects.filter(cohort=cohort).count() == 1
    assert second.pk == first.pk
    assert {k: v for k, v in second.data.items() if k != "built_at"} == {
        k: v for k, v in first.data.items() if k != "built_at"
    }
    assert second.built_at >= first.built_at


def test_a_build_stores_the_figures_and_marks_the_summary_ready(db, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")

    tasks.build_cohort_summary.delay(cohort.pk)

    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.state == CohortSummary.State.READY
    assert summary.data["schools"] == 5
    assert summary.built_at.isoformat() == summary.data["built_at"]
    assert summary.error == ""


def test_a_build_for_a_cohort_that_no_longer_exists_does_nothing(db):
    assert tasks.build_cohort_summary.delay(987654).get() is None
    assert not CohortSummary.objects.exists()


def test_a_failed_build_keeps_the_previous_summary_and_records_the_error(db, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    tasks.build(cohort.pk)
    before = CohortSummary.objects.get(cohort=cohort)
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")

    with (
        mock.patch.object(summaries, "compute", side_effect=ValueError("bad figure")),
        pytest.raises(ValueError),
    ):
        tasks.build_cohort_summary.delay(cohort.pk)

    after = CohortSummary.objects.get(cohort=cohort)
    assert after.state == CohortSummary.State.FAILED
    assert "bad figure" in after.error
    assert after.data == before.data
    assert after.built_at == before.built_at


def test_a_build_stopped_by_its_time_limit_leaves_the_previous_complete_summary(db, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    tasks.build(cohort.pk)
    before = CohortSummary.objects.get(cohort=cohort)

    def slow_then_killed(cohort_id):
        CohortSummary.objects.filter(cohort_id=cohort_id).update(data={"half": "written"})
        raise SoftTimeLimitExceeded()

    with (
        mock.patch.object(summaries, "compute", side_effect=slow_then_killed),
        pytest.raises(SoftTimeLimitExceeded),
    ):
        tasks.build_cohort_summary.delay(cohort.pk)

    after = CohortSummary.objects.get(cohort=cohort)
    assert after.data == before.data  # the half-written figures were rolled back
    assert after.built_at == before.built_at
    assert after.state == CohortSummary.State.FAILED
    assert "time limit" in after.error


def test_a_database_error_is_retried_and_the_retry_builds_the_summary(db, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    real_compute = summaries.compute
    calls = []

    def flaky(cohort_id):
        calls.append(cohort_id)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_compute(cohort_id)

    with mock.patch.object(summaries, "compute", side_effect=flaky):
        tasks.build_cohort_summary.apply(args=(cohort.pk,), throw=False)
        failed = CohortSummary.objects.get(cohort=cohort)
        assert failed.state == CohortSummary.State.QUEUED  # left queued for the sweep, no countdown
        assert "will retry" in failed.error
        assert failed not in tasks.lost_or_stale()  # not before QUEUED_EXPIRES

        later = timezone.now() + tasks.QUEUED_EXPIRES + timedelta(seconds=1)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert failed in tasks.lost_or_stale()
            tasks.sweep_summaries.delay()

    assert len(calls) == 2
    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.state == CohortSummary.State.READY
    assert summary.data["schools"] == 5


def test_the_task_is_late_acknowledged_time_limited_and_never_retried_with_a_countdown():
    task = tasks.build_cohort_summary

    assert task.acks_late is True
    assert task.time_limit
    assert task.soft_time_limit
    assert task.soft_time_limit < task.time_limit
    assert not getattr(task, "autoretry_for", ())  # a retry is an ETA message: retried by the sweep


# --- Queueing: debounced, on commit ---------------------------------------------------------


@pytest.fixture
def queued():
    """Replace sending to the broker with a recorder."""
    with mock.patch.object(tasks.build_cohort_summary, "apply_async") as apply_async:
        yield apply_async


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_twenty_changes_queues_one_rebuild_without_a_countdown(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort)
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(state="ready", queued_at=None)

    for _ in range(20):  # twenty separate transactions
        factories.MembershipFactory(partnership=partnership)

    assert queued.call_count == 1
    assert queued.call_args.args == ((cohort.pk,),)
    assert "countdown" not in queued.call_args.kwargs
    assert "eta" not in queued.call_args.kwargs
    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.state == CohortSummary.State.QUEUED
    assert summary.source_changed_at >= summary.queued_at


@pytest.mark.django_db(transaction=True)
def test_twenty_changes_in_one_transaction_queue_one_rebuild_after_commit(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort)
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(state="ready", queued_at=None)

    with transaction.atomic():
        for _ in range(20):
            factories.MembershipFactory(partnership=partnership)
        assert queued.call_count == 0  # nothing before commit

    assert queued.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_queues_nothing(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort)
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(state="ready", queued_at=None)

    def change_then_fail():
        with transaction.atomic():
            factories.MembershipFactory(partnership=partnership)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        change_then_fail()

    assert queued.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_a_change_while_a_rebuild_runs_queues_another(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort)
    CohortSummary.objects.filter(cohort=cohort).update(state="running", started_at=timezone.now())
    queued.reset_mock()

    factories.MembershipFactory(partnership=partnership)

    assert queued.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_queued_rebuild_that_never_started_is_queued_again_after_it_expires(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort)
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(
        state="queued", queued_at=timezone.now() - tasks.QUEUED_EXPIRES + timedelta(seconds=30)
    )
    factories.MembershipFactory(partnership=partnership)
    assert queued.call_count == 0  # still waiting for the queued one

    CohortSummary.objects.filter(cohort=cohort).update(
        queued_at=timezone.now() - tasks.QUEUED_EXPIRES - timedelta(seconds=1)
    )
    factories.MembershipFactory(partnership=partnership)

    assert queued.call_count == 1


@pytest.mark.parametrize(
    "change",
    [
        "membership",
        "cluster_membership",
        "activity",
        "cluster_activity",
        "feedback",
        "application",
        "payment",
    ],
)
@pytest.mark.django_db(transaction=True)
def test_each_kind_of_change_marks_its_own_cohort_stale(change, queued):
    cohort, other = factories.CohortFactory(), factories.CohortFactory()
    factories.PartnershipFactory(cohort=other, partners=1, status="active")
    partnership = factories.PartnershipFactory(cohort=cohort)
    cluster = factories.ClusterFactory(cohort=cohort)
    activity = factories.CPDActivityFactory(partnership=partnership)
    application = factories.ApplicationFactory(
        partnership=partnership, status="approved", requested=Decimal("5000"), awarded=Decimal("5000")
    )
    queued.reset_mock()
    CohortSummary.objects.update(state="ready", queued_at=None, source_changed_at=None)
    make = {
        "membership": lambda: factories.MembershipFactory(partnership=partnership),
        "cluster_membership": lambda: factories.ClusterMembershipFactory(cluster=cluster),
        "activity": lambda: factories.CPDActivityFactory(partnership=partnership),
        "cluster_activity": lambda: factories.CPDActivityFactory(partnership=None, cluster=cluster),
        "feedback": lambda: factories.FeedbackFactory(activity=activity),
        "application": lambda: application.save(),
        "payment": lambda: Payment.objects.create(
            application=application, sequence=1, amount=Decimal("5000"), trigger="on_approval"
        ),
    }

    make[change]()

    assert CohortSummary.objects.get(cohort=cohort).source_changed_at is not None
    assert CohortSummary.objects.get(cohort=other).source_changed_at is None
    assert queued.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_deleting_a_membership_marks_the_cohort_stale(cohort, queued):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=1, status="active")
    CohortSummary.objects.update(state="ready", queued_at=None, source_changed_at=None)

    Membership.objects.filter(role="partner").delete()

    assert CohortSummary.objects.get(cohort=cohort).source_changed_at is not None
    assert partnership.memberships.count() == 1


# --- A broker that is down ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_change_is_saved_and_the_summary_marked_stale(cohort, caplog):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=4, status="active")  # built eagerly
    before = CohortSummary.objects.get(cohort=cohort)
    assert before.state == CohortSummary.State.READY

    started = time.monotonic()
    with broker_at("redis://127.0.0.1:9/0"):  # nothing listens on port 9
        membership = factories.MembershipFactory(partnership=partnership)

    assert time.monotonic() - started < 15
    assert Membership.objects.filter(pk=membership.pk).exists()
    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.source_changed_at > summary.built_at  # stale
    assert summary.data == before.data
    assert summary.state == CohortSummary.State.READY  # not left "queued" for a message never sent
    assert summary.queued_at is None
    assert "could not be queued" in summary.error
    assert "broker unavailable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_after_the_broker_comes_back_the_next_change_rebuilds(cohort):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    with broker_at("redis://127.0.0.1:9/0"):
        factories.MembershipFactory(partnership=partnership)

    factories.MembershipFactory(partnership=partnership)  # eager again: "broker" back

    summary = CohortSummary.objects.get(cohort=cohort)
    assert summary.data["schools"] == 7
    assert summary.error == ""
    assert summary.built_at >= summary.source_changed_at


# --- Nightly ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_nightly_rebuild_queues_running_open_and_stale_cohorts_only(programme, queued):
    today = timezone.localdate()
    long_ago = timezone.now() - timedelta(days=3000)
    past = {"starts_on": date(2014, 9, 1), "ends_on": date(2016, 8, 31)}
    window = {"applications_open_at": long_ago, "applications_close_at": long_ago + timedelta(days=60)}
    running = factories.CohortFactory(programme=programme, starts_on=today - timedelta(days=10), **window)
    future = factories.CohortFactory(programme=programme, starts_on=today + timedelta(days=100), **window)
    ended_fresh = factories.CohortFactory(programme=programme, **past, **window)
    ended_stale = factories.CohortFactory(programme=programme, **past, **window)
    ended_never_built = factories.CohortFactory(programme=programme, **past, **window)
    for cohort in (running, future, ended_fresh, ended_stale):
        tasks.build(cohort.pk)
    CohortSummary.objects.filter(cohort=ended_stale).update(source_changed_at=timezone.now())
    queued.reset_mock()

    count = tasks.rebuild_open_cohorts.delay().get()

    sent = sorted(call.args[0][0] for call in queued.call_args_list)
    assert sent == sorted([running.pk, future.pk, ended_stale.pk, ended_never_built.pk])
    assert count == 4
    assert not any("countdown" in call.kwargs or "eta" in call.kwargs for call in queued.call_args_list)


def test_beat_schedule_names_the_nightly_task():
    from portal.celery import app

    names = {entry["task"] for entry in app.conf.beat_schedule.values()}

    assert tasks.rebuild_open_cohorts.name in names


# --- Through a real worker on Redis -------------------------------------------------------


def wait_for(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, "the worker never rebuilt the summary"
        time.sleep(0.2)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_decision_leads_to_a_rebuilt_summary_through_a_real_worker(celery_worker, cohort, settings):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=4, status="active")

    wait_for(lambda: CohortSummary.objects.filter(cohort=cohort, state="ready", data__schools=5).exists())
    first = CohortSummary.objects.get(cohort=cohort)
    assert first.data["awarded"] == "0.00"

    factories.ApplicationFactory(
        partnership=partnership, status="approved", requested=Decimal("12000.00"), awarded=Decimal("11500.00")
    )

    rebuilt = wait_for(
        lambda: CohortSummary.objects.filter(cohort=cohort, state="ready", data__awarded="11500.00").first()
    )
    assert rebuilt.built_at > first.built_at
    assert rebuilt.built_at >= rebuilt.source_changed_at


# --- Lost rebuilds: the sweep and "Rebuild now" -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_sweep_requeues_a_rebuild_whose_message_was_lost(cohort, queued):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    queued.reset_mock()
    long_ago = timezone.now() - tasks.QUEUED_EXPIRES - timedelta(seconds=1)
    CohortSummary.objects.filter(cohort=cohort).update(state="queued", queued_at=long_ago)

    assert tasks.sweep_summaries.delay().get() == 1

    assert queued.call_count == 1
    assert CohortSummary.objects.get(cohort=cohort).queued_at > long_ago


@pytest.mark.django_db(transaction=True)
def test_the_sweep_requeues_a_rebuild_whose_worker_died_mid_build(cohort, queued, settings):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    queued.reset_mock()
    started = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 61)
    CohortSummary.objects.filter(cohort=cohort).update(state="running", started_at=started)

    tasks.sweep_summaries.delay()

    assert queued.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_requeues_a_stale_summary_nobody_could_queue_and_leaves_fresh_ones(cohort, queued):
    fresh = factories.CohortFactory(programme=cohort.programme)
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    factories.PartnershipFactory(cohort=fresh, partners=4, status="active")
    tasks.build(cohort.pk)
    tasks.build(fresh.pk)
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(
        state="ready", queued_at=None, source_changed_at=timezone.now() + timedelta(seconds=5)
    )
    CohortSummary.objects.filter(cohort=fresh).update(state="ready", queued_at=None)

    tasks.sweep_summaries.delay()

    assert [call.args[0][0] for call in queued.call_args_list] == [cohort.pk]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_a_rebuild_queued_a_moment_ago(cohort, queued):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    queued.reset_mock()
    CohortSummary.objects.filter(cohort=cohort).update(state="queued", queued_at=timezone.now())

    tasks.sweep_summaries.delay()

    assert queued.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_rebuild_now_requeues_a_queued_rebuild_whose_task_was_lost_at_once(cohort, queued):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    queued.reset_mock()
    lost = timezone.now() - tasks.FORCE_GRACE - timedelta(seconds=1)  # long before it would expire
    CohortSummary.objects.filter(cohort=cohort).update(state="queued", queued_at=lost)

    assert tasks.queue_rebuild(cohort.pk, mark_changed=False) == tasks.ALREADY_QUEUED
    assert tasks.queue_rebuild(cohort.pk, mark_changed=False, force=True) == tasks.QUEUED
    assert queued.call_count == 1


def test_publishing_a_task_with_an_eta_is_logged_as_an_error():
    from portal.celery import refuse_eta

    with mock.patch("portal.celery.log.error") as logged:
        refuse_eta(sender="evaluation.tasks.build_cohort_summary", headers={"eta": "2026-12-01T10:00:00"})
        refuse_eta(sender="messaging.tasks.deliver", headers={"eta": None})

    assert logged.call_count == 1
    assert logged.call_args.args[1] == "evaluation.tasks.build_cohort_summary"


def test_no_task_of_ours_is_sent_with_a_countdown_or_retried_with_one():
    """The rule that keeps the worker alive through a Redis blip, read from the source."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"countdown\s*=|\beta\s*=|retry_backoff|autoretry_for|self\.retry\(")
    allowed: set[str] = set()
    offenders = []
    for path in root.glob("*/**/*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "tests/", "benchmarks/")) or relative in allowed:
            continue
        if pattern.search(path.read_text()):
            offenders.append(relative)
    assert offenders == []
