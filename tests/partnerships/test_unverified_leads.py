"""Anyone can sign up claiming a school. Until staff (or a verified e-mail domain) confirm
the link, the claim opens nothing of that school's: no partnerships, invitations,
applications or activities — only the drafts the person started themselves."""

import pytest
from django.core.exceptions import PermissionDenied

from clusters.selectors import activities_for
from grants.selectors import applications_for
from partnerships import services
from partnerships.models import Membership, SchoolLead
from partnerships.selectors import invitations_for, led_partnerships_for, partnerships_for
from tests import factories


@pytest.fixture
def impostor(school_a):
    """Claims Alder Primary School; nobody has verified it."""
    user = factories.LeadFactory(username="claims_alder")
    SchoolLead.objects.create(user=user, school=school_a, verified_at=None)
    return user


@pytest.fixture
def alder_partnership(cohort, school_a, lead_alice):
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, partners=4)
    factories.ApplicationFactory(partnership=partnership)
    factories.CPDActivityFactory(partnership=partnership)
    return partnership


def test_a_verified_lead_sees_the_schools_partnership_and_its_grant(lead_alice, alder_partnership):
    assert list(partnerships_for(lead_alice)) == [alder_partnership]
    assert applications_for(lead_alice).count() == 1
    assert activities_for(lead_alice).count() == 1


def test_an_unverified_claim_sees_none_of_the_schools_data(impostor, alder_partnership):
    assert not partnerships_for(impostor).exists()
    assert not led_partnerships_for(impostor).exists()
    assert not applications_for(impostor).exists()
    assert not activities_for(impostor).exists()


def test_an_unverified_claim_gets_404_for_the_schools_partnership_page(client, impostor, alder_partnership):
    client.force_login(impostor)

    response = client.get(f"/partnerships/{alder_partnership.pk}/")

    assert response.status_code == 404


def test_an_unverified_claim_cannot_answer_the_schools_invitations(impostor, school_a, cohort):
    other = factories.PartnershipFactory(cohort=factories.CohortFactory(programme=cohort.programme))
    invitation = factories.MembershipFactory(
        partnership=other, school=school_a, status=Membership.Status.INVITED
    )

    assert not invitations_for(impostor).exists()
    with pytest.raises(PermissionDenied, match="not verified yet"):
        services.membership_respond(membership=invitation, accept=True, by=impostor)
    invitation.refresh_from_db()
    assert invitation.status == Membership.Status.INVITED


def test_an_unverified_lead_may_start_and_see_their_own_draft(impostor, school_a, cohort):
    partnership = services.partnership_create(
        cohort=cohort,
        lead_school=school_a,
        name="Alder STEM",
        local_stem_issue="Few girls in physics.",
        by=impostor,
    )

    assert list(partnerships_for(impostor)) == [partnership]
    assert list(led_partnerships_for(impostor)) == [partnership]
