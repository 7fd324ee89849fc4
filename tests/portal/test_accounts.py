"""Each role logs in and lands on its own page; bad input gets a clear page, never a 500."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from portal.roles import (
    ADMINS_GROUP,
    FINANCE_GROUP,
    GROUP_PERMISSIONS,
    LEADS_GROUP,
    REVIEWERS_GROUP,
    STAFF_GROUP,
)
from tests.factories import PASSWORD, UserFactory


def test_the_groups_exist_with_their_permissions(db):
    for name in (LEADS_GROUP, STAFF_GROUP, FINANCE_GROUP, ADMINS_GROUP):
        group = Group.objects.get(name=name)
        assert group.permissions.exists(), name
    leads = Group.objects.get(name=LEADS_GROUP)
    assert leads.permissions.filter(codename="add_application").exists()
    assert not leads.permissions.filter(codename="delete_application").exists()
    # Reviewers hold no model permissions: their pages check their assignments (grants/review_views.py).
    assert Group.objects.get(name=REVIEWERS_GROUP).permissions.count() == 0
    assert len(GROUP_PERMISSIONS) == 5


def test_nobody_is_granted_editing_of_the_audit_trail(db):
    admins = Group.objects.get(name=ADMINS_GROUP)
    assert not admins.permissions.filter(codename__in=["change_auditevent", "delete_auditevent"]).exists()
    assert admins.permissions.filter(codename="view_auditevent").exists()


@pytest.mark.parametrize(
    ("user_fixture", "landing"),
    [
        ("lead_alice", "/partnerships/"),
        ("staff_carol", "/grants/review/"),
        ("finance_fay", "/grants/payments/"),
        ("admin_dan", "/evaluation/"),
    ],
)
def test_each_role_logs_in_and_lands_on_its_page(client, request, user_fixture, landing):
    user = request.getfixturevalue(user_fixture)

    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True)
    if "/account/two-factor/" in response.redirect_chain[-1][0]:  # staff and admins: the second factor
        from tests.conftest import current_totp

        response = client.post(response.redirect_chain[-1][0], {"token": current_totp(user)}, follow=True)

    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_user_without_a_role_is_told_so(client, db):
    user = UserFactory()
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 403
    assert b"no role yet" in response.content


def test_anonymous_visitor_is_sent_to_the_front_door(client, db):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url == "/programmes/"


def test_wrong_password_gets_a_clear_message(client, lead_alice):
    response = client.post("/accounts/login/", {"username": "lead_alice", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b"There is a problem" in response.content


def test_repeated_failures_lock_the_login(client, lead_alice, settings):
    for _ in range(settings.LOGIN_THROTTLE["account_free"]):
        client.post("/accounts/login/", {"username": "lead_alice", "password": "wrong"})

    response = client.post("/accounts/login/", {"username": "lead_alice", "password": PASSWORD})

    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content


def test_unknown_url_gets_a_404_page(client, db):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.parametrize("query", ["?%zz=%%%", "?next=%00", "?a=" + "x" * 5000, "?page=-1&page=abc"])
def test_malformed_query_string_never_gives_a_500(client, lead_alice, query):
    client.force_login(lead_alice)

    for path in ("/", "/accounts/login/", "/partnerships/", "/healthz"):
        assert client.get(path + query).status_code < 500


def test_password_reset_does_not_reveal_whether_an_address_exists(client, lead_alice):
    known = client.post("/accounts/password_reset/", {"email": lead_alice.email}, follow=True)
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.org"}, follow=True)

    assert known.content == unknown.content
    assert len(mail.outbox) == 1


def test_password_change_page_needs_login(client, lead_alice):
    assert client.get("/accounts/password_change/").status_code == 302
    client.force_login(lead_alice)
    assert client.get("/accounts/password_change/").status_code == 200


def test_logout_is_a_post(client, lead_alice):
    client.force_login(lead_alice)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/partnerships/").status_code == 302
