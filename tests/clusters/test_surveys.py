"""Teacher surveys by link (issue 18): signed, expiring one-time links and anonymous room codes,
answered without an account; forged, expired and answered links refused with a 4xx page."""

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from clusters import surveys
from clusters.models import Feedback, SurveyInvitation
from tests import factories

ANSWER = {
    "engaging_ideas": "5",
    "hands_on": "4",
    "sharing_across_schools": "3",
    "overall_usefulness": "5",
    "expects_more_cpd": "on",
    "comments": "Supply cover was hard to find.",
}


@pytest.fixture
def activity(db, school_a, lead_alice):
    partnership = factories.PartnershipFactory(lead_school=school_a, partners=2, status="active")
    activity = factories.CPDActivityFactory(partnership=partnership)
    activity.schools.set(partnership.memberships.values_list("school_id", flat=True))
    return activity


def test_a_link_answered_twice_counts_once(client, activity, lead_alice, school_a):
    invitation = surveys.invitations_create(activity=activity, by=lead_alice, count=1, school=school_a)[0]
    url = reverse("clusters:survey_answer", args=[surveys.token_for(invitation)])

    first = client.post(url, ANSWER)
    second = client.post(url, ANSWER)

    assert first.status_code == 200
    assert "survey-thanks" in first.content.decode()
    assert second.status_code == 409
    assert "already been answered" in second.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.invitation, feedback.school, feedback.overall_usefulness) == (invitation, school_a, 5)
    assert feedback.expects_more_cpd is True


def test_the_database_refuses_a_second_answer_on_one_invitation(activity, lead_alice):
    invitation = surveys.invitations_create(activity=activity, by=lead_alice, count=1)[0]
    ratings = dict.fromkeys(("engaging_ideas", "hands_on", "sharing_across_schools", "overall_usefulness"), 4)
    surveys.answer(invitation=invitation, ratings=ratings, expects_more_cpd=False, comments="")

    with pytest.raises(surveys.SurveyRefused) as refused:
        surveys.answer(invitation=invitation, ratings=ratings, expects_more_cpd=False, comments="")

    assert refused.value.status == 409
    assert Feedback.objects.count() == 1


def test_a_forged_link_is_a_clear_404(client, activity, lead_alice):
    invitation = surveys.invitations_create(activity=activity, by=lead_alice, count=1)[0]
    token = surveys.token_for(invitation)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_pk = signing.TimestampSigner(salt="not-the-survey").sign(str(invitation.pk))

    for bad in (forged, other_pk, "nonsense"):
        response = client.get(reverse("clusters:survey_answer", args=[bad]))
        assert response.status_code == 404
        assert "not valid" in response.content.decode()


def test_an_expired_link_is_a_clear_410(client, activity, lead_alice):
    invitation = surveys.invitations_create(activity=activity, by=lead_alice, count=1)[0]
    url = reverse("clusters:survey_answer", args=[surveys.token_for(invitation)])
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post(url, ANSWER)

    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_room_code_takes_many_anonymous_answers_until_it_expires(client, activity, lead_alice):
    room = surveys.room_open(activity=activity, by=lead_alice)
    found = client.post(reverse("clusters:survey_room"), {"code": room.code.lower()})
    assert found.status_code == 302
    url = found["Location"]

    assert client.post(url, ANSWER).status_code == 200
    assert client.post(url, ANSWER).status_code == 200
    assert Feedback.objects.filter(room=room, school__isnull=True).count() == 2
    room.expires_at = timezone.now() - timedelta(seconds=1)
    room.save()
    assert client.post(url, ANSWER).status_code == 410
    unknown = client.post(reverse("clusters:survey_room"), {"code": "ZZZZZZ"})
    assert unknown.status_code == 400
    assert "no survey with that code" in unknown.content.decode()


def test_response_rates_per_activity_and_per_school(client, activity, lead_alice, school_a):
    invitations = surveys.invitations_create(activity=activity, by=lead_alice, count=4, school=school_a)
    for invitation in invitations[:2]:
        client.post(reverse("clusters:survey_answer", args=[surveys.token_for(invitation)]), ANSWER)

    per_activity, per_school = surveys.response_rates([activity])

    assert (per_activity[0].invited, per_activity[0].answered, per_activity[0].percent) == (4, 2, 50)
    assert [(r.label, r.invited, r.answered) for r in per_school] == [(school_a.name, 4, 2)]
    client.force_login(lead_alice)
    page = client.get(reverse("clusters:survey_send", args=[activity.pk])).content.decode()
    assert "(50%)" in page


def test_only_staff_and_member_leads_send_and_counts_are_bounded(activity, lead_bob, lead_alice):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        surveys.invitations_create(activity=activity, by=lead_bob, count=1)
    for count in (0, surveys.MAX_INVITATIONS + 1):
        with pytest.raises(ValidationError):
            surveys.invitations_create(activity=activity, by=lead_alice, count=count)
    assert (
        len(surveys.invitations_create(activity=activity, by=lead_alice, count=surveys.MAX_INVITATIONS))
        == 200
    )


def test_answers_are_rate_limited_per_address(client, activity, lead_alice, settings):
    settings.PORTAL_RATE_LIMITS = {"survey": (2, 3600)}
    room = surveys.room_open(activity=activity, by=lead_alice)
    url = reverse("clusters:survey_room_answer", args=[room.code])

    statuses = [client.post(url, ANSWER).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert Feedback.objects.count() == 2
