"""Hypothesis throws hostile input at every POST endpoint in the permission matrix, as a
user allowed to use it: never a 500, and a form that is refused says why."""

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.matrix import ROLES, World
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
            "Infinity",
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
def test_hostile_post_never_gives_a_500(client, db, row):
    world = World()
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
            assert "There is a problem" in body or 'role="alert"' in body, (
                f"{row.id}: refused without a message"
            )

    post()


GET_ROWS = [row for row in ROWS if row.method == "get" and allowed_role(row)]
QUERY_KEYS = ["page", "q", "cohort", "status", "region", "phase", "table", "format", "step", "next", "sort"]


@pytest.mark.parametrize("row", GET_ROWS, ids=lambda row: row.id)
def test_hostile_query_string_never_gives_a_500(client, db, row):
    world = World()
    client.force_login(world.users[allowed_role(row)])
    url = reverse(row.url_name, args=row.args(world))

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(params=st.dictionaries(st.sampled_from(QUERY_KEYS), HOSTILE_TEXT, max_size=4))
    def get(params):
        response = client.get(url, params)
        assert response.status_code < 500, f"{row.id} with {params!r}: {response.status_code}"

    get()
