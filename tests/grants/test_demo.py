"""grants.demo.seed: every state in the open ENTHUSE cohort, made through the services, idempotent."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from grants import demo
from grants.models import Application, AuditEvent, Payment
from tests import factories

S = Application.Status


@pytest.fixture
def users(lead_alice, lead_bob, staff_carol, finance_fay, admin_dan):
    return {
        "lead_alice": lead_alice,
        "lead_bob": lead_bob,
        "staff_carol": staff_carol,
        "finance_fay": finance_fay,
        "admin_dan": admin_dan,
    }


@pytest.fixture
def open_enthuse(programme, school_a, lead_alice):
    cohort = factories.CohortFactory(
        programme=programme,
        budget=200_000,
        applications_open_at=timezone.now() - timedelta(days=5),
        applications_close_at=timezone.now() + timedelta(days=50),
    )
    factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    for i in range(32):
        factories.SchoolFactory(
            region="North East" if i % 2 else "South West", phase="secondary" if i % 5 else "primary"
        )
    return cohort


def test_seed_makes_an_application_in_every_state(users, open_enthuse):
    out = io.StringIO()

    demo.seed(users=users, stdout=out)

    states = set(Application.objects.filter(cohort=open_enthuse).values_list("status", flat=True))
    assert states == set(S.values)
    alices = Application.objects.get(partnership__lead_school__lead_links__user=users["lead_alice"])
    assert alices.status == S.DRAFT
    assert Payment.objects.filter(application__status=S.APPROVED).count() == 2
    assert set(Payment.objects.filter(application__status=S.COMPLETED).values_list("status", flat=True)) == {
        "paid",
        "released",
    }
    assert mail.outbox == []
    assert "completed" in out.getvalue()


def test_every_demo_partnership_has_at_least_five_confirmed_schools(users, open_enthuse):
    demo.seed(users=users, stdout=io.StringIO())

    for application in Application.objects.filter(cohort=open_enthuse).select_related("partnership"):
        assert application.partnership.memberships.filter(status="confirmed").count() >= 5


def test_seed_twice_changes_nothing(users, open_enthuse):
    demo.seed(users=users, stdout=io.StringIO())
    before = (Application.objects.count(), AuditEvent.objects.count(), Payment.objects.count())

    demo.seed(users=users, stdout=io.StringIO())

    assert (Application.objects.count(), AuditEvent.objects.count(), Payment.objects.count()) == before


def test_seed_without_an_open_cohort_says_so_and_makes_nothing(users, programme):
    out = io.StringIO()

    demo.seed(users=users, stdout=out)

    assert "skipped" in out.getvalue()
    assert not Application.objects.exists()


def test_seed_with_too_few_schools_stops_with_a_message(users, programme, school_a):
    cohort = factories.CohortFactory(programme=programme)
    factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    out = io.StringIO()

    demo.seed(users=users, stdout=out)

    assert "fewer than 5 free eligible schools" in out.getvalue()
    assert Application.objects.filter(status=S.DRAFT).count() == 1
