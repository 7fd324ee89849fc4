"""Security headers, CSRF, cookies, and deletes that would lose money records."""

import pytest
from django.db.models import ProtectedError
from django.test import Client

from tests.factories import ApplicationFactory


def test_pages_send_security_headers(client, db):
    response = client.get("/accounts/login/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_login_without_csrf_token_is_refused(db, lead_alice, password):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "lead_alice", "password": password})

    assert response.status_code == 403


def test_session_cookie_is_httponly_and_samesite(client, lead_alice, password):
    response = client.post("/accounts/login/", {"username": "lead_alice", "password": password})

    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_deleting_a_partnership_with_a_grant_is_refused(db):
    application = ApplicationFactory()

    with pytest.raises(ProtectedError):
        application.partnership.delete()


def test_deleting_a_school_in_a_partnership_is_refused(db):
    application = ApplicationFactory()

    with pytest.raises(ProtectedError):
        application.partnership.lead_school.delete()
