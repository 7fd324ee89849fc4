"""The application page reads in a fixed number of queries for staff and for the lead, however
much the application has (messages, history, schools): issue 21's cache-miss path. The counts are
exact so that a query added to the page fails here and is a decision, not an accident."""

import pytest
from django.urls import reverse

from grants import services
from grants.models import Application

S = Application.Status

# Per request: session, user, the user's groups, second-factor device(s); then the page's own.
# Before issue 21's miss-path work: 26 (staff) and 15 (lead); a lead with no second factor no
# longer costs the two device queries on every page (portal/two_factor.py keeps the answer cached).
STAFF_PAGE = 19
LEAD_PAGE = 12


pytestmark = pytest.mark.usefixtures("pages_drawn")  # a render's queries, not a cached page's


@pytest.fixture
def submitted(application_in):
    return application_in(S.SUBMITTED)


def _more_of_everything(application, lead, staff, n=3):
    for i in range(n):
        services.message_post(application_id=application.pk, by=lead, body=f"Question {i}", staff_only=False)
        services.message_post(application_id=application.pk, by=staff, body=f"Answer {i}", staff_only=False)


def _count(client, user, application, django_assert_num_queries, expected):
    client.force_login(user)
    url = reverse("grants:application_detail", args=[application.pk])
    client.get(url)  # the first request may fill per-user caches (header, regions)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


def test_the_staff_view_reads_in_a_fixed_number_of_queries(
    client, submitted, lead_alice, staff_carol, django_assert_num_queries
):
    _count(client, staff_carol, submitted, django_assert_num_queries, STAFF_PAGE)
    _more_of_everything(submitted, lead_alice, staff_carol)
    _count(client, staff_carol, submitted, django_assert_num_queries, STAFF_PAGE)


def test_the_leads_view_reads_in_a_fixed_number_of_queries(
    client, submitted, lead_alice, staff_carol, django_assert_num_queries
):
    _count(client, lead_alice, submitted, django_assert_num_queries, LEAD_PAGE)
    _more_of_everything(submitted, lead_alice, staff_carol)
    _count(client, lead_alice, submitted, django_assert_num_queries, LEAD_PAGE)
