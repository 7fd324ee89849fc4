import pytest

from partnerships.eligibility import confirmed_eligible_memberships, ineligibility_reasons, shortfall
from partnerships.models import Funding, Membership, OfstedRating, Phase, School
from tests.factories import MembershipFactory, PartnershipFactory, ProgrammeFactory, SchoolFactory


def test_open_state_primary_school_is_eligible_for_enthuse(programme):
    assert ineligibility_reasons(SchoolFactory(), programme) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_open": False}, "The school is closed."),
        ({"funding": Funding.INDEPENDENT}, "this school is independent"),
        ({"phase": Phase.SIXTEEN_PLUS}, "this is a 16 plus school"),
    ],
)
def test_each_reason_is_given(programme, change, reason):
    school = SchoolFactory(**change)

    reasons = ineligibility_reasons(school, programme)

    assert len(reasons) == 1
    assert reason in reasons[0]


def test_aspire_needs_a_weak_rating_in_an_opportunity_area(db):
    aspire = ProgrammeFactory(
        eligible_ofsted_ratings=[OfstedRating.REQUIRES_IMPROVEMENT, OfstedRating.INADEQUATE],
        opportunity_areas_only=True,
    )
    good_outside = SchoolFactory(ofsted_rating=OfstedRating.GOOD, opportunity_area="")
    weak_inside = SchoolFactory(ofsted_rating=OfstedRating.INADEQUATE, opportunity_area="Blackpool")

    assert len(ineligibility_reasons(good_outside, aspire)) == 2
    assert ineligibility_reasons(weak_inside, aspire) == []


def test_only_confirmed_eligible_schools_count(cohort):
    partnership = PartnershipFactory(cohort=cohort, partners=3)
    MembershipFactory(partnership=partnership, status=Membership.Status.INVITED)
    MembershipFactory(partnership=partnership, school=SchoolFactory(funding=Funding.INDEPENDENT))

    assert confirmed_eligible_memberships(partnership).count() == 4
    assert shortfall(partnership) == 1
    MembershipFactory(partnership=partnership)
    assert shortfall(partnership) == 0
    assert School.objects.count() == 7


def test_an_all_through_school_is_told_in_a_sentence(programme):
    school = SchoolFactory(phase=Phase.ALL_THROUGH)

    assert ineligibility_reasons(school, programme) == [
        "The programme is for primary, secondary and FE college schools; this is an all-through school."
    ]
