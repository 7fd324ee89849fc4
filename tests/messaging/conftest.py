"""The grants fixtures (a partnership of five, its draft, application_in) for the outbox tests."""

from tests.grants.conftest import application_in, draft, partnership  # noqa: F401
