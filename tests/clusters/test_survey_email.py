"""Survey links by e-mail (issue 18): staff or a lead of a school taking part enter teachers'
addresses; each teacher gets their own signed one-time link through messaging.send (kind
`survey_invitation`); the addresses are not kept; response rates still count per activity and
per school."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from clusters import surveys
from clusters.models import Feedback, SurveyInvitation
from tests import factories
from tests.clusters.test_surveys import ANSWER

LINK = re.compile(r"/clusters/survey/([^/\s]+)/")


@pytest.fixture
def activity(db, school_a, lead_alice):
    partnership = factories.PartnershipFactory(lead_school=school_a, partners=2, status="active")
    activity = factories.CPDActivityFactory(partnership=partnership)
    activity.schools.set(partnership.memberships.values_list("school_id", flat=True))
    return activity


def tokens_sent_to(address: str) -> list[str]:
    return [LINK.search(m.body).group(1) for m in mail.outbox if address in m.to]


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_each_teacher_gets_their_own_link_by_email(client, activity, lead_alice, school_a):
    client.force_login(lead_alice)
    response = client.post(
        reverse("clusters:survey_email", args=[activity.pk]),
        {"addresses": "ann@example.sch.uk\nben@example.sch.uk, ANN@example.sch.uk", "school": school_a.pk},
    )

    assert response.status_code == 302
    [ann], [ben] = tokens_sent_to("ann@example.sch.uk"), tokens_sent_to("ben@example.sch.uk")
    assert ann != ben
    assert SurveyInvitation.objects.filter(activity=activity, emailed_at__isnull=False).count() == 2
    assert mail.outbox[0].subject == f"How useful was “{activity.title}”? A short survey"


@pytest.mark.usefixtures("outbox_sends_at_once")
def test_an_emailed_link_answers_once_and_rates_count_per_activity_and_school(
    client, activity, lead_alice, school_a
):
    surveys.invitations_email(
        activity=activity, by=lead_alice, addresses="ann@example.sch.uk ben@example.sch.uk", school=school_a
    )
    surveys.invitations_create(activity=activity, by=lead_alice, count=2)  # links passed on by hand
    [token] = tokens_sent_to("ann@example.sch.uk")
    url = reverse("clusters:survey_answer", args=[token])

    first, second = client.post(url, ANSWER), client.post(url, ANSWER)

    assert (first.status_code, second.status_code) == (200, 409)
    assert Feedback.objects.filter(activity=activity).count() == 1
    per_activity, per_school = surveys.response_rates([activity])
    assert (per_activity[0].invited, per_activity[0].answered, per_activity[0].percent) == (4, 1, 25)
    assert [(r.label, r.invited, r.answered, r.percent) for r in per_school] == [(school_a.name, 2, 1, 50)]


def test_the_addresses_are_not_kept(activity, lead_alice):
    surveys.invitations_email(activity=activity, by=lead_alice, addresses="ann@example.sch.uk")

    field_names = {f.name for f in SurveyInvitation._meta.get_fields()}
    assert not {"email", "address"} & field_names
    assert "ann@example.sch.uk" not in str(list(SurveyInvitation.objects.values()))


def test_a_bad_address_is_a_form_error_and_nothing_is_sent(client, activity, lead_alice):
    client.force_login(lead_alice)
    mail.outbox.clear()

    response = client.post(
        reverse("clusters:survey_email", args=[activity.pk]),
        {"addresses": "ann@example.sch.uk\nnot-an-address"},
    )

    assert response.status_code == 400
    assert "These are not e-mail addresses: not-an-address" in response.content.decode()
    assert not SurveyInvitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(("n", "ok"), [(surveys.MAX_INVITATIONS, True), (surveys.MAX_INVITATIONS + 1, False)])
def test_at_most_the_limit_of_addresses_at_once(activity, lead_alice, n, ok):
    from django.core.exceptions import ValidationError

    addresses = "\n".join(f"t{i}@example.sch.uk" for i in range(n))
    if ok:
        assert surveys.invitations_email(activity=activity, by=lead_alice, addresses=addresses) == n
    else:
        with pytest.raises(ValidationError, match="at most"):
            surveys.invitations_email(activity=activity, by=lead_alice, addresses=addresses)
        assert not SurveyInvitation.objects.exists()


def test_a_lead_of_a_school_not_taking_part_cannot_email_the_survey(activity, lead_bob):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        surveys.invitations_email(activity=activity, by=lead_bob, addresses="ann@example.sch.uk")
    assert not SurveyInvitation.objects.exists()
