"""Partner schools invited by e-mail (partnerships/invitations.py): sending, the signed link,
signing up from it, answering, resending, withdrawing, and every way a link can go wrong."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail, signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from partnerships import invitations
from partnerships.models import EmailInvitation, LeadVerificationRequest, Membership, SchoolLead
from tests import factories

PASSWORD = "Kestrel-orbit-7-lantern"
CONTACT = "sam.reid@cedar.sch.uk"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def partnership(cohort, school_a, lead_alice):
    return factories.PartnershipFactory(cohort=cohort, lead_school=school_a, name="Fylde STEM")


@pytest.fixture
def cedar(db):
    return factories.SchoolFactory(name="Cedar Primary", urn=140001)


def link_in(message) -> str:
    base = re.escape(settings.PORTAL_BASE_URL.rstrip("/"))
    return re.findall(base + r"(/\S+)", message.body)[0]


def token_of(path: str) -> str:
    return path.strip("/").split("/")[2]


@pytest.fixture
def send(partnership, cedar, lead_alice, django_capture_on_commit_callbacks):
    def send(email=CONTACT, school=None):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            invitation = invitations.invitation_send(
                partnership=partnership, school=school or cedar, email=email, by=lead_alice
            )
        return invitation, link_in(mail.outbox[-1])

    return send


def snapshot(invitation):
    invitation.refresh_from_db()
    membership = (
        Membership.objects.filter(pk=invitation.membership_id).values_list("status", flat=True).first()
    )
    return (
        invitation.status,
        invitation.opened_at,
        invitation.answered_at,
        membership,
        User.objects.count(),
        SchoolLead.objects.count(),
    )


def signup_data(**overrides):
    return {
        "first_name": "Sam",
        "last_name": "Reid",
        "role_at_school": "STEM co-ordinator",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


# --- Sending ----------------------------------------------------------------------------------


def test_a_verified_lead_invites_a_school_by_email_with_a_signed_link(send, cedar, partnership):
    invitation, path = send()

    assert (invitation.email, invitation.school, invitation.state) == (CONTACT, cedar, "sent")
    assert invitation.membership.status == Membership.Status.INVITED
    assert invitation.expires_at - invitation.sent_at == timedelta(days=invitations.INVITATION_DAYS)
    (message,) = mail.outbox
    assert message.to == [CONTACT]
    assert "Cedar Primary" in message.subject
    assert path.startswith("/partnerships/join/")
    assert invitations.read_invitation(token_of(path)) == invitation
    assert message.alternatives[0][1] == "text/html"


def test_the_address_is_stored_in_lower_case(send):
    invitation, _ = send(email="Sam.Reid@CEDAR.sch.uk")

    assert invitation.email == CONTACT


def test_a_lead_not_yet_verified_cannot_invite_by_email(partnership, cedar, school_a):
    lead = factories.LeadFactory()
    SchoolLead.objects.create(user=lead, school=school_a)

    with pytest.raises(ValidationError, match="not yet confirmed"):
        invitations.invitation_send(partnership=partnership, school=cedar, email=CONTACT, by=lead)

    assert not EmailInvitation.objects.exists()
    assert not Membership.objects.filter(school=cedar).exists()


@pytest.mark.parametrize("email", ["", "not-an-address", "a@", "@b.sch.uk"])
def test_an_invalid_address_is_refused(partnership, cedar, lead_alice, email):
    with pytest.raises(ValidationError) as caught:
        invitations.invitation_send(partnership=partnership, school=cedar, email=email, by=lead_alice)

    assert "email" in caught.value.message_dict
    assert not Membership.objects.filter(school=cedar).exists()


def test_a_school_already_in_the_partnership_is_refused(partnership, cedar, lead_alice):
    factories.MembershipFactory(partnership=partnership, school=cedar, status=Membership.Status.CONFIRMED)

    with pytest.raises(ValidationError, match="already joined"):
        invitations.invitation_send(partnership=partnership, school=cedar, email=CONTACT, by=lead_alice)


def test_an_ineligible_school_is_refused_with_the_reason(partnership, lead_alice):
    independent = factories.SchoolFactory(name="Grange Independent", funding="independent")

    with pytest.raises(ValidationError, match="Grange Independent cannot join"):
        invitations.invitation_send(partnership=partnership, school=independent, email=CONTACT, by=lead_alice)

    assert not EmailInvitation.objects.exists()


def test_inviting_the_same_address_again_resends_instead_of_duplicating(send):
    first, first_path = send()
    second, second_path = send()

    assert first.pk == second.pk
    assert EmailInvitation.objects.count() == 1
    second.refresh_from_db()
    assert second.send_count == 2
    assert first_path != second_path


def test_the_page_form_sends_an_invitation(
    client, partnership, cedar, lead_alice, django_capture_on_commit_callbacks
):
    client.force_login(lead_alice)
    url = reverse("partnerships:email_invite", args=[partnership.pk])

    found = client.get(url, {"q": "Cedar"})
    chosen = client.get(url, {"school": cedar.pk})
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"school": cedar.pk, "email": CONTACT})

    assert f"?school={cedar.pk}" in found.text
    assert (
        "Partner contact&#x27;s e-mail address" in chosen.text
        or "Partner contact's e-mail address" in chosen.text
    )
    assert sent.status_code == 302
    assert EmailInvitation.objects.filter(school=cedar, email=CONTACT).exists()
    assert len(mail.outbox) == 1


def test_the_page_form_shows_a_bad_address_as_a_form_error(client, partnership, cedar, lead_alice):
    client.force_login(lead_alice)

    response = client.post(
        reverse("partnerships:email_invite", args=[partnership.pk]), {"school": cedar.pk, "email": "nope"}
    )

    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert not EmailInvitation.objects.exists()


def test_invitations_are_rate_limited_per_lead(client, partnership, lead_alice, settings):
    settings.PORTAL_RATE_LIMITS = {"invite": (2, 3600)}
    client.force_login(lead_alice)
    url = reverse("partnerships:email_invite", args=[partnership.pk])
    schools = [factories.SchoolFactory() for _ in range(3)]

    statuses = [
        client.post(url, {"school": s.pk, "email": f"c{n}@p.sch.uk"}).status_code
        for n, s in enumerate(schools)
    ]

    assert statuses == [302, 302, 429]
    assert EmailInvitation.objects.count() == 2


# --- The invited person ---------------------------------------------------------------------


def test_opening_the_link_marks_the_invitation_opened_and_the_lead_sees_it(
    client, send, lead_alice, partnership
):
    invitation, path = send()

    response = client.get(path)

    assert response.status_code == 200
    assert "Create an account" in response.text
    invitation.refresh_from_db()
    assert invitation.state == "opened"
    client.force_login(lead_alice)
    page = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk]))
    assert CONTACT in page.text
    assert "Opened" in page.text


def test_a_new_person_signs_up_from_the_link_and_confirms_the_membership(client, send, cedar):
    invitation, path = send()
    token = token_of(path)

    signup = client.post(reverse("partnerships:invitation_signup", args=[token]), signup_data())
    page = client.get(signup.url)
    answer = client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})

    assert signup.status_code == 302
    assert "Confirm that Cedar Primary joins" in page.text
    assert answer.status_code == 302
    user = User.objects.get(email=CONTACT)
    assert user.is_active
    # The invitation does not vouch: the acceptance waits for programme staff.
    assert SchoolLead.objects.get(user=user, school=cedar).verified_at is None
    assert LeadVerificationRequest.objects.filter(
        user=user, school=cedar, status="pending", source="invitation"
    ).exists()
    invitation.refresh_from_db()
    assert (invitation.state, invitation.answered_by) == ("accepted", user)
    assert invitation.membership.status == Membership.Status.ACCEPTED
    assert invitation.membership.responded_by == user


def test_the_invited_person_can_decline(client, send):
    invitation, path = send()
    token = token_of(path)
    client.post(reverse("partnerships:invitation_signup", args=[token]), signup_data())

    client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "decline"})

    invitation.refresh_from_db()
    assert invitation.state == "declined"
    assert invitation.membership.status == Membership.Status.DECLINED


def test_a_weak_password_on_the_invitation_signup_is_refused(client, send):
    _, path = send()

    response = client.post(
        reverse("partnerships:invitation_signup", args=[token_of(path)]),
        signup_data(password1="12345678", password2="12345678"),
    )

    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert not User.objects.filter(email=CONTACT).exists()


def test_an_invited_address_that_has_an_account_is_asked_to_log_in_and_then_answers(client, send, cedar):
    existing = factories.LeadFactory(email=CONTACT)
    _, path = send()
    token = token_of(path)

    signup = client.post(reverse("partnerships:invitation_signup", args=[token]), signup_data())
    client.force_login(existing)
    client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})

    assert "already has an account" in signup.text
    assert User.objects.filter(email=CONTACT).count() == 1
    assert SchoolLead.objects.get(user=existing, school=cedar).verified_at is None
    assert Membership.objects.get(school=cedar).status == Membership.Status.ACCEPTED


def test_a_verified_lead_of_the_invited_school_may_answer_for_it(client, send, cedar):
    colleague = factories.LeadFactory(email="head@cedar.sch.uk")
    factories.link_lead(colleague, cedar)
    _, path = send()

    client.force_login(colleague)
    response = client.post(
        reverse("partnerships:invitation_answer", args=[token_of(path)]), {"answer": "confirm"}
    )

    assert response.status_code == 302
    assert Membership.objects.get(school=cedar).status == Membership.Status.CONFIRMED


# --- Links that cannot be used: a clear page, nothing changed -------------------------------


def _answer_views(client, token):
    return [
        client.get(reverse("partnerships:invitation_open", args=[token])),
        client.get(reverse("partnerships:invitation_signup", args=[token])),
        client.post(reverse("partnerships:invitation_signup", args=[token]), signup_data()),
    ]


def test_an_expired_invitation_link_gives_a_clear_page_and_changes_nothing(client, send):
    invitation, path = send()
    EmailInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=15), expires_at=timezone.now() - timedelta(days=1)
    )
    before = snapshot(invitation)

    for response in _answer_views(client, token_of(path)):
        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert "Nothing has been changed" in response.text
    assert snapshot(invitation) == before


def test_an_invitation_link_past_its_signature_age_is_expired(client, send, monkeypatch):
    invitation, path = send()
    before = snapshot(invitation)
    monkeypatch.setattr(invitations, "INVITATION_DAYS", 0)

    response = client.get(path)

    assert response.status_code == 410
    assert "expired" in response.text
    assert snapshot(invitation) == before


def test_a_used_invitation_link_gives_a_clear_page_and_changes_nothing(client, send):
    invitation, path = send()
    token = token_of(path)
    client.post(reverse("partnerships:invitation_signup", args=[token]), signup_data())
    client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})
    before = snapshot(invitation)

    again = [
        *_answer_views(client, token),
        client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "decline"}),
    ]

    assert [r.status_code for r in again] == [410, 302, 302, 410]  # signed in: sign-up sends you back
    assert "already been accepted" in again[0].text
    assert "already been accepted" in again[-1].text
    assert snapshot(invitation) == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: signing.dumps({"i": 10**9, "n": "x"}, salt=invitations.INVITATION_SALT)[:-1] + "A",
        lambda t: signing.dumps({"i": 1, "n": "x"}, salt="another-salt"),
        lambda t: "garbage",
    ],
    ids=["signature", "forged", "other-salt", "garbage"],
)
def test_a_tampered_invitation_link_gives_a_clear_page_and_changes_nothing(client, send, lead_alice, tamper):
    invitation, path = send()
    bad = tamper(token_of(path))
    before = snapshot(invitation)

    responses = _answer_views(client, bad)
    client.force_login(lead_alice)
    responses.append(
        client.post(reverse("partnerships:invitation_answer", args=[bad]), {"answer": "confirm"})
    )

    for response in responses:
        assert response.status_code == 400
        assert "This link is not valid" in response.text
    assert snapshot(invitation) == before


def test_an_unknown_invitation_id_with_a_valid_signature_is_not_valid(client, db):
    token = signing.dumps({"i": 10**9, "n": "x"}, salt=invitations.INVITATION_SALT)

    response = client.get(reverse("partnerships:invitation_open", args=[token]))

    assert response.status_code == 400


def test_an_invitation_link_opened_by_the_wrong_user_changes_nothing(client, send, lead_bob, staff_carol):
    invitation, path = send()
    token = token_of(path)
    before = snapshot(invitation)

    for user in (lead_bob, staff_carol):
        client.force_login(user)
        opened = client.get(path)
        answered = client.post(reverse("partnerships:invitation_answer", args=[token]), {"answer": "confirm"})
        for response in (opened, answered):
            assert response.status_code == 403
            assert "This link is for someone else" in response.text
    assert snapshot(invitation) == before


def test_resending_makes_the_old_link_stop_working_and_the_new_one_last_14_days(
    client, send, lead_alice, django_capture_on_commit_callbacks
):
    invitation, old_path = send()
    EmailInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=20), expires_at=timezone.now() - timedelta(days=6)
    )
    client.force_login(lead_alice)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("partnerships:invitation_resend", args=[invitation.pk]))
    client.logout()

    invitation.refresh_from_db()
    assert invitation.state == "sent"
    assert invitation.expires_at > timezone.now() + timedelta(days=13)
    new_path = link_in(mail.outbox[-1])
    old = client.get(old_path)
    assert old.status_code == 410
    assert "This link has been replaced" in old.text
    assert client.get(new_path).status_code == 200


def test_withdrawing_stops_the_link_and_withdraws_the_schools_invitation(client, send, lead_alice):
    invitation, path = send()
    client.force_login(lead_alice)

    client.post(reverse("partnerships:invitation_withdraw", args=[invitation.pk]))
    client.logout()

    invitation.refresh_from_db()
    assert invitation.state == "withdrawn"
    assert invitation.membership is None  # the invited membership is removed
    response = client.get(path)
    assert response.status_code == 410
    assert "withdrawn" in response.text


def test_removing_the_school_on_the_partnership_page_also_stops_the_link(client, send, lead_alice):
    invitation, path = send()
    client.force_login(lead_alice)
    client.post(reverse("partnerships:membership_remove", args=[invitation.membership_id]))
    client.logout()

    assert client.get(path).status_code == 410
    invitation.refresh_from_db()
    assert invitation.state == "withdrawn"


def test_an_answered_invitation_cannot_be_withdrawn_or_resent(send, lead_alice, cedar):
    invitation, _ = send()
    colleague = factories.LeadFactory()
    factories.link_lead(colleague, cedar)
    invitations.invitation_answer(token=invitations.invitation_token(invitation), accept=True, by=colleague)

    with pytest.raises(ValidationError, match="already been accepted"):
        invitations.invitation_withdraw(invitation_id=invitation.pk, by=lead_alice)
    with pytest.raises(ValidationError, match="been accepted"):
        invitations.invitation_resend(invitation_id=invitation.pk, by=lead_alice)


def test_another_lead_cannot_resend_or_withdraw(client, send, lead_bob):
    invitation, _ = send()
    client.force_login(lead_bob)

    assert client.post(reverse("partnerships:invitation_resend", args=[invitation.pk])).status_code == 404
    assert client.post(reverse("partnerships:invitation_withdraw", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == "sent"


@pytest.mark.parametrize(
    ("days_old", "state"), [(13, "sent"), (15, "expired")], ids=["inside-14-days", "past-14-days"]
)
def test_the_partnership_page_shows_each_invitations_state(
    client, send, lead_alice, partnership, days_old, state
):
    invitation, _ = send()
    sent = timezone.now() - timedelta(days=days_old)
    EmailInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=sent, expires_at=sent + timedelta(days=14)
    )
    client.force_login(lead_alice)

    response = client.get(reverse("partnerships:partnership_detail", args=[partnership.pk]))

    row = re.search(r"<tr>\s*<td>" + re.escape(CONTACT) + r".*?</tr>", response.text, re.S).group(0)
    assert f">{state.capitalize()}<" in row


def test_posting_the_invitation_form_without_a_school_is_a_clear_400(client, partnership, lead_alice):
    client.force_login(lead_alice)

    response = client.post(reverse("partnerships:email_invite", args=[partnership.pk]), {"email": CONTACT})

    assert response.status_code == 400
    assert "Choose the school to invite" in response.text
    assert not EmailInvitation.objects.exists()
