"""Synthetic data is never real: made-up schools are not found, never eligible nor invitable,
and are badged wherever they appear."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from partnerships import eligibility, services
from partnerships.models import School
from partnerships.selectors import search_schools
from tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def synthetic():
    return SchoolFactory(urn=909001, name="Synthetic comparison school 0001 (primary)", is_synthetic=True)


def test_search_never_finds_a_synthetic_school(synthetic):
    real = SchoolFactory(urn=909002, name="Synthetic Lane Primary")  # a real school's name may say anything

    assert list(search_schools("Synthetic")) == [real]
    assert list(search_schools("909001")) == []


def test_a_synthetic_school_is_never_eligible_and_says_why(synthetic, programme):
    assert eligibility.ineligibility_reasons(synthetic, programme) == [
        "This is a synthetic demo record, not a real school: it can never take part."
    ]
    assert not School.objects.filter(eligibility.eligible_schools_q(programme), pk=synthetic.pk).exists()


def test_a_synthetic_school_cannot_be_invited(cohort, lead_alice, school_a, synthetic):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a, created_by=lead_alice)

    with pytest.raises(ValidationError, match="synthetic demo record"):
        services.membership_invite(partnership=partnership, school=synthetic, by=lead_alice)


def test_a_synthetic_school_is_badged_on_the_partnership_page(
    client, cohort, lead_alice, school_a, synthetic
):
    partnership = PartnershipFactory(cohort=cohort, lead_school=school_a, created_by=lead_alice)
    MembershipFactory(partnership=partnership, school=synthetic)
    client.force_login(lead_alice)

    page = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk])).content.decode()

    assert "Synthetic comparison school 0001" in page
    assert ">Synthetic</span>" in page
