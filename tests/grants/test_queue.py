"""The review queue as officers use it (issue 17) and the history in words."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from grants import review
from grants.models import Application, ProgrammeReviewer
from tests import factories

S = Application.Status


@pytest.fixture
def carol(client, staff_carol):
    client.force_login(staff_carol)
    return client


def submitted_in(cohort, **extra):
    return factories.ApplicationFactory(
        partnership=factories.PartnershipFactory(cohort=cohort, partners=2, **extra.pop("partnership", {})),
        status=extra.pop("status", S.SUBMITTED),
        submitted_at=timezone.now(),
        **extra,
    )


def refs(response):
    assert response.status_code == 200, response.content[:300]
    return [a.reference for a in response.context["page"]]


@pytest.fixture
def closed_cohort(programme):
    return factories.CohortFactory(
        programme=programme,
        name="2015",
        starts_on=timezone.localdate() - timedelta(days=3000),
        ends_on=timezone.localdate() - timedelta(days=2000),
        applications_open_at=timezone.now() - timedelta(days=3100),
        applications_close_at=timezone.now() - timedelta(days=3050),
    )


def test_closed_rounds_are_out_of_the_way_until_asked_for(carol, cohort, closed_cohort):
    submitted_in(cohort, reference="NOW-1")
    submitted_in(closed_cohort, reference="OLD-1", status=S.APPROVED, awarded=Decimal("0"))

    assert refs(carol.get(reverse("grants:review_queue"))) == ["NOW-1"]
    assert refs(carol.get(reverse("grants:review_queue"), {"round": "closed"})) == ["OLD-1"]
    assert sorted(refs(carol.get(reverse("grants:review_queue"), {"round": "all"}))) == ["NOW-1", "OLD-1"]
    assert refs(carol.get(reverse("grants:review_queue"), {"cohort": closed_cohort.pk})) == ["OLD-1"]


def test_search_finds_by_reference_partnership_school_name_and_urn_of_any_member(carol, cohort):
    a = submitted_in(cohort, reference="ENP-001-00042", partnership={"name": "Fylde Coast Science"})
    b = submitted_in(cohort, reference="ENP-001-00043")
    partner = b.partnership.memberships.filter(role="partner").first().school
    partner.name, partner.urn = "Marton Academy", 654321
    partner.save()

    def search(q):
        return refs(carol.get(reverse("grants:review_queue"), {"q": q}))

    assert search("00042") == [a.reference]
    assert search("fylde coast") == [a.reference]
    assert search("marton") == [b.reference]
    assert search("654321") == [b.reference]
    assert search("nothing like it") == []


def test_every_column_sorts_both_ways(carol, cohort):
    cheap = submitted_in(cohort, reference="A-1", requested=Decimal("100.00"))
    dear = submitted_in(cohort, reference="A-2", requested=Decimal("9000.00"))

    assert refs(carol.get(reverse("grants:review_queue"), {"sort": "requested"})) == [
        cheap.reference,
        dear.reference,
    ]
    assert refs(carol.get(reverse("grants:review_queue"), {"sort": "-requested"})) == [
        dear.reference,
        cheap.reference,
    ]
    for key in (
        "reference",
        "partnership",
        "lead_school",
        "region",
        "phase",
        "cohort",
        "schools",
        "status",
        "submitted",
        "score",
        "reviews",
    ):
        for direction in ("", "-"):
            assert carol.get(reverse("grants:review_queue"), {"sort": direction + key}).status_code == 200


def test_unknown_sort_or_too_long_a_search_is_a_400_with_a_message(carol):
    for params in ({"sort": "password"}, {"q": "x" * 500}, {"min_score": "lots"}, {"round": "1999"}):
        response = carol.get(reverse("grants:review_queue"), params)
        assert response.status_code == 400
        assert "There is a problem" in response.content.decode()


def test_filters_persist_until_cleared(carol, cohort):
    submitted_in(cohort, reference="S-1")
    submitted_in(cohort, reference="R-1", status=S.REJECTED)

    carol.get(reverse("grants:review_queue"), {"status": "rejected", "sort": "reference"})
    again = carol.get(reverse("grants:review_queue"), follow=True)

    assert refs(again) == ["R-1"]
    assert "status=rejected" in again.redirect_chain[0][0]
    cleared = carol.get(reverse("grants:review_queue") + "?clear=1", follow=True)
    assert sorted(refs(cleared)) == ["R-1", "S-1"]


def test_counts_per_state_follow_the_other_filters(carol, cohort):
    submitted_in(cohort, reference="S-1")
    submitted_in(cohort, reference="S-2")
    submitted_in(cohort, reference="R-1", status=S.REJECTED)

    response = carol.get(reverse("grants:review_queue"), {"status": "submitted"})

    counts = {value: n for value, _label, n, _q in response.context["state_links"]}
    assert counts["submitted"] == 2
    assert counts["rejected"] == 1
    assert "Changes requested" in response.content.decode()  # labels, not codes


def test_assigned_to_me_and_by_reviewer(carol, cohort, programme, staff_carol):
    mine = submitted_in(cohort, reference="M-1")
    submitted_in(cohort, reference="O-1")
    rita = factories.ReviewerFactory(username="rita")
    ProgrammeReviewer.objects.create(programme=programme, user=rita)
    review.assignment_add(application_id=mine.pk, reviewer_id=staff_carol.pk, by=staff_carol)
    review.assignment_add(application_id=mine.pk, reviewer_id=rita.pk, by=staff_carol)

    assert refs(carol.get(reverse("grants:review_queue"), {"assigned_to_me": "on"})) == ["M-1"]
    assert refs(carol.get(reverse("grants:review_queue"), {"reviewer": rita.pk})) == ["M-1"]


def test_a_reviewer_of_another_programme_is_not_a_choice(carol, cohort):
    other = factories.ReviewerFactory(username="otto")

    response = carol.get(reverse("grants:review_queue"), {"reviewer": other.pk})

    assert response.status_code == 400


# --- History in words ------------------------------------------------------------------------------


def test_history_reads_as_words_with_the_staff_members_name(client, application_in, staff_carol, lead_alice):
    staff_carol.first_name, staff_carol.last_name = "Carol", "Jones"
    staff_carol.save()
    application = application_in(S.CHANGES_REQUESTED)
    client.force_login(lead_alice)

    body = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()

    assert "Changes requested by Carol Jones (submitted → changes requested): More detail." in body
    assert "changes_requested" not in body


def test_the_applicant_does_not_see_the_reviews_workings(
    client, application_in, staff_carol, lead_alice, programme
):
    application = application_in(S.SUBMITTED)
    review.assignment_add(application_id=application.pk, reviewer_id=staff_carol.pk, by=staff_carol)
    client.force_login(lead_alice)

    body = client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()

    assert "Reviewer assigned" not in body
    client.force_login(staff_carol)
    assert (
        "Reviewer assigned"
        in client.get(reverse("grants:application_detail", args=[application.pk])).content.decode()
    )
