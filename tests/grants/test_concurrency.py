"""Race-safety of decisions on real PostgreSQL, with threads released together by a barrier."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from grants import services
from grants.models import Application, AuditEvent, Payment
from grants.selectors import cohort_budget
from tests import factories

AWARD = Decimal("3000.00")


def submitted_application(cohort) -> Application:
    application = factories.ApplicationFactory(
        partnership=factories.PartnershipFactory(cohort=cohort, partners=4),
        status=Application.Status.SUBMITTED,
        requested=AWARD,
        reference=None,
    )
    factories.BudgetLineFactory(application=application, amount=AWARD)
    return application


def run_together(calls):
    """Run each call in its own thread (own database connection), all released at once."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[index] = "approved"
        except ValidationError as exc:
            outcomes[index] = exc.messages[0]
        except Exception as exc:  # a deadlock or serialisation error would show here
            outcomes[index] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_approvals_against_a_budget_for_n_minus_1_approve_exactly_n_minus_1(cohort, staff_carol):
    n = 6
    cohort.budget = AWARD * (n - 1)
    cohort.save()
    applications = [submitted_application(cohort) for _ in range(n)]

    outcomes = run_together(
        [
            lambda a=a: services.application_approve(application_id=a.pk, by=staff_carol, amount=AWARD)
            for a in applications
        ]
    )

    assert outcomes.count("approved") == n - 1, outcomes
    refused = [o for o in outcomes if o != "approved"]
    assert refused == ["Only £0.00 is left in this cohort's budget."]
    budget = cohort_budget(cohort)
    assert budget.awarded == cohort.budget
    assert budget.remaining == Decimal("0.00")
    assert Application.objects.filter(cohort=cohort, status="approved").count() == n - 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_approving_the_same_application_at_once_award_once(cohort, staff_carol, admin_dan):
    application = submitted_application(cohort)

    outcomes = run_together(
        [
            lambda: services.application_approve(application_id=application.pk, by=staff_carol, amount=AWARD),
            lambda: services.application_approve(application_id=application.pk, by=admin_dan, amount=AWARD),
        ]
    )

    assert outcomes == ["approved", "approved"]  # the second finds it approved and changes nothing
    assert AuditEvent.objects.filter(application=application, action="approved").count() == 1
    assert Payment.objects.filter(application=application).count() == 2
    assert cohort_budget(cohort).awarded == AWARD


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_panels_deciding_at_once_never_exceed_the_cohort_budget(cohort, staff_carol, admin_dan):
    """Three panels at once, overlapping and in different orders, each funding three
    applications of £3,000 against a budget of £9,000: exactly one panel's decisions stand
    (all or none), none deadlocks, and the total awarded never passes the budget."""
    from grants import review

    cohort.budget = AWARD * 3
    cohort.save()
    apps = [submitted_application(cohort) for _ in range(6)]
    sets = [apps[0:3], apps[3:6][::-1], [apps[5], apps[1], apps[3]]]

    outcomes = run_together(
        [
            lambda chosen=chosen, who=who: review.panel_decide(
                cohort_id=cohort.pk, by=who, decisions=[(a.pk, "approve", AWARD) for a in chosen]
            )
            for chosen, who in zip(sets, [staff_carol, admin_dan, staff_carol], strict=True)
        ]
    )

    assert outcomes.count("approved") == 1, outcomes
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    budget = cohort_budget(cohort)
    assert budget.awarded == AWARD * 3
    assert budget.remaining == Decimal("0.00")
    assert Application.objects.filter(cohort=cohort, status="approved").count() == 3
