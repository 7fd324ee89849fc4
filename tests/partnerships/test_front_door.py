"""The public front door (issue 21): the open programmes with their rules, dates and cap, and an
eligibility checker over the register that needs no account and shows nothing personal."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerships.models import Funding, Phase
from tests import factories


@pytest.fixture
def open_cohort(db):
    programme = factories.ProgrammeFactory(name="ENTHUSE Partnerships", slug="enthuse")
    return factories.CohortFactory(
        programme=programme,
        name="2027 round",
        applications_open_at=timezone.now() - timedelta(days=1),
        applications_close_at=timezone.now() + timedelta(days=30),
    )


def test_the_front_door_shows_open_programmes_with_rules_dates_and_cap(client, open_cohort):
    body = client.get(reverse("public:front_door")).content.decode()

    assert "ENTHUSE Partnerships" in body
    assert "up to £12,000.00" in body
    assert "2027 round" in body
    assert "independent schools cannot take part" in body
    assert "at least 5 confirmed eligible schools" in body
    assert "Open to primary, secondary and FE college schools." in body


def test_a_closed_round_is_not_on_the_front_door(client, open_cohort):
    factories.CohortFactory(
        programme=open_cohort.programme,
        name="2020 round",
        applications_open_at=timezone.now() - timedelta(days=400),
        applications_close_at=timezone.now() - timedelta(days=300),
    )

    assert "2020 round" not in client.get(reverse("public:front_door")).content.decode()


def test_the_checker_says_an_independent_school_cannot_take_part_and_why(client, open_cohort):
    factories.SchoolFactory(name="Seaview Independent School", funding=Funding.INDEPENDENT)
    factories.SchoolFactory(name="Seaview Primary School")

    body = client.get(reverse("public:eligibility_check"), {"q": "Seaview"}).content.decode()

    assert "2 schools found" in body
    assert "this school is independent" in body
    assert body.count("Sign up as a lead of this school") == 1


def test_the_checker_gives_every_reason(client, open_cohort):
    factories.SchoolFactory(name="Old Mill 16 Plus", phase=Phase.SIXTEEN_PLUS, funding=Funding.INDEPENDENT)

    body = client.get(reverse("public:eligibility_check"), {"q": "Old Mill"}).content.decode()

    assert "this school is independent" in body
    assert "this is a 16 plus school" in body
    assert "Sign up as a lead" not in body


def test_the_checker_is_paginated_and_names_no_person(client, open_cohort, lead_alice):
    for n in range(12):
        factories.SchoolFactory(name=f"Harbour School {n:02d}")

    first = client.get(reverse("public:eligibility_check"), {"q": "Harbour"}).content.decode()
    second = client.get(reverse("public:eligibility_check"), {"q": "Harbour", "page": 2}).content.decode()

    assert first.count('class="card mb-3 eligibility-result"') == 10
    assert second.count('class="card mb-3 eligibility-result"') == 2
    assert lead_alice.email not in first
    assert lead_alice.username not in first


def test_the_checker_is_rate_limited(client, open_cohort, settings):
    settings.PORTAL_RATE_LIMITS = {"eligibility": (2, 3600)}

    statuses = [client.get(reverse("public:eligibility_check"), {"q": "Oak"}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_accessibility_statement_is_public(client, db):
    body = client.get(reverse("accessibility")).content.decode()

    assert "WCAG" in body
    assert "2.2" in body


# --- The sign-up's own school search tells an ineligible school (issue 21) -------------------


def test_the_signup_search_says_an_independent_school_cannot_apply_and_why(client, open_cohort):
    independent = factories.SchoolFactory(name="Seaview Independent School", funding=Funding.INDEPENDENT)
    eligible = factories.SchoolFactory(name="Seaview Primary School")

    response = client.get(reverse("partnerships:signup"), {"q": "Seaview"})

    body = response.content.decode()
    assert response.status_code == 200
    verdict = body[body.index(f'id="verdict-{independent.pk}"') :][:600]
    assert "Cannot apply to any open programme." in verdict
    assert (
        "ENTHUSE Partnerships: The programme is for state-funded schools; this school is independent."
        in verdict
    )
    eligible_verdict = body[body.index(f'id="verdict-{eligible.pk}"') :][:300]
    assert "Can apply to ENTHUSE Partnerships." in eligible_verdict


def test_the_signup_search_costs_no_query_per_school(client, open_cohort, django_assert_max_num_queries):
    for n in range(8):
        factories.SchoolFactory(
            name=f"Harbour School {n}", funding=Funding.INDEPENDENT if n % 2 else Funding.STATE
        )

    with django_assert_max_num_queries(8):
        body = client.get(reverse("partnerships:signup"), {"q": "Harbour"}).content.decode()

    assert body.count("Cannot apply to any open programme.") == 4


def test_choosing_an_ineligible_school_at_signup_says_so_before_the_account_exists(client, open_cohort):
    independent = factories.SchoolFactory(name="Seaview Independent School", funding=Funding.INDEPENDENT)

    body = client.get(reverse("partnerships:signup"), {"school": independent.pk}).content.decode()

    assert "Seaview Independent School cannot apply to any open programme." in body
    assert "this school is independent" in body
    assert 'name="first_name"' in body  # still free to sign up, now knowing


def test_choosing_an_eligible_school_at_signup_shows_no_warning(client, open_cohort):
    school = factories.SchoolFactory(name="Seaview Primary School")

    body = client.get(reverse("partnerships:signup"), {"school": school.pk}).content.decode()

    assert 'id="chosen-school-ineligible"' not in body
