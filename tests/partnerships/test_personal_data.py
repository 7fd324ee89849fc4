"""Personal data (partnerships/privacy.py): download it, close the account, and the retention
purge (`manage.py purge_personal_data`). Grants, the audit trail and statistics stay whole."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from grants import services as grant_services
from grants.models import Application, AuditEvent
from messaging.models import Notification
from partnerships.models import EmailInvitation, Partnership, SchoolLead
from tests import factories


@pytest.fixture
def history(cohort, school_a, lead_alice):
    """Alice started a partnership and its application (an audit event), invited a school by
    e-mail, and has a notification."""
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school_a, created_by=lead_alice)
    application = grant_services.application_start(partnership_id=partnership.pk, by=lead_alice)
    factories.EmailInvitationFactory(partnership=partnership, invited_by=lead_alice, email="sam@cedar.sch.uk")
    Notification.objects.create(user=lead_alice, kind="test", title="Applications close soon")
    return {"partnership": partnership, "application": application}


def test_a_lead_downloads_their_personal_data_as_json(client, lead_alice, history):
    client.force_login(lead_alice)

    response = client.get(reverse("partnerships:personal_data_download"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["username"] == "lead_alice"
    assert data["account"]["email"] == lead_alice.email
    assert data["schools"][0]["school"] == "Alder Primary School"
    assert data["partnerships_started"][0]["partnership"] == history["partnership"].name
    assert [e["action"] for e in data["audit_events"]] == ["started"]
    assert data["email_invitations_sent"][0]["email"] == "sam@cedar.sch.uk"
    assert data["notifications"][0]["title"] == "Applications close soon"


def test_the_download_holds_only_the_users_own_data(client, lead_alice, lead_bob, history):
    client.force_login(lead_bob)

    data = json.loads(client.get(reverse("partnerships:personal_data_download")).content)

    assert data["account"]["username"] == "lead_bob"
    assert data["audit_events"] == []
    assert data["email_invitations_sent"] == []
    assert "Alder Primary School" not in json.dumps(data)


def _assert_anonymised(user_pk, *, old_username):
    user = User.objects.get(pk=user_pk)
    assert user.username == f"closed-{user_pk}"
    assert (user.first_name, user.last_name, user.email) == ("", "", "")
    assert not user.is_active
    assert not user.has_usable_password()
    assert not User.objects.filter(username=old_username).exists()
    assert not Notification.objects.filter(user=user).exists()
    return user


def test_closing_the_account_anonymises_it_and_keeps_grants_and_audit(client, lead_alice, history, password):
    AccessAttempt.objects.create(username="lead_alice", ip_address="127.0.0.1", failures_since_start=1)
    client.force_login(lead_alice)
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("partnerships:account_close"), {"password": password, "understood": "on"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "Your account is closed" in response.text
    user = _assert_anonymised(lead_alice.pk, old_username="lead_alice")
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.get(application=history["application"]).actor == user
    assert Application.objects.filter(pk=history["application"].pk).exists()
    assert Partnership.objects.get(pk=history["partnership"].pk).created_by == user
    assert SchoolLead.objects.get(user=user).role_at_school == ""
    assert not AccessAttempt.objects.filter(username="lead_alice").exists()
    assert client.get(reverse("partnerships:lead_home")).status_code == 302  # logged out
    login = client.post(reverse("login"), {"username": "lead_alice", "password": password})
    assert login.status_code == 200  # the form again, with an error: nobody is logged in
    assert "_auth_user_id" not in client.session


def test_closing_needs_the_right_password_and_changes_nothing_otherwise(client, lead_alice):
    client.force_login(lead_alice)

    response = client.post(reverse("partnerships:account_close"), {"password": "wrong", "understood": "on"})

    assert response.status_code == 400
    assert "That is not your password" in response.text
    lead_alice.refresh_from_db()
    assert lead_alice.is_active
    assert lead_alice.username == "lead_alice"


def test_closing_needs_the_box_ticked(client, lead_alice, password):
    client.force_login(lead_alice)

    response = client.post(reverse("partnerships:account_close"), {"password": password})

    assert response.status_code == 400
    lead_alice.refresh_from_db()
    assert lead_alice.is_active


def test_invitations_sent_to_a_closed_account_lose_the_address(client, history, password):
    invited = factories.LeadFactory(email="sam@cedar.sch.uk")
    client.force_login(invited)

    client.post(reverse("partnerships:account_close"), {"password": password, "understood": "on"})

    invitation = EmailInvitation.objects.get()
    assert invitation.email == ""
    assert invitation.state == "withdrawn"


# --- purge_personal_data ------------------------------------------------------------------


@pytest.fixture
def idle(db):
    """Users who last logged in 400 and 300 days ago, one who never logged in and joined 500
    days ago, and an admin idle for 1,000 days."""
    now = timezone.now()
    old = factories.LeadFactory(username="old_lead", last_login=now - timedelta(days=400))
    recent = factories.LeadFactory(username="recent_lead", last_login=now - timedelta(days=300))
    never = factories.LeadFactory(username="never_logged_in", last_login=None)
    User.objects.filter(pk=never.pk).update(date_joined=now - timedelta(days=500))
    admin = factories.AdminFactory(username="old_admin", last_login=now - timedelta(days=1000))
    return {"old": old, "recent": recent, "never": never, "admin": admin}


def purge(*args):
    out = StringIO()
    call_command("purge_personal_data", *args, stdout=out)
    return out.getvalue()


def test_purge_dry_run_says_what_it_would_do_and_changes_nothing(idle):
    before = list(User.objects.order_by("pk").values_list("username", "email", "is_active"))

    output = purge("--older-than", "365", "--dry-run")

    assert "Would anonymise 2 user(s)" in output
    assert list(User.objects.order_by("pk").values_list("username", "email", "is_active")) == before


def test_purge_anonymises_users_inactive_past_the_retention_period_only(idle):
    output = purge("--older-than", "365")

    assert "Anonymised 2 user(s)" in output
    _assert_anonymised(idle["old"].pk, old_username="old_lead")
    _assert_anonymised(idle["never"].pk, old_username="never_logged_in")
    assert User.objects.get(pk=idle["recent"].pk).username == "recent_lead"
    assert User.objects.get(pk=idle["admin"].pk).username == "old_admin"


def test_purge_edge_one_day_either_side_of_the_last_log_in(idle):
    purge("--older-than", "401")  # only the one who joined 500 days ago and never logged in
    assert User.objects.get(pk=idle["old"].pk).username == "old_lead"

    purge("--older-than", "399")
    _assert_anonymised(idle["old"].pk, old_username="old_lead")


def test_purge_keeps_audit_and_applications_of_anonymised_users(idle, cohort):
    lead = idle["old"]
    school = factories.SchoolFactory()
    factories.link_lead(lead, school)
    partnership = factories.PartnershipFactory(cohort=cohort, lead_school=school)
    application = grant_services.application_start(partnership_id=partnership.pk, by=lead)

    purge("--older-than", "365")

    assert AuditEvent.objects.get(application=application).actor_id == lead.pk
    assert Application.objects.filter(pk=application.pk).exists()


def test_purge_twice_changes_nothing_more(idle):
    purge("--older-than", "365")

    assert "Anonymised 0 user(s)" in purge("--older-than", "365")


def test_purge_removes_addresses_of_long_finished_invitations(db):
    old = factories.EmailInvitationFactory(sent_at=timezone.now() - timedelta(days=400))
    live = factories.EmailInvitationFactory()

    purge("--older-than", "365")

    old.refresh_from_db()
    live.refresh_from_db()
    assert old.email == ""
    assert live.email != ""


def test_purge_refuses_a_retention_period_below_one_day(db):
    with pytest.raises(CommandError):
        purge("--older-than", "0")
