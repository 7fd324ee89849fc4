"""Throttles as trusted systems do them: log-in delays a stranger cannot impose on a colleague's
usual browser, per-address limits, the client address trusted from configured proxies only,
password-reset and sign-up limits, and the same work for known and unknown addresses."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from portal import loginguard, throttle
from portal.models import LoginThrottle
from tests import factories
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def attempt(client, username, password="wrong-password", ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def rules(settings):
    settings.LOGIN_THROTTLE = {**loginguard.DEFAULTS, "account_free": 5, "device_free": 10, "ip_per_hour": 30}
    return settings.LOGIN_THROTTLE


# --- Per account, for browsers the account does not know ------------------------------------------


def test_four_wrong_passwords_leave_the_account_open_and_the_fifth_pauses_it(db, lead_alice, rules):
    stranger = Client()
    for _ in range(4):
        assert attempt(stranger, "lead_alice").status_code == 200
    assert attempt(stranger, "lead_alice", PASSWORD).status_code == 302  # 4 failures: still open

    other = Client()
    for _ in range(5):
        attempt(other, "lead_alice")
    response = attempt(other, "lead_alice", PASSWORD)

    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.text
    assert int(response["Retry-After"]) <= 60


def test_a_stranger_cannot_lock_a_colleague_out_of_the_browser_she_uses(db, lead_alice, rules):
    """Both behind the same school proxy: the stranger's guesses pause the account for unknown
    browsers only; Alice's browser, which has logged in before, still gets in."""
    alice = Client()
    assert attempt(alice, "lead_alice", PASSWORD, ip="198.51.100.1").status_code == 302
    alice.post("/accounts/logout/")
    stranger = Client()
    for _ in range(12):
        attempt(stranger, "lead_alice", ip="198.51.100.1")

    assert attempt(stranger, "lead_alice", PASSWORD, ip="198.51.100.1").status_code == 429
    assert attempt(alice, "lead_alice", PASSWORD, ip="198.51.100.1").status_code == 302


def test_the_pause_doubles_with_every_further_failure_up_to_an_hour(db, rules):
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="203.0.113.9")
    start = timezone.now()
    waits = []
    for n in range(12):
        now = start + timedelta(hours=2 * n)  # each failure after the last pause ended
        loginguard.record_failure(request, "someone", now=now)
        refusal = loginguard.refusal_for(request, "someone", now=now)
        waits.append(refusal.retry_after if refusal and refusal.reason == "account" else 0)

    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:8] == [61, 121, 241, 481]
    assert max(waits) == 3601


def test_failures_are_forgotten_after_a_quiet_day(db, rules):
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="203.0.113.9")
    long_ago = timezone.now() - timedelta(days=2)
    for _ in range(4):
        loginguard.record_failure(request, "someone", now=long_ago)

    loginguard.record_failure(request, "someone")

    assert loginguard.refusal_for(request, "someone") is None


def test_a_known_browser_has_its_own_allowance_and_is_paused_after_it(db, lead_alice, rules):
    alice = Client()
    attempt(alice, "lead_alice", PASSWORD)
    alice.post("/accounts/logout/")
    for _ in range(9):
        attempt(alice, "lead_alice")
    assert attempt(alice, "lead_alice", PASSWORD).status_code == 302  # 9 failures: still open
    alice.post("/accounts/logout/")

    for _ in range(10):
        attempt(alice, "lead_alice")

    assert attempt(alice, "lead_alice", PASSWORD).status_code == 429


def test_a_device_cookie_for_another_account_or_forged_is_not_trusted(db, lead_alice, lead_bob, rules):
    bob = Client()
    attempt(bob, "lead_bob", PASSWORD)
    bob.post("/accounts/logout/")
    forged = Client()
    forged.cookies[loginguard.DEVICE_COOKIE] = "not-signed"
    for client in (bob, forged):
        for _ in range(5):
            attempt(client, "lead_alice")

    assert attempt(bob, "lead_alice", PASSWORD).status_code == 429
    assert attempt(forged, "lead_alice", PASSWORD).status_code == 429


def test_the_device_cookie_is_signed_httponly_and_samesite(db, lead_alice, rules):
    response = attempt(Client(), "lead_alice", PASSWORD)

    cookie = response.cookies[loginguard.DEVICE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert "lead_alice" not in cookie.value


def test_an_unknown_username_is_counted_like_a_real_one(db, rules):
    client = Client()
    for _ in range(5):
        attempt(client, "nobody-here")

    assert attempt(client, "nobody-here").status_code == 429


# --- Per client address ---------------------------------------------------------------------------


def test_many_accounts_guessed_from_one_address_close_that_address(db, rules):
    """48 wrong passwords over 12 accounts (4 each, under the per-account allowance)."""
    users = [factories.LeadFactory(username=f"teacher{n}") for n in range(12)]
    attacker = Client()
    answers = [
        attempt(attacker, user.username, ip="192.0.2.66").status_code for user in users for _ in range(4)
    ]

    assert answers[:30] == [200] * 30
    assert set(answers[30:]) == {429}
    assert attempt(Client(), users[0].username, PASSWORD, ip="192.0.2.99").status_code == 302  # elsewhere


# --- The client's address ---------------------------------------------------------------------------


def request_from(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_x_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []

    assert throttle.client_ip(request_from("198.51.100.4", "1.2.3.4")) == "198.51.100.4"


def test_x_forwarded_for_is_read_only_from_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert throttle.client_ip(request_from("10.0.0.5", "203.0.113.50")) == "203.0.113.50"
    assert throttle.client_ip(request_from("198.51.100.4", "203.0.113.50")) == "198.51.100.4"


def test_a_client_cannot_choose_its_address_by_sending_the_header_itself(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # the client wrote "1.2.3.4, 10.9.9.9"; the proxy appended the address it saw
    forwarded = "1.2.3.4, 10.9.9.9, 203.0.113.50"

    assert throttle.client_ip(request_from("10.0.0.5", forwarded)) == "203.0.113.50"


@pytest.mark.parametrize("forwarded", ["", "garbage", "1.2.3.4, not-an-ip", "\x00", "999.1.1.1", " , , "])
def test_a_malformed_forwarded_header_never_breaks_the_address(settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    ip = throttle.client_ip(request_from("10.0.0.5", forwarded))

    assert ip == "10.0.0.5"


def test_ipv6_clients_are_limited_by_their_64_network():
    assert throttle.limit_key_for_ip("2001:db8:1:2:aaaa::1") == throttle.limit_key_for_ip(
        "2001:db8:1:2:bbbb::9"
    )
    assert throttle.limit_key_for_ip("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttle.limit_key_for_ip("::ffff:192.0.2.1") == "192.0.2.1"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from portal.env import env_networks

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.org")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")


# --- Password reset ---------------------------------------------------------------------------------


def test_password_reset_mail_is_limited_per_address_and_the_answer_never_changes(
    client, lead_alice, settings
):
    settings.PORTAL_RATE_LIMITS = {"password_reset_email": (3, 3600)}
    answers = [client.post("/accounts/password_reset/", {"email": lead_alice.email}) for _ in range(5)]

    assert {a.status_code for a in answers} == {302}
    assert len(mail.outbox) == 3  # nobody can mail-bomb a colleague through the reset form


def test_password_reset_is_limited_per_client_address(client, db, settings):
    settings.PORTAL_RATE_LIMITS = {"password_reset": (10, 3600)}
    answers = [
        client.post("/accounts/password_reset/", {"email": f"n{n}@example.org"}).status_code
        for n in range(11)
    ]

    assert answers == [302] * 10 + [429]


def test_the_reset_link_uses_the_portal_address_not_the_requests_host(client, lead_alice, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    settings.ALLOWED_HOSTS = ["*"]

    client.post("/accounts/password_reset/", {"email": lead_alice.email}, HTTP_HOST="evil.example")

    assert "https://portal.example.org/accounts/reset/" in mail.outbox[0].body
    assert "evil.example" not in mail.outbox[0].body


def test_a_known_and_an_unknown_address_cost_the_request_the_same(
    client, lead_alice, django_assert_num_queries
):
    """The lookup happens in the task, not the request: the same queries either way."""
    with mock.patch("portal.tasks.send_password_reset.delay") as queued:
        with django_assert_num_queries(0) as known:
            client.post("/accounts/password_reset/", {"email": lead_alice.email})
        with django_assert_num_queries(0) as unknown:
            client.post("/accounts/password_reset/", {"email": "nobody@example.org"})

    assert len(known.captured_queries) == len(unknown.captured_queries)
    assert queued.call_count == 2


def test_a_new_password_through_the_reset_link_lifts_the_pause(db, lead_alice, rules):
    for _ in range(5):
        attempt(Client(), "lead_alice")
    assert LoginThrottle.objects.filter(key=loginguard.account_key("lead_alice"), locked_until__isnull=False)

    loginguard.clear_account("lead_alice")

    assert attempt(Client(), "lead_alice", PASSWORD).status_code == 302


# --- Sign-up ------------------------------------------------------------------------------------------


def test_signing_up_with_a_known_or_a_new_address_hashes_a_password_once_either_way(
    db, lead_alice, school_b, monkeypatch
):
    from django.contrib.auth import hashers

    from partnerships import onboarding

    real = hashers.MD5PasswordHasher.encode  # the suite's hasher (settings: TESTING)
    calls = []

    def counting(self, password, salt):
        calls.append(password)
        return real(self, password, salt)

    monkeypatch.setattr(hashers.MD5PasswordHasher, "encode", counting)
    counts = []
    for email in (lead_alice.email, "brand.new@beech.sch.uk"):
        calls.clear()
        onboarding.lead_signup(
            first_name="A",
            last_name="B",
            email=email,
            role_at_school="Teacher",
            school=school_b,
            password="a-long-enough-password-9",
        )
        counts.append(len(calls))

    assert counts == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_sign_ups_for_one_address_are_limited_so_its_inbox_is_not_flooded(client, school_b, settings):
    from tests.partnerships.permission_rows import STRONG_PASSWORD

    settings.PORTAL_RATE_LIMITS = {"signup": (100, 3600)}
    data = {
        "school": school_b.pk,
        "first_name": "Nia",
        "last_name": "Okafor",
        "email": "nia@beech.sch.uk",
        "role_at_school": "Head of science",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
    }
    answers = [
        client.post(reverse("partnerships:signup"), data, REMOTE_ADDR=f"192.0.2.{n}") for n in range(5)
    ]

    assert {a.status_code for a in answers} == {302}
