"""Sign-up, e-mail confirmation and verification of a lead for their school (partnerships/onboarding.py)."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail, signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from grants import services as grant_services
from messaging.models import Notification
from partnerships import onboarding
from partnerships.models import (
    EmailConfirmation,
    LeadVerificationRequest,
    SchoolLead,
    VerifiedDomain,
)
from portal.roles import LEADS_GROUP, Role, role_of
from tests import factories

PASSWORD = "Kestrel-orbit-7-lantern"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def beech(db):
    return factories.SchoolFactory(name="Beech Academy", urn=137001, postcode="FY4 1AB", phase="secondary")


def link_in(message) -> str:
    """The portal path of the (only) portal link in an e-mail's plain-text part."""
    base = re.escape(settings.PORTAL_BASE_URL.rstrip("/"))
    found = re.findall(base + r"(/\S+)", message.body)
    assert found, message.body
    return found[0]


def sign_up(client, commit, school, **overrides):
    data = {
        "school": school.pk,
        "first_name": "Nia",
        "last_name": "Okafor",
        "email": "nia.okafor@beech.lancs.sch.uk",
        "role_at_school": "Head of science",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }
    with commit(execute=True):
        return client.post(reverse("partnerships:signup"), data)


def confirm(client, commit, path, password=PASSWORD):
    with commit(execute=True):
        return client.post(path, {"password": password})


def signed_up(client, commit, school, **overrides) -> tuple[User, str]:
    mail.outbox.clear()
    sign_up(client, commit, school, **overrides)
    email = overrides.get("email", "nia.okafor@beech.lancs.sch.uk")
    return User.objects.get(email=email), link_in(mail.outbox[-1])


def snapshot(user):
    user.refresh_from_db()
    return (
        user.is_active,
        user.password,
        list(SchoolLead.objects.filter(user=user).values_list("school_id", "verified_at")),
        list(EmailConfirmation.objects.filter(user=user).values_list("confirmed_at", flat=True)),
        LeadVerificationRequest.objects.filter(user=user).count(),
    )


# --- Finding the school -----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Beech", "137001", "FY4"])
def test_signup_finds_the_school_by_name_urn_or_postcode(client, beech, query):
    factories.SchoolFactory(name="Oak Primary", urn=137002, postcode="LA1 1AA")

    response = client.get(reverse("partnerships:signup"), {"q": query})

    assert response.status_code == 200
    assert "Beech Academy" in response.text
    assert "Oak Primary" not in response.text
    assert f"?school={beech.pk}" in response.text


def test_signup_does_not_offer_closed_schools(client, db):
    factories.SchoolFactory(name="Closed Beech School", is_open=False)

    response = client.get(reverse("partnerships:signup"), {"q": "Closed Beech"})

    assert "Closed Beech School" not in response.text


def test_signup_with_an_unknown_school_id_is_a_clear_400(client, db):
    response = client.get(reverse("partnerships:signup"), {"school": "999999999"})

    assert response.status_code == 400
    assert "not in the register" in response.text


def test_a_logged_in_user_is_sent_home_from_signup(client, lead_alice):
    client.force_login(lead_alice)

    assert client.get(reverse("partnerships:signup")).status_code == 302


# --- Signing up -------------------------------------------------------------------------------


def test_signup_creates_an_inactive_lead_with_an_unverified_link_and_mails_a_link(
    client, beech, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks, beech)

    assert response.status_code == 302
    assert response.url == reverse("partnerships:signup_done")
    user = User.objects.get(email="nia.okafor@beech.lancs.sch.uk")
    assert not user.is_active
    assert user.groups.filter(name=LEADS_GROUP).exists()
    link = SchoolLead.objects.get(user=user)
    assert (link.school, link.role_at_school, link.verified_at) == (beech, "Head of science", None)
    assert user.check_password(PASSWORD)
    (message,) = mail.outbox
    assert message.to == ["nia.okafor@beech.lancs.sch.uk"]
    assert link_in(message).startswith("/partnerships/signup/confirm/")
    assert message.alternatives
    assert message.alternatives[0][1] == "text/html"
    assert settings.PORTAL_BASE_URL in message.alternatives[0][0]


def test_a_weak_password_is_refused_with_the_validators_message(
    client, beech, django_capture_on_commit_callbacks
):
    response = sign_up(
        client, django_capture_on_commit_callbacks, beech, password1="password", password2="password"
    )

    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "too common" in response.text
    assert not User.objects.filter(email="nia.okafor@beech.lancs.sch.uk").exists()
    assert not mail.outbox


def test_different_passwords_are_refused(client, beech, django_capture_on_commit_callbacks):
    response = sign_up(client, django_capture_on_commit_callbacks, beech, password2=PASSWORD + "x")

    assert response.status_code == 400
    assert "The two passwords are different" in response.text


def test_signup_answers_the_same_for_a_known_address_a_known_school_and_a_new_one(
    client, beech, lead_bob, django_capture_on_commit_callbacks
):
    """lead_bob already leads Beech Academy: signing up with his address, or for his school,
    looks exactly like a first sign-up."""
    new = sign_up(client, django_capture_on_commit_callbacks, factories.SchoolFactory(), email="new@x.sch.uk")
    known_school = sign_up(
        client, django_capture_on_commit_callbacks, beech, email="other@beech.lancs.sch.uk"
    )
    known_address = sign_up(client, django_capture_on_commit_callbacks, beech, email=lead_bob.email.upper())

    assert new.status_code == known_school.status_code == known_address.status_code == 302
    assert new.url == known_school.url == known_address.url
    pages = [client.get(r.url).text for r in (new, known_school, known_address)]
    assert pages[0] == pages[1] == pages[2]
    assert User.objects.filter(email__iexact=lead_bob.email).count() == 1
    told = [m for m in mail.outbox if m.to == [lead_bob.email]]
    assert len(told) == 1
    assert "already has one" in told[0].body
    assert link_in(told[0]) == reverse("login")


def test_signing_up_again_before_confirming_replaces_the_pending_signup(
    client, beech, django_capture_on_commit_callbacks
):
    user, first_link = signed_up(client, django_capture_on_commit_callbacks, beech)
    oak = factories.SchoolFactory(name="Oak Primary")

    _, second_link = signed_up(
        client,
        django_capture_on_commit_callbacks,
        oak,
        password1="Another-pass-99x",
        password2="Another-pass-99x",
    )

    assert User.objects.filter(email=user.email).count() == 1
    assert list(SchoolLead.objects.filter(user=user).values_list("school", flat=True)) == [oak.pk]
    assert client.get(first_link).status_code == 410  # the old link no longer works
    assert (
        confirm(client, django_capture_on_commit_callbacks, second_link, "Another-pass-99x").status_code
        == 302
    )


def test_signup_is_rate_limited_per_address_with_a_429_page(
    client, beech, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_RATE_LIMITS = {"signup": (2, 3600)}
    for n in range(2):
        assert (
            sign_up(client, django_capture_on_commit_callbacks, beech, email=f"n{n}@b.sch.uk").status_code
            == 302
        )

    response = sign_up(client, django_capture_on_commit_callbacks, beech, email="n3@b.sch.uk")

    assert response.status_code == 429
    assert "Too many sign-ups" in response.text
    assert not User.objects.filter(email="n3@b.sch.uk").exists()


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client, lead_alice):
    known = client.post(reverse("password_reset"), {"email": lead_alice.email}, follow=True)
    unknown = client.post(reverse("password_reset"), {"email": "nobody@nowhere.sch.uk"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert known.content == unknown.content
    assert [m.to for m in mail.outbox] == [[lead_alice.email]]


# --- Confirming the address -----------------------------------------------------------------


def test_the_link_and_the_password_confirm_the_address_log_in_and_ask_staff(
    client, beech, staff_carol, django_capture_on_commit_callbacks
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    mail.outbox.clear()

    response = confirm(client, django_capture_on_commit_callbacks, path)

    assert response.status_code == 302
    assert response.url == reverse("partnerships:lead_home")
    user.refresh_from_db()
    assert user.is_active
    assert EmailConfirmation.objects.get(user=user).confirmed_at is not None
    assert SchoolLead.objects.get(user=user).verified_at is None
    request = LeadVerificationRequest.objects.get(user=user)
    assert (request.school, request.status) == (beech, "pending")
    assert [m.to for m in mail.outbox] == [[staff_carol.email]]
    assert link_in(mail.outbox[0]) == reverse("partnerships:verification_requests")
    assert Notification.objects.filter(user=staff_carol, kind="verification_request").exists()
    home = client.get(response.url)
    assert "Waiting for programme staff" in home.text


def test_the_wrong_password_on_the_confirmation_page_changes_nothing(
    client, beech, django_capture_on_commit_callbacks
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    before = snapshot(user)

    response = confirm(client, django_capture_on_commit_callbacks, path, "not-the-password")

    assert response.status_code == 400
    assert "not the password you chose" in response.text
    assert snapshot(user) == before
    assert "_auth_user_id" not in client.session


def test_a_used_confirmation_link_gives_a_clear_page_and_changes_nothing(
    client, beech, django_capture_on_commit_callbacks
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    confirm(client, django_capture_on_commit_callbacks, path)
    client.logout()
    before = snapshot(user)

    for response in (client.get(path), confirm(client, django_capture_on_commit_callbacks, path)):
        assert response.status_code == 410
        assert "This link has already been used" in response.text
        assert "Nothing has been changed" in response.text
    assert snapshot(user) == before


def test_an_expired_confirmation_link_gives_a_clear_page_and_changes_nothing(
    client, beech, django_capture_on_commit_callbacks, monkeypatch
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    before = snapshot(user)
    monkeypatch.setattr(onboarding, "VERIFY_MAX_AGE", -1)

    for response in (client.get(path), confirm(client, django_capture_on_commit_callbacks, path)):
        assert response.status_code == 410
        assert "This link has expired" in response.text
    assert snapshot(user) == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.replace(":", ":x", 1),
        lambda token: signing.dumps({"u": 1, "h": "0" * 32}, salt="another-salt"),
        lambda token: "not-a-token",
    ],
    ids=["signature", "payload", "other-salt", "garbage"],
)
def test_a_tampered_confirmation_link_gives_a_clear_page_and_changes_nothing(
    client, beech, django_capture_on_commit_callbacks, tamper
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    token = path.rstrip("/").rsplit("/", 1)[1]
    before = snapshot(user)
    bad = reverse("partnerships:verify_email", args=[tamper(token)])

    for response in (client.get(bad), confirm(client, django_capture_on_commit_callbacks, bad)):
        assert response.status_code == 400
        assert "This link is not valid" in response.text
    assert snapshot(user) == before


def test_a_token_signed_for_another_user_with_a_forged_hash_is_refused(
    client, beech, django_capture_on_commit_callbacks
):
    user, _ = signed_up(client, django_capture_on_commit_callbacks, beech)
    forged = signing.dumps({"u": user.pk, "h": "0" * 32}, salt=onboarding.VERIFY_SALT)

    response = client.get(reverse("partnerships:verify_email", args=[forged]))

    assert response.status_code == 410
    assert not User.objects.get(pk=user.pk).is_active


def test_a_confirmation_link_opened_by_another_logged_in_user_changes_nothing(
    client, beech, lead_alice, django_capture_on_commit_callbacks
):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    before = snapshot(user)
    client.force_login(lead_alice)

    for response in (client.get(path), confirm(client, django_capture_on_commit_callbacks, path)):
        assert response.status_code == 403
        assert "This link is for someone else" in response.text
    assert snapshot(user) == before


# --- Verification for the school ------------------------------------------------------------


def test_an_address_at_a_domain_verified_for_the_school_is_verified_at_once(
    client, beech, staff_carol, django_capture_on_commit_callbacks
):
    VerifiedDomain.objects.create(school=beech, domain="beech.lancs.sch.uk")
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    mail.outbox.clear()

    confirm(client, django_capture_on_commit_callbacks, path)

    assert SchoolLead.objects.get(user=user).verified_at is not None
    assert not LeadVerificationRequest.objects.filter(user=user).exists()
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "You are verified as a lead of Beech Academy" in mail.outbox[0].subject


def test_a_domain_verified_for_another_school_does_not_count(
    client, beech, django_capture_on_commit_callbacks
):
    VerifiedDomain.objects.create(school=factories.SchoolFactory(), domain="beech.lancs.sch.uk")
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)

    confirm(client, django_capture_on_commit_callbacks, path)

    assert SchoolLead.objects.get(user=user).verified_at is None
    assert LeadVerificationRequest.objects.filter(user=user, status="pending").exists()


def test_a_public_mail_domain_is_never_verified_automatically(
    client, beech, django_capture_on_commit_callbacks
):
    VerifiedDomain.objects.create(school=beech, domain="gmail.com")
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech, email="nia@gmail.com")

    confirm(client, django_capture_on_commit_callbacks, path)

    assert SchoolLead.objects.get(user=user).verified_at is None


@pytest.fixture
def pending(client, beech, django_capture_on_commit_callbacks):
    user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    confirm(client, django_capture_on_commit_callbacks, path)
    client.logout()
    mail.outbox.clear()
    return LeadVerificationRequest.objects.get(user=user)


def test_staff_see_pending_requests(client, pending, staff_carol):
    client.force_login(staff_carol)

    response = client.get(reverse("partnerships:verification_requests"))

    assert "Nia Okafor" in response.text
    assert "1 request waiting" in response.text


def test_staff_approval_verifies_the_lead_and_tells_them_but_learns_no_domain(
    client, pending, staff_carol, django_capture_on_commit_callbacks
):
    client.force_login(staff_carol)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("partnerships:verification_decide", args=[pending.pk]), {"decision": "approve"}
        )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("approved", staff_carol)
    assert SchoolLead.objects.get(user=pending.user).verified_at is not None
    assert not VerifiedDomain.objects.exists()  # one approval never teaches the portal a domain
    (message,) = mail.outbox
    assert message.to == [pending.user.email]
    assert "verified" in message.subject
    assert link_in(message) == reverse("partnerships:lead_home")
    assert Notification.objects.filter(user=pending.user, kind="verification_outcome").exists()


def test_staff_rejection_needs_a_reason(pending, staff_carol):
    with pytest.raises(ValidationError) as caught:
        onboarding.verification_decide(request_id=pending.pk, approve=False, by=staff_carol, reason="  ")

    assert "reason" in caught.value.message_dict
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_staff_rejection_removes_the_link_and_tells_the_lead_why(
    pending, staff_carol, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.verification_decide(
            request_id=pending.pk, approve=False, by=staff_carol, reason="Not on the school's staff list."
        )

    assert not SchoolLead.objects.filter(user=pending.user).exists()
    (message,) = mail.outbox
    assert "Not on the school's staff list." in message.body


def test_the_same_decision_twice_changes_nothing_and_a_different_one_is_refused(
    pending, staff_carol, admin_dan
):
    onboarding.verification_decide(request_id=pending.pk, approve=True, by=staff_carol)
    onboarding.verification_decide(request_id=pending.pk, approve=True, by=admin_dan)
    pending.refresh_from_db()
    assert pending.decided_by == staff_carol

    with pytest.raises(ValidationError, match="already been approved"):
        onboarding.verification_decide(request_id=pending.pk, approve=False, by=admin_dan, reason="No.")


def test_a_lead_cannot_decide_verification_requests(pending, lead_alice):
    with pytest.raises(PermissionDenied):
        onboarding.verification_decide(request_id=pending.pk, approve=True, by=lead_alice)


def test_nobody_verifies_themselves(pending, staff_carol):
    pending.user.groups.add(staff_carol.groups.first())
    pending.user._portal_group_names = None
    assert role_of(pending.user) == Role.STAFF

    with pytest.raises(PermissionDenied):
        onboarding.verification_decide(request_id=pending.pk, approve=True, by=pending.user)


# --- Until verified: draft, not submit --------------------------------------------------------


def _complete_application(lead, school, cohort):
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school, partners=4, created_by=lead)
    application = grant_services.application_start(partnership_id=partnership.pk, by=lead)
    grant_services.application_save_draft(
        application_id=application.pk,
        by=lead,
        fields={
            "aims": "Raise attainment.",
            "local_stem_issue": "Few choose science.",
            "planned_teacher_cpd": "Twilight CPD.",
            "planned_student_activities": "A STEM fair.",
            "timeline": "Autumn to summer.",
            "declaration_accurate": True,
            "declaration_state_funded": True,
            "declaration_data_sharing": True,
        },
        budget_lines=[{"category": "supply_cover", "amount": "1000.00", "note": ""}],
    )
    return application


@pytest.mark.parametrize("verified", [False, True])
def test_a_lead_drafts_before_verification_but_submits_only_after(cohort, school_a, verified):
    lead = factories.LeadFactory()
    SchoolLead.objects.create(
        user=lead, school=school_a, verified_at=factories.timezone.now() if verified else None
    )
    application = _complete_application(lead, school_a, cohort)

    if verified:
        assert grant_services.application_submit(application_id=application.pk, by=lead).status == "submitted"
    else:
        with pytest.raises(ValidationError, match="not yet confirmed that you work at"):
            grant_services.application_submit(application_id=application.pk, by=lead)
        application.refresh_from_db()
        assert application.status == "draft"


def test_the_verification_email_expires_after_three_days(
    beech, django_capture_on_commit_callbacks, client, monkeypatch
):
    _user, path = signed_up(client, django_capture_on_commit_callbacks, beech)
    assert int(timedelta(days=3).total_seconds()) == onboarding.VERIFY_MAX_AGE
    real_time = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + onboarding.VERIFY_MAX_AGE + 5)

    assert client.get(path).status_code == 410


def test_a_rejected_lead_sees_the_reason_on_their_home_page(client, pending, staff_carol):
    onboarding.verification_decide(
        request_id=pending.pk, approve=False, by=staff_carol, reason="Not on the school's staff list."
    )
    client.force_login(pending.user)

    response = client.get(reverse("partnerships:lead_home"))

    assert "could not confirm that you work at" in response.text
    assert "Not on the school&#x27;s staff list." in response.text
