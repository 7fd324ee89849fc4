"""Every URL pattern × every role × read/write: the expected status, from the rows each app
keeps in tests/<app>/permission_rows.py (see tests/matrix.py)."""

import importlib
import pkgutil

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from tests.matrix import ROLES, Row

# URL namespaces not in the matrix, with the reason.
EXEMPT_NAMESPACES = {"admin": "Django admin: staff-only by Django itself (is_staff), tested in tests/portal"}


def all_rows() -> list[Row]:
    rows = []
    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            rows_module = importlib.import_module(f"tests.{module.name}.permission_rows")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{module.name}.permission_rows":
                raise
            continue
        rows.extend(rows_module.ROWS)
    return rows


def url_names(resolver=None, namespace="") -> set[str]:
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            if inner in EXEMPT_NAMESPACES:
                continue
            prefix = f"{namespace}{inner}:" if inner else namespace
            names |= url_names(pattern, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


ROWS = all_rows()


def test_every_url_pattern_has_a_row_in_the_matrix():
    covered = {row.url_name for row in ROWS}

    missing = sorted(url_names() - covered)

    assert not missing, f"URL patterns without a permission-matrix row: {missing}"


def test_rows_name_only_real_url_patterns():
    assert {row.url_name for row in ROWS} <= url_names()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_permission_matrix(client, world, row, role):
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    url = reverse(row.url_name, args=row.args(world))

    response = getattr(client, row.method)(url, row.data(world)) if row.method == "post" else client.get(url)

    expected = row.expect.get(role, row.expect["other_lead"])  # claimants: as a lead with no stake
    assert response.status_code == expected, (
        f"{row.id} as {role}: expected {expected}, got {response.status_code}"
    )
