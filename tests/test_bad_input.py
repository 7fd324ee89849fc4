"""Hypothesis throws hostile input at every endpoint in the permission matrix, as a user allowed
to use it: hostile form fields to every POST, hostile query strings to every GET, and hostile
Host headers, cookies and other headers to every URL. Never a 500; a form that is refused says
why; an unknown Host gets the plain 400 page."""

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.matrix import ROLES
from tests.test_permission_matrix import ROWS

HOSTILE_TEXT = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "-0.01",
            "0",
            "1e30",
            "12000.01",
            "NaN",
            "sNaN",
            "-sNaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "1E+999999999",
            "0x10",
            "\x01\x1f\x7f",
            "a\u2028b\u2029c\x85",
            "\ufeff12",
            "9" * 40,
            "\x00",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "x" * 20_000,
            "2026-02-30",
            "１２",
        ]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)

POST_ROWS = [row for row in ROWS if row.method == "post"]


def allowed_role(row) -> str | None:
    """The first signed-in role the matrix lets through (a 302 here is the success redirect)."""
    for role in ROLES[1:]:
        if row.expect[role] not in (403, 404, 405):
            return role
    return None


FUZZ_ROWS = [row for row in POST_ROWS if allowed_role(row)]


@pytest.mark.parametrize("row", FUZZ_ROWS, ids=lambda row: row.id)
def test_hostile_post_never_gives_a_500(client, world, row):
    client.force_login(world.users[allowed_role(row)])
    url = reverse(row.url_name, args=row.args(world))
    fields = sorted(row.data(world)) or ["name"]

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        data=st.fixed_dictionaries(
            {}, optional=dict.fromkeys([*fields, "id", "pk", "partnership"], HOSTILE_TEXT)
        )
    )
    def post(data):
        with transaction.atomic():
            response = client.post(url, data)
            transaction.set_rollback(True)
        assert response.status_code < 500, f"{row.id} with {data!r}: {response.status_code}"
        if response.status_code in (200, 400) and response.get("Content-Type", "").startswith("text/html"):
            body = response.content.decode()
            asks_to_confirm = 'name="confirm" value="yes"' in body  # an irreversible action's first step
            assert "There is a problem" in body or 'role="alert"' in body or asks_to_confirm, (
                f"{row.id}: refused without a message"
            )

    post()


GET_ROWS = [row for row in ROWS if row.method == "get" and allowed_role(row)]
QUERY_KEYS = ["page", "q", "cohort", "status", "region", "phase", "table", "format", "step", "next", "sort"]


@pytest.mark.parametrize("row", GET_ROWS, ids=lambda row: row.id)
def test_hostile_query_string_never_gives_a_500(client, world, row):
    client.force_login(world.users[allowed_role(row)])
    url = reverse(row.url_name, args=row.args(world))

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(params=st.dictionaries(st.sampled_from(QUERY_KEYS), HOSTILE_TEXT, max_size=4))
    def get(params):
        response = client.get(url, params)
        assert response.status_code < 500, f"{row.id} with {params!r}: {response.status_code}"

    get()


# --- Hostile headers: an unknown Host, garbage cookies and forwarded addresses ---------------------

HOSTILE_HOSTS = st.one_of(
    st.sampled_from(
        [
            "evil.example",
            "localhost:abc",
            "[::1",
            "127.0.0.1:99999",
            "a" * 300,
            "xn--80ak6aa92e.com",
            "host with spaces",
            "localhost\x00",
            "..",
            "",
        ]
    ),
    st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), min_size=1, max_size=40),
)
# A WSGI server hands header values over as latin-1 text (PEP 3333): UTF-8 bytes arrive as
# their latin-1 reading, so that is what the strategies send.
HOSTILE_HEADER = st.one_of(
    HOSTILE_TEXT.filter(lambda value: "\n" not in value and "\r" not in value),
    st.sampled_from(["1.2.3.4, not-an-ip", "999.999.999.999", "::::", "unknown", "' OR 1=1"]),
).map(lambda value: value.encode("utf-8").decode("latin-1"))
ALL_ROWS = [row for row in ROWS if allowed_role(row)]


def _allowed(host: str) -> bool:
    from django.conf import settings as django_settings
    from django.http.request import split_domain_port, validate_host

    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, django_settings.ALLOWED_HOSTS)


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda row: row.id)
def test_hostile_host_and_headers_never_give_a_500(client, world, row):
    client.force_login(world.users[allowed_role(row)])
    url = reverse(row.url_name, args=row.args(world))
    send = client.post if row.method == "post" else client.get

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(host=HOSTILE_HOSTS, header=HOSTILE_HEADER)
    def request(host, header):
        with transaction.atomic():
            response = send(
                url,
                HTTP_HOST=host,
                HTTP_X_FORWARDED_FOR=header,
                HTTP_USER_AGENT=header,
                HTTP_ACCEPT=header,
                HTTP_REFERER=header,
                HTTP_ACCEPT_LANGUAGE=header,
                HTTP_COOKIE=f"portal_device={header}; csrftoken={header}",
            )
            transaction.set_rollback(True)
        assert response.status_code < 500, f"{row.id} with Host {host!r}, {header!r}: {response.status_code}"
        if not _allowed(host):
            assert response.status_code == 400, f"{row.id} with Host {host!r}: {response.status_code}"

    request()


@pytest.mark.parametrize("host", ["evil.example", "localhost:abc", "[::1", "a" * 300])
def test_an_unknown_host_gets_the_plain_400_page(client, db, host):
    response = client.get("/accounts/login/", HTTP_HOST=host)

    assert response.status_code == 400
    assert "This site is not served at that address." in response.text
    assert host not in response.text  # the refused value is not echoed back


def test_an_error_page_that_cannot_be_drawn_falls_back_to_the_plain_one(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database is down")

    monkeypatch.setattr("portal.views.render", broken)
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "There is no page at this address." in response.text


def test_the_500_page_needs_nothing_that_can_fail(rf, monkeypatch):
    from portal.views import server_error

    monkeypatch.setattr("portal.views.render", lambda *a, **k: 1 / 0)

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert "Something went wrong" in response.text
