"""The minimum of schools and completed partnerships, as the database itself enforces them
(grants/migrations/0004_minimum_schools_triggers.py), and approval re-checking the minimum
under the partnership's lock while another transaction changes the count."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from grants import services
from grants.models import Application
from partnerships.models import Membership, Partnership, School
from tests import factories

pytestmark = pytest.mark.postgres


def five_school_application(cohort, status, **extra):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=4)
    return factories.ApplicationFactory(partnership=partnership, status=status, **extra)


def a_partner(application):
    return application.partnership.memberships.filter(role=Membership.Role.PARTNER).first()


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_the_database_refuses_deleting_a_member_below_the_minimum(cohort, status):
    application = five_school_application(cohort, status, awarded="10.00", requested="10.00")

    with pytest.raises(IntegrityError, match="membership_keeps_minimum"), transaction.atomic():
        Membership.objects.filter(pk=a_partner(application).pk).delete()


def test_the_database_refuses_unconfirming_a_member_below_the_minimum(cohort):
    application = five_school_application(cohort, "submitted")

    with pytest.raises(IntegrityError, match="membership_keeps_minimum"), transaction.atomic():
        Membership.objects.filter(pk=a_partner(application).pk).update(status="declined")


def test_the_database_allows_removing_a_member_of_a_draft(cohort):
    application = five_school_application(cohort, "draft")

    Membership.objects.filter(pk=a_partner(application).pk).delete()

    assert application.partnership.memberships.count() == 4


def test_the_database_refuses_approving_with_four_schools(cohort):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=3)
    application = factories.ApplicationFactory(partnership=partnership, status="submitted", requested="10.00")

    with pytest.raises(IntegrityError, match="application_approved_has_minimum"), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(status="approved", awarded="10.00")


def test_the_database_allows_approving_with_five_schools(cohort):
    application = five_school_application(cohort, "submitted", requested="10.00")

    Application.objects.filter(pk=application.pk).update(status="approved", awarded="10.00")


def test_the_database_keeps_a_completed_partnership_read_only(cohort):
    application = five_school_application(cohort, "completed", awarded="10.00", requested="10.00")
    partnership = application.partnership

    with pytest.raises(IntegrityError, match="partnership_completed_read_only"), transaction.atomic():
        Membership.objects.filter(partnership=partnership, role="partner").delete()
    with pytest.raises(IntegrityError, match="partnership_completed_read_only"), transaction.atomic():
        Membership.objects.filter(partnership=partnership, role="partner").update(status="declined")
    Partnership.objects.filter(pk=partnership.pk).update(status="completed")
    with pytest.raises(IntegrityError, match="partnership_completed_read_only"), transaction.atomic():
        Partnership.objects.filter(pk=partnership.pk).update(status="active")
    Partnership.objects.filter(pk=partnership.pk).update(created_by=None)  # an account deleted: allowed


@pytest.mark.django_db(transaction=True)
def test_approval_rechecks_the_minimum_under_the_lock_while_a_school_closes(cohort):
    """Staff approve while another transaction holds the partnership and closes a member school:
    the approval waits for the lock, counts again, and refuses."""
    application = five_school_application(cohort, "submitted", requested="1000.00")
    staff = factories.StaffFactory()
    cohort.programme.staff.add(staff)
    closing = a_partner(application).school_id
    locked, outcome = threading.Event(), {}

    def close_a_school():
        try:
            with transaction.atomic():
                Partnership.objects.select_for_update().get(pk=application.partnership_id)
                School.objects.filter(pk=closing).update(is_open=False)
                locked.set()
                time.sleep(0.5)  # the approval is queued behind this lock meanwhile
        finally:
            connection.close()

    def approve():
        locked.wait(5)
        try:
            services.application_approve(application_id=application.pk, by=staff, amount="1000.00")
            outcome["approve"] = "approved"
        except ValidationError as exc:
            outcome["approve"] = " ".join(exc.messages)
        finally:
            connection.close()

    threads = [threading.Thread(target=close_a_school), threading.Thread(target=approve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    application.refresh_from_db()
    assert "cannot be approved" in outcome["approve"]
    assert application.status == "submitted"
    assert not application.payments.exists()


@pytest.mark.django_db(transaction=True)
def test_a_removal_and_an_approval_at_once_never_leave_an_approved_four_school_partnership(cohort):
    application = five_school_application(cohort, "submitted", requested="1000.00")
    staff = factories.StaffFactory()
    cohort.programme.staff.add(staff)
    lead = factories.LeadFactory()
    factories.link_lead(lead, application.partnership.lead_school)
    member = a_partner(application)
    barrier = threading.Barrier(2)
    outcomes = []

    def run(work):
        try:
            barrier.wait()
            work()
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    from partnerships.services import membership_remove

    threads = [
        threading.Thread(target=run, args=[lambda: membership_remove(membership=member, by=lead)]),
        threading.Thread(
            target=run,
            args=[
                lambda: services.application_approve(
                    application_id=application.pk, by=staff, amount="1000.00"
                )
            ],
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    application.refresh_from_db()
    confirmed = application.partnership.memberships.filter(status="confirmed").count()
    assert confirmed >= 5 or application.status != "approved"
    assert sorted(outcomes) == ["ok", "refused"]  # the removal is refused while submitted or approved
    assert confirmed == 5
