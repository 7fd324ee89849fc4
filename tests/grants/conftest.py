"""Fixtures for the grants tests: Alice's school leads a partnership of five confirmed schools
in an open cohort, and `application_in(state)` walks an application there through the services."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from grants import services
from grants.models import Application
from tests import factories

S = Application.Status

COMPLETE_TEXT = {
    "aims": "Raise attainment and confidence in primary science.",
    "local_stem_issue": "Few pupils in the town choose science after 16.",
    "planned_teacher_cpd": "Six twilight sessions on practical science.",
    "planned_student_activities": "A STEM fair and two ambassador visits.",
    "timeline": "Autumn: CPD. Spring: fair. Summer: review.",
    "declaration_accurate": True,
    "declaration_state_funded": True,
    "declaration_data_sharing": True,
}
REQUESTED = Decimal("5000.00")
AWARD = Decimal("4000.00")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The review queue caches the register's regions; each test starts without it."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partnership(cohort, school_a, lead_alice):
    return factories.PartnershipFactory(
        cohort=cohort, lead_school=school_a, partners=4, name="Blackpool Science"
    )


@pytest.fixture
def partner_lead(partnership):
    """A lead of one of the partner schools: sees the application, may not write it."""
    user = factories.LeadFactory(username="lead_pat")
    school = partnership.memberships.filter(role="partner").first().school
    factories.link_lead(user, school)
    return user


@pytest.fixture
def other_staff(db):
    user = factories.StaffFactory(username="staff_erin")
    factories.ProgrammeFactory(name="Aspire to STEM", slug="aspire-to-stem").staff.add(user)
    return user


@pytest.fixture
def conflicted_staff(programme, partnership):
    """Programme staff who also acts for a partner school."""
    user = factories.StaffFactory(username="staff_connie")
    programme.staff.add(user)
    school = partnership.memberships.filter(role="partner").last().school
    factories.link_lead(user, school)
    return user


@pytest.fixture
def draft(partnership, lead_alice):
    return services.application_start(partnership_id=partnership.pk, by=lead_alice)


def complete(application, lead, amount=REQUESTED):
    return services.application_save_draft(
        application_id=application.pk,
        by=lead,
        fields=COMPLETE_TEXT,
        budget_lines=[{"category": "supply_cover", "amount": amount, "note": "Cover for CPD days"}],
    )


def accept_agreement(application, lead):
    from grants import agreements

    agreement = application.agreement if hasattr(application, "agreement") else None
    version = (
        agreement.terms_version
        if agreement
        else Application.objects.get(pk=application.pk).agreement.terms_version
    )
    return agreements.agreement_accept(
        application_id=application.pk,
        by=lead,
        signed_name="Alice Lead",
        signed_role="Headteacher",
        terms_version=version,
        confirmed=True,
    )


@pytest.fixture
def application_in(draft, lead_alice, staff_carol, finance_fay):
    """Walk the draft to `state` through the services, as people would (a draft is complete,
    ready to submit). With `released`, an approved grant's agreement is accepted and finance
    releases its first instalment (issue 19: nothing is released at approval any more)."""

    def walk(state, *, released=False):
        a = draft
        complete(a, lead_alice)
        if state == S.DRAFT:
            return Application.objects.get(pk=a.pk)
        if state == S.WITHDRAWN:
            services.application_withdraw(application_id=a.pk, by=lead_alice)
            return Application.objects.get(pk=a.pk)
        services.application_submit(application_id=a.pk, by=lead_alice)
        if state == S.CHANGES_REQUESTED:
            services.application_request_changes(application_id=a.pk, by=staff_carol, comment="More detail.")
        elif state == S.REJECTED:
            services.application_reject(application_id=a.pk, by=staff_carol, reason="Out of scope.")
        elif state in (S.APPROVED, S.COMPLETED):
            services.application_approve(application_id=a.pk, by=staff_carol, amount=AWARD)
            if released or state == S.COMPLETED:
                from grants import payments

                accept_agreement(a, lead_alice)
                payments.payment_release(payment_id=a.payments.get(sequence=1).pk, by=finance_fay)
            if state == S.COMPLETED:
                submit_report(a, lead_alice)
                services.report_accept(application_id=a.pk, by=staff_carol)
        return Application.objects.get(pk=a.pk)

    return walk


def submit_report(application, lead):
    activity = factories.CPDActivityFactory(partnership=application.partnership)
    services.report_save(
        application_id=application.pk,
        by=lead,
        teachers_reached=12,
        students_reached=240,
        outcomes="Teachers ran more practical lessons.",
        barriers=["time"],
        facilitators=["leadership_support"],
        activity_ids=[activity.pk],
        spend={"supply_cover": Decimal("3900.00")},
        explanations={"supply_cover": "One CPD day was run after school, with no cover needed."},
    )
    return services.report_submit(application_id=application.pk, by=lead)
