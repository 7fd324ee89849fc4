import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerships.models import Funding, Membership, Partnership
from tests import factories
from tests.factories import (
    CPDActivityFactory,
    MembershipFactory,
    PartnershipFactory,
    SchoolFactory,
)


@pytest.fixture
def bobs_partnership(cohort, school_b, lead_bob):
    return PartnershipFactory(cohort=cohort, lead_school=school_b, partners=2)


# --- Another school's objects are 404 -------------------------------------------------


def test_lead_of_school_a_gets_404_for_school_bs_partnership(client, lead_alice, bobs_partnership):
    client.force_login(lead_alice)

    for name in (
        "partnerships:partnership_detail",
        "partnerships:school_search",
        "clusters:partnership_activities",
    ):
        assert client.get(reverse(name, args=[bobs_partnership.pk])).status_code == 404, name


def test_lead_of_school_a_cannot_invite_into_school_bs_partnership(client, lead_alice, bobs_partnership):
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:membership_invite", args=[bobs_partnership.pk]), {"school": SchoolFactory().pk}
    )

    assert response.status_code == 404
    assert bobs_partnership.memberships.count() == 3


def test_lead_of_school_a_gets_404_for_an_invitation_to_school_b(client, lead_alice, school_b, cohort):
    invitation = MembershipFactory(
        partnership=PartnershipFactory(cohort=cohort), school=school_b, status=Membership.Status.INVITED
    )
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:membership_respond", args=[invitation.pk]), {"answer": "confirm"}
    )

    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "invited"


def test_lead_of_school_a_gets_404_for_school_bs_activities(client, lead_alice, bobs_partnership):
    activity = CPDActivityFactory(partnership=bobs_partnership)
    client.force_login(lead_alice)

    for name in ("clusters:activity_edit", "clusters:feedback_create"):
        assert client.get(reverse(name, args=[activity.pk])).status_code == 404, name
    assert client.post(reverse("clusters:activity_delete", args=[activity.pk])).status_code == 404


def test_lead_of_school_a_cannot_remove_a_member_of_school_bs_partnership(
    client, lead_alice, bobs_partnership
):
    member = bobs_partnership.memberships.filter(role="partner").first()
    client.force_login(lead_alice)

    assert client.post(reverse("partnerships:membership_remove", args=[member.pk])).status_code == 404
    assert Membership.objects.filter(pk=member.pk).exists()


# --- The lead's journey ---------------------------------------------------------------


def test_lead_starts_a_partnership_through_the_form(client, lead_alice, school_a, cohort):
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:partnership_create"),
        {
            "cohort": cohort.pk,
            "lead_school": school_a.pk,
            "name": "Fylde STEM",
            "local_stem_issue": "Physics.",
        },
    )

    partnership = Partnership.objects.get()
    assert response.url == reverse("partnerships:partnership_detail", args=[partnership.pk])


def test_second_partnership_in_the_cohort_shows_the_reason_on_the_form(client, lead_alice, school_a, cohort):
    PartnershipFactory(cohort=cohort, lead_school=school_a, name="First")
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:partnership_create"),
        {"cohort": cohort.pk, "lead_school": school_a.pk, "name": "Second", "local_stem_issue": "Maths."},
    )

    assert response.status_code == 400
    assert "already in the partnership “First”" in response.content.decode()


def test_detail_shows_how_many_more_schools_are_needed(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a, partners=2)
    MembershipFactory(partnership=partnership, school=SchoolFactory(funding=Funding.INDEPENDENT))
    client.force_login(lead_alice)

    page = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk])).content.decode()

    assert "2 more schools needed" in page
    assert "this school is independent" in page


def test_detail_says_enough_with_five_confirmed_schools(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    client.force_login(lead_alice)

    page = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk])).content.decode()

    assert "more school" not in page
    assert "Enough schools to apply" in page


def test_search_finds_by_name_urn_and_postcode_and_shows_eligibility(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    SchoolFactory(name="Quince Tree Primary", urn=987654, postcode="ZZ9 9ZZ")
    SchoolFactory(name="Quince Independent", funding=Funding.INDEPENDENT)
    url = reverse("partnerships:school_search", args=[partnership.pk])
    client.force_login(lead_alice)

    for query in ("quince tree", "987654", "zz9"):
        assert "Quince Tree Primary" in client.get(url, {"q": query}).content.decode(), query
    page = client.get(url, {"q": "Quince"}).content.decode()
    assert "this school is independent" in page
    # only the eligible one can be invited; nobody speaks for it yet, so by e-mail
    assert page.count("Invite by e-mail") == 1


def test_search_is_paginated(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    for n in range(30):
        SchoolFactory(name=f"Pagination Primary {n:02d}")
    client.force_login(lead_alice)
    url = reverse("partnerships:school_search", args=[partnership.pk])

    second = client.get(url, {"q": "Pagination", "page": 2}).content.decode()

    assert "Page 2 of 2" in second
    assert second.count("Invite by e-mail") == 5


def test_one_letter_search_is_a_400_with_a_message(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    client.force_login(lead_alice)

    response = client.get(reverse("partnerships:school_search", args=[partnership.pk]), {"q": "Q"})

    assert response.status_code == 400
    assert "at least 2 characters" in response.content.decode()


def test_invite_then_partner_confirms_from_their_home_page(
    client, lead_alice, school_a, lead_bob, school_b, cohort
):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    client.force_login(lead_alice)
    client.post(reverse("partnerships:membership_invite", args=[partnership.pk]), {"school": school_b.pk})
    invitation = Membership.objects.get(school=school_b)

    client.force_login(lead_bob)
    home = client.get(reverse("partnerships:lead_home")).content.decode()
    client.post(reverse("partnerships:membership_respond", args=[invitation.pk]), {"answer": "confirm"})

    assert partnership.name in home
    invitation.refresh_from_db()
    assert invitation.status == "confirmed"


def test_respond_with_an_unknown_answer_is_a_400(client, lead_bob, school_b, cohort):
    invitation = MembershipFactory(
        partnership=PartnershipFactory(cohort=cohort), school=school_b, status=Membership.Status.INVITED
    )
    client.force_login(lead_bob)

    response = client.post(
        reverse("partnerships:membership_respond", args=[invitation.pk]), {"answer": "maybe"}
    )

    assert response.status_code == 400


def test_inviting_an_ineligible_school_shows_the_reason(client, lead_alice, school_a, cohort):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    closed = SchoolFactory(is_open=False)
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:membership_invite", args=[partnership.pk]), {"school": closed.pk}, follow=True
    )

    assert "The school is closed." in response.content.decode()
    assert partnership.memberships.count() == 1


# --- Staff list -----------------------------------------------------------------------


def test_staff_list_filters_by_status_region_and_phase(client, staff_carol, cohort):
    north = PartnershipFactory(
        cohort=cohort, name="Northern Lights", lead_school=SchoolFactory(region="North West")
    )
    PartnershipFactory(cohort=cohort, name="Southern Cross", lead_school=SchoolFactory(region="South West"))
    MembershipFactory(partnership=north, school=SchoolFactory(phase="secondary"))
    client.force_login(staff_carol)
    url = reverse("partnerships:staff_partnership_list")

    by_region = client.get(url, {"region": "North West"}).content.decode()
    by_phase = client.get(url, {"phase": "secondary"}).content.decode()
    by_status = client.get(url, {"status": "withdrawn"}).content.decode()

    assert "Northern Lights" in by_region
    assert "Southern Cross" not in by_region
    assert "Northern Lights" in by_phase
    assert "Southern Cross" not in by_phase
    assert "No partnerships match" in by_status


def test_staff_list_with_an_unknown_cohort_is_a_400(client, staff_carol):
    client.force_login(staff_carol)

    assert client.get(reverse("partnerships:staff_partnership_list"), {"cohort": "999999"}).status_code == 400


def test_staff_list_shows_only_their_programmes_partnerships(client, staff_carol, cohort):
    PartnershipFactory(cohort=cohort, name="Ours")
    PartnershipFactory(name="Someone else's")
    client.force_login(staff_carol)

    page = client.get(reverse("partnerships:staff_partnership_list")).content.decode()

    assert "Ours" in page
    assert "Someone else" not in page


def test_staff_list_query_count_does_not_grow_with_rows(
    client, staff_carol, cohort, django_assert_max_num_queries
):
    client.force_login(staff_carol)
    url = reverse("partnerships:staff_partnership_list")
    PartnershipFactory(cohort=cohort, partners=1)
    client.get(url)  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for _ in range(10):
        PartnershipFactory(cohort=cohort, partners=2)

    with django_assert_max_num_queries(len(one)):
        response = client.get(url)

    assert response.context["page"].paginator.count == 11


def test_empty_post_to_start_a_partnership_says_what_is_missing(client, lead_alice, cohort):
    client.force_login(lead_alice)

    response = client.post(reverse("partnerships:partnership_create"), {})

    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    assert not Partnership.objects.exists()


def test_invite_goes_straight_to_the_email_form_for_a_school_with_no_lead(
    client, lead_alice, school_a, cohort
):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a)
    lonely = SchoolFactory(name="Rowan Primary")
    staffed = SchoolFactory(name="Rowan Academy")
    factories.link_lead(factories.LeadFactory(), staffed)
    client.force_login(lead_alice)

    page = client.get(reverse("partnerships:school_search", args=[partnership.pk]), {"q": "Rowan"}).text
    form = client.get(reverse("partnerships:email_invite", args=[partnership.pk]), {"school": lonely.pk})

    email_link = reverse("partnerships:email_invite", args=[partnership.pk]) + f"?school={lonely.pk}"
    assert email_link in page
    assert f'name="school" value="{staffed.pk}"' in page  # a school with a verified lead: invite directly
    assert form.status_code == 200
    assert 'name="email"' in form.text
    assert "Rowan Primary" in form.text
