from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from partnerships.eligibility import shortfall
from partnerships.models import Funding, Membership, Partnership, Phase, Programme
from partnerships.services import membership_invite, membership_remove, membership_respond, partnership_create
from tests.factories import (
    CohortFactory,
    LeadFactory,
    MembershipFactory,
    PartnershipFactory,
    SchoolFactory,
    link_lead,
)


def create(cohort, school, by, **extra):
    return partnership_create(
        cohort=cohort,
        lead_school=school,
        name=extra.get("name", "Fylde Coast STEM"),
        local_stem_issue="Few pupils choose triple science.",
        by=by,
    )


def lead_of(school):
    user = LeadFactory()
    link_lead(user, school)
    return user


# --- partnership_create ---------------------------------------------------------------


def test_lead_creates_partnership_with_its_school_as_confirmed_lead(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)

    lead = partnership.memberships.get()
    assert (lead.school, lead.role, lead.status) == (school_a, "lead", "confirmed")
    assert partnership.created_by == lead_alice


def test_lead_cannot_create_partnership_for_another_school(cohort, lead_alice, school_b):
    with pytest.raises(PermissionDenied):
        create(cohort, school_b, lead_alice)


def test_closed_cohort_refuses_a_new_partnership(programme, lead_alice, school_a):
    closed = CohortFactory(
        programme=programme,
        applications_open_at=timezone.now() - timedelta(days=60),
        applications_close_at=timezone.now() - timedelta(seconds=1),
    )

    with pytest.raises(ValidationError) as exc:
        create(closed, school_a, lead_alice)

    assert "not open for applications" in str(exc.value.message_dict["cohort"])
    assert not Partnership.objects.exists()


def test_independent_lead_school_is_refused_with_its_reason(cohort):
    school = SchoolFactory(funding=Funding.INDEPENDENT)

    with pytest.raises(ValidationError) as exc:
        create(cohort, school, lead_of(school))

    assert "independent" in exc.value.message_dict["lead_school"][0]


def test_school_leading_one_partnership_cannot_lead_a_second_in_the_same_cohort(cohort, lead_alice, school_a):
    first = create(cohort, school_a, lead_alice)

    with pytest.raises(ValidationError) as exc:
        create(cohort, school_a, lead_alice, name="Second")

    assert first.name in exc.value.message_dict["lead_school"][0]
    assert Partnership.objects.count() == 1


def test_school_may_lead_partnerships_in_two_different_cohorts(programme, cohort, lead_alice, school_a):
    create(cohort, school_a, lead_alice)

    create(CohortFactory(programme=programme), school_a, lead_alice)

    assert Partnership.objects.count() == 2


def test_clusters_programme_cohort_refuses_partnerships(lead_alice, school_a):
    aspire = CohortFactory(programme__kind=Programme.Kind.CLUSTERS)

    with pytest.raises(ValidationError) as exc:
        create(aspire, school_a, lead_alice)

    assert "clusters" in exc.value.message_dict["cohort"][0]


# --- membership_invite ----------------------------------------------------------------


def test_lead_invites_an_eligible_school(cohort, lead_alice, school_a, school_b):
    partnership = create(cohort, school_a, lead_alice)

    membership = membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    assert (membership.status, membership.role, membership.cohort) == ("invited", "partner", cohort)


@pytest.mark.django_db(transaction=True)
def test_invitation_email_goes_to_the_invited_schools_leads(cohort, lead_alice, school_a, lead_bob, school_b):
    partnership = create(cohort, school_a, lead_alice)

    membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    assert [m.to for m in mail.outbox] == [[lead_bob.email]]
    assert partnership.name in mail.outbox[0].subject


def test_partner_lead_cannot_invite_schools(cohort, lead_alice, school_a, lead_bob, school_b):
    partnership = create(cohort, school_a, lead_alice)
    membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    with pytest.raises(PermissionDenied):
        membership_invite(partnership=partnership, school=SchoolFactory(), by=lead_bob)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_open": False}, "closed"),
        ({"funding": Funding.INDEPENDENT}, "independent"),
        ({"phase": Phase.SIXTEEN_PLUS}, "16 plus"),
    ],
)
def test_ineligible_school_cannot_be_invited_and_the_reason_is_given(
    cohort, lead_alice, school_a, change, reason
):
    partnership = create(cohort, school_a, lead_alice)

    with pytest.raises(ValidationError) as exc:
        membership_invite(partnership=partnership, school=SchoolFactory(**change), by=lead_alice)

    assert reason in exc.value.message_dict["school"][0]
    assert partnership.memberships.count() == 1


def test_inviting_the_same_school_twice_changes_nothing(cohort, lead_alice, school_a, school_b):
    partnership = create(cohort, school_a, lead_alice)
    first = membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    second = membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    assert first.pk == second.pk
    assert partnership.memberships.count() == 2


def test_school_in_one_partnership_cannot_be_invited_into_another_of_the_cohort(cohort, lead_alice, school_a):
    other = PartnershipFactory(cohort=cohort, partners=1)
    taken = other.memberships.get(role="partner").school

    with pytest.raises(ValidationError) as exc:
        membership_invite(partnership=create(cohort, school_a, lead_alice), school=taken, by=lead_alice)

    assert other.name in exc.value.message_dict["school"][0]


def test_school_that_declined_elsewhere_can_be_invited(cohort, lead_alice, school_a):
    other = PartnershipFactory(cohort=cohort)
    school = MembershipFactory(partnership=other, status=Membership.Status.DECLINED).school

    membership = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school, by=lead_alice
    )

    assert membership.status == "invited"


def test_school_in_a_partnership_of_another_cohort_can_be_invited(programme, cohort, lead_alice, school_a):
    school = PartnershipFactory(cohort=CohortFactory(programme=programme), partners=0).lead_school

    membership = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school, by=lead_alice
    )

    assert membership.cohort == cohort


# --- membership_respond ---------------------------------------------------------------


def test_partner_lead_confirms_and_a_second_confirm_changes_nothing(
    cohort, lead_alice, school_a, lead_bob, school_b
):
    invitation = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school_b, by=lead_alice
    )

    confirmed = membership_respond(membership=invitation, accept=True, by=lead_bob)
    first_at = confirmed.responded_at
    again = membership_respond(membership=invitation, accept=True, by=lead_bob)

    assert (again.status, again.responded_by, again.responded_at) == ("confirmed", lead_bob, first_at)


def test_only_a_lead_of_the_invited_school_can_answer(cohort, lead_alice, school_a, school_b):
    invitation = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school_b, by=lead_alice
    )

    with pytest.raises(PermissionDenied):
        membership_respond(membership=invitation, accept=True, by=lead_alice)


def test_declined_invitation_cannot_then_be_confirmed(cohort, lead_alice, school_a, lead_bob, school_b):
    invitation = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school_b, by=lead_alice
    )
    membership_respond(membership=invitation, accept=False, by=lead_bob)

    with pytest.raises(ValidationError):
        membership_respond(membership=invitation, accept=True, by=lead_bob)


def test_declining_frees_the_school_for_another_partnership(cohort, lead_alice, school_a, lead_bob, school_b):
    invitation = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school_b, by=lead_alice
    )
    membership_respond(membership=invitation, accept=False, by=lead_bob)

    partnership = create(cohort, school_b, lead_bob, name="Beech-led")

    assert partnership.lead_school == school_b


# --- membership_remove ----------------------------------------------------------------


def test_lead_removes_a_partner_and_the_school_is_free_again(cohort, lead_alice, school_a, school_b):
    partnership = create(cohort, school_a, lead_alice)
    invitation = membership_invite(partnership=partnership, school=school_b, by=lead_alice)

    membership_remove(membership=invitation, by=lead_alice)
    membership_remove(membership=invitation, by=lead_alice)

    assert not Membership.objects.filter(school=school_b).exists()


def test_lead_school_cannot_be_removed(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)

    with pytest.raises(ValidationError):
        membership_remove(membership=partnership.memberships.get(), by=lead_alice)


def test_partner_lead_cannot_remove_members(cohort, lead_alice, school_a, lead_bob, school_b):
    invitation = membership_invite(
        partnership=create(cohort, school_a, lead_alice), school=school_b, by=lead_alice
    )

    with pytest.raises(PermissionDenied):
        membership_remove(membership=invitation, by=lead_bob)


# --- The minimum of confirmed eligible schools ----------------------------------------


def confirm_partners(partnership, n, by):
    for _ in range(n):
        school = SchoolFactory()
        invitation = membership_invite(partnership=partnership, school=school, by=by)
        membership_respond(membership=invitation, accept=True, by=lead_of(school))


def test_four_confirmed_schools_are_one_short(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)
    confirm_partners(partnership, 3, lead_alice)

    assert shortfall(partnership) == 1


def test_five_confirmed_schools_are_enough(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)
    confirm_partners(partnership, 4, lead_alice)

    assert shortfall(partnership) == 0


def test_invited_but_unconfirmed_school_does_not_count(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)
    confirm_partners(partnership, 3, lead_alice)
    membership_invite(partnership=partnership, school=SchoolFactory(), by=lead_alice)

    assert shortfall(partnership) == 1


def test_school_closed_after_confirming_stops_counting(cohort, lead_alice, school_a):
    partnership = create(cohort, school_a, lead_alice)
    confirm_partners(partnership, 4, lead_alice)
    school = partnership.memberships.filter(role="partner").first().school
    school.is_open = False
    school.save()

    assert shortfall(partnership) == 1


# --- The database behind the rule -----------------------------------------------------


@pytest.mark.postgres
def test_database_refuses_one_school_in_two_partnerships_of_a_cohort_through_a_direct_create(cohort):
    first = PartnershipFactory(cohort=cohort, partners=1)
    school = first.memberships.get(role="partner").school
    second = PartnershipFactory(cohort=cohort)

    with pytest.raises(IntegrityError, match="membership_one_partnership_per_cohort"), transaction.atomic():
        Membership.objects.create(partnership=second, school=school, cohort=cohort)


@pytest.mark.postgres
def test_database_allows_a_declined_school_to_join_another_partnership_of_the_cohort(cohort):
    first = PartnershipFactory(cohort=cohort)
    school = MembershipFactory(partnership=first, status=Membership.Status.DECLINED).school

    Membership.objects.create(partnership=PartnershipFactory(cohort=cohort), school=school, cohort=cohort)

    assert Membership.objects.filter(school=school).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_leads_inviting_the_same_school_at_once_get_one_membership(cohort):
    import threading

    from django.db import connection

    partnerships = [PartnershipFactory(cohort=cohort) for _ in range(2)]
    leads = [lead_of(p.lead_school) for p in partnerships]
    school = SchoolFactory()
    barrier = threading.Barrier(2)
    outcomes = []

    def invite(partnership, lead):
        try:
            barrier.wait()
            membership_invite(partnership=partnership, school=school, by=lead)
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=invite, args=pair) for pair in zip(partnerships, leads, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok", "refused"]
    assert Membership.objects.filter(school=school).count() == 1
