"""The dashboards: who sees what, the cohort page read from the stored summary (constant
query count), staleness, the rebuild button and its status endpoint, drill-down and CSV."""

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clusters.models import CPDActivity
from evaluation import tasks
from evaluation.models import CohortSummary
from evaluation.summaries import summary_tables
from partnerships.models import Membership, Partnership, Phase, School
from tests import factories
from tests.evaluation.test_tasks import broker_at


@pytest.fixture
def other_programme(db):
    return factories.ProgrammeFactory(name="Aspire to STEM", slug="aspire-to-stem")


@pytest.fixture
def staff_erin(other_programme):
    user = factories.StaffFactory(username="staff_erin")
    other_programme.staff.add(user)
    return user


@pytest.fixture
def built(cohort):
    partnership = factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    factories.ApplicationFactory(
        partnership=partnership, status="approved", requested=Decimal("12000.00"), awarded=Decimal("11000.00")
    )
    factories.CPDActivityFactory(partnership=partnership, teachers_reached=12, students_reached=40)
    tasks.build(cohort.pk)
    return cohort


def bulk_cohort(programme, partnerships: int, *, urn_base: int):
    """A cohort of `partnerships` partnerships (one school each, spread over many areas) and
    an activity per partnership, made with bulk_create."""
    cohort = factories.CohortFactory(programme=programme)
    schools = School.objects.bulk_create(
        School(
            urn=urn_base + n,
            name=f"Bulk school {n}",
            phase=[Phase.PRIMARY, Phase.SECONDARY, Phase.ALL_THROUGH][n % 3],
            region=f"Region {n % 9}",
            local_authority=f"Authority {n % 150}",
            pupils=200 + n,
        )
        for n in range(partnerships)
    )
    made = Partnership.objects.bulk_create(
        Partnership(
            cohort=cohort, name=f"P{n:04d}", lead_school=school, local_stem_issue="x", status="active"
        )
        for n, school in enumerate(schools)
    )
    Membership.objects.bulk_create(
        Membership(partnership=p, school=p.lead_school, cohort=cohort, role="lead", status="confirmed")
        for p in made
    )
    CPDActivity.objects.bulk_create(
        CPDActivity(
            partnership=p,
            kind=CPDActivity.Kind.TEACHER_CPD,
            title="CPD",
            held_on=date(2015, 1, 1) + timedelta(days=7 * (n % 100)),
            hours=Decimal("2.0"),
            teachers_reached=3,
        )
        for n, p in enumerate(made)
    )
    tasks.build(cohort.pk)
    return cohort


# --- Who sees what --------------------------------------------------------------------------


def test_admin_sees_every_programme_on_the_landing_page(client, admin_dan, programme, other_programme):
    client.force_login(admin_dan)

    response = client.get(reverse("evaluation:dashboard"))

    assert programme.name in response.text
    assert other_programme.name in response.text


def test_staff_see_only_their_programmes_on_the_landing_page(client, staff_carol, programme, other_programme):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:dashboard"))

    assert programme.name in response.text
    assert other_programme.name not in response.text


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("evaluation:cohort", "get"),
        ("evaluation:cohort_status", "get"),
        ("evaluation:cohort_partnerships", "get"),
        ("evaluation:cohort_rebuild", "post"),
    ],
)
def test_staff_of_another_programme_get_404_for_a_cohort(client, staff_erin, built, name, method):
    client.force_login(staff_erin)

    response = getattr(client, method)(reverse(name, args=[built.pk]))

    assert response.status_code == 404


def test_staff_of_another_programme_cannot_export_a_cohorts_table(client, staff_erin, built):
    client.force_login(staff_erin)

    response = client.get(reverse("evaluation:cohort_export", args=[built.pk, "phase"]))

    assert response.status_code == 404


def test_staff_of_another_programme_get_404_for_the_programme(client, staff_erin, programme):
    client.force_login(staff_erin)

    assert client.get(reverse("evaluation:programme", args=[programme.pk])).status_code == 404


def test_programme_page_lists_cohorts_with_their_headline_figures(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:programme", args=[built.programme_id]))

    assert built.name in response.text
    assert "£11,000.00" in response.text


# --- The cohort page -----------------------------------------------------------------------


def test_cohort_page_shows_headline_cards_from_the_summary(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[built.pk]))

    assert response.status_code == 200
    page = response.text
    assert 'id="headline-partnerships">1<' in page
    assert 'id="headline-schools">5<' in page
    assert 'id="headline-phases">5 / 0<' in page
    assert "£11,000.00" in page
    assert "£100,000.00" in page  # the budget
    assert 'id="headline-teachers">12<' in page
    assert 'id="headline-students">40<' in page


def test_cohort_page_draws_each_chart_beside_a_table_with_the_same_figures(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[built.pk]))

    page = response.text
    for name in ("phase", "money", "activities_by_month", "region"):
        assert f'id="chart-{name}"' in page
        assert f'id="table-{name}"' in page
    assert 'id="chart-data" type="application/json"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "evaluation/dashboard.js" in page
    assert '<th scope="col">' in page
    charts = json.loads(page.split('id="chart-data" type="application/json">')[1].split("</script>")[0])
    assert charts["phase"]["values"][0] == 5
    assert charts["activities_by_month"]["labels"] == ["2015-03"]


def test_cohort_page_reads_only_the_stored_summary_whatever_the_cohort_size(
    client, admin_dan, programme, django_assert_num_queries
):
    small = bulk_cohort(programme, 5, urn_base=500000)
    large = bulk_cohort(programme, 500, urn_base=600000)
    client.force_login(admin_dan)
    client.get(reverse("evaluation:cohort", args=[small.pk]))  # warm the session
    with CaptureQueriesContext(connection) as small_page:
        response = client.get(reverse("evaluation:cohort", args=[small.pk]))
    assert 'id="headline-partnerships">5<' in response.text

    with django_assert_num_queries(len(small_page.captured_queries)):
        response = client.get(reverse("evaluation:cohort", args=[large.pk]))

    assert 'id="headline-partnerships">500<' in response.text
    assert "Authority 149" in response.text  # the large cohort's long tables are drawn


def test_cohort_page_without_a_summary_says_so_and_offers_a_rebuild(client, staff_carol, cohort):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[cohort.pk]))

    assert response.status_code == 200
    assert "Not built yet" in response.text
    assert "Rebuild now" in response.text


def test_cohort_page_flags_a_summary_whose_data_changed_since_it_was_built(client, staff_carol, built):
    CohortSummary.objects.filter(cohort=built).update(source_changed_at=timezone.now())
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[built.pk]))

    assert 'id="stale-flag"' in response.text
    assert "Out of date" in response.text


def test_cohort_page_does_not_flag_a_summary_built_after_the_last_change(client, staff_carol, built):
    summary = CohortSummary.objects.get(cohort=built)
    CohortSummary.objects.filter(cohort=built).update(
        source_changed_at=summary.built_at - timedelta(seconds=1)
    )
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[built.pk]))

    assert "Built at" in response.text
    assert 'id="stale-flag"' not in response.text


def test_cohort_page_shows_the_rebuild_state_without_javascript(client, staff_carol, built):
    CohortSummary.objects.filter(cohort=built).update(state="running", started_at=timezone.now())
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort", args=[built.pk]))

    assert 'id="summary-state-label">Running<' in response.text
    assert 'data-busy="true"' in response.text


# --- Status and rebuild ---------------------------------------------------------------------


def test_status_endpoint_reports_state_and_staleness(client, staff_carol, built):
    queued_at = timezone.now()
    CohortSummary.objects.filter(cohort=built).update(
        state="queued", queued_at=queued_at, source_changed_at=queued_at
    )
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_status", args=[built.pk]))

    body = response.json()
    assert body["state"] == "queued"
    assert body["busy"] is True
    assert body["stale"] is True
    assert body["queued_at"] == queued_at.isoformat()
    assert "no-cache" in response.headers["Cache-Control"]


def test_status_endpoint_for_a_cohort_never_built(client, staff_carol, cohort):
    client.force_login(staff_carol)

    body = client.get(reverse("evaluation:cohort_status", args=[cohort.pk])).json()

    assert body == {
        "state": "missing",
        "label": "Not built yet",
        "built_at": None,
        "stale": True,
        "busy": False,
    }


def test_rebuild_now_queues_the_task_and_returns_to_the_page(client, staff_carol, cohort):
    factories.PartnershipFactory(cohort=cohort, partners=4, status="active")
    client.force_login(staff_carol)

    response = client.post(reverse("evaluation:cohort_rebuild", args=[cohort.pk]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("evaluation:cohort", args=[cohort.pk])
    assert "has been queued" in response.text
    # Tests run tasks eagerly: the queued build has already happened.
    assert CohortSummary.objects.get(cohort=cohort).data["schools"] == 5


def test_rebuild_now_answers_json_to_the_pages_script(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.post(
        reverse("evaluation:cohort_rebuild", args=[built.pk]), headers={"Accept": "application/json"}
    )

    assert response.status_code == 202
    assert response.json()["state"] == "ready"


def test_rebuild_now_when_one_is_already_queued_does_not_queue_another(client, staff_carol, built):
    CohortSummary.objects.filter(cohort=built).update(state="queued", queued_at=timezone.now())
    client.force_login(staff_carol)

    response = client.post(reverse("evaluation:cohort_rebuild", args=[built.pk]), follow=True)

    assert "already queued" in response.text


def test_rebuild_now_with_the_broker_down_explains_and_does_not_fail(client, staff_carol, built):
    client.force_login(staff_carol)

    with broker_at("redis://127.0.0.1:9/0"):
        response = client.post(reverse("evaluation:cohort_rebuild", args=[built.pk]), follow=True)

    assert response.status_code == 200
    assert "could not be queued" in response.text
    assert CohortSummary.objects.get(cohort=built).state == CohortSummary.State.READY


def test_rebuild_is_post_only(client, staff_carol, built):
    client.force_login(staff_carol)

    assert client.get(reverse("evaluation:cohort_rebuild", args=[built.pk])).status_code == 405


# --- Drill-down and CSV -------------------------------------------------------------------


def test_partnerships_drill_down_is_paginated(client, staff_carol, programme):
    cohort = bulk_cohort(programme, 60, urn_base=700000)
    client.force_login(staff_carol)
    url = reverse("evaluation:cohort_partnerships", args=[cohort.pk])

    first = client.get(url)
    second = client.get(url, {"page": 2})

    assert "Partnerships 1–50 of 60" in first.text
    assert "P0049" in first.text
    assert "P0050" not in first.text
    assert "P0059" in second.text


@pytest.mark.parametrize("page", ["3", "0", "abc"])
def test_partnerships_drill_down_refuses_a_page_that_does_not_exist(client, staff_carol, built, page):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_partnerships", args=[built.pk]), {"page": page})

    assert response.status_code == 404


def test_every_table_on_the_page_exports_as_csv(client, staff_carol, built):
    client.force_login(staff_carol)
    tables = summary_tables(CohortSummary.objects.get(cohort=built).data)

    for name, table in tables.items():
        response = client.get(reverse("evaluation:cohort_export", args=[built.pk, name]))
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == table.headers
        assert len(rows) == len(table.rows) + 1


def test_money_csv_has_plain_amounts(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_export", args=[built.pk, "money"]))

    rows = dict(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows["Awarded"] == "11000.00"
    assert rows["Remaining (budget − awarded)"] == "89000.00"


def test_partnerships_csv_lists_every_partnership(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_export", args=[built.pk, "partnerships"]))

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[1][4] == "5"
    assert rows[1][5] == "11000.00"


def test_unknown_csv_table_is_404(client, staff_carol, built):
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_export", args=[built.pk, "salaries"]))

    assert response.status_code == 404


def test_csv_neutralises_spreadsheet_formulas(client, staff_carol, cohort):
    partnership = factories.PartnershipFactory(
        cohort=cohort, lead_school__region="=HYPERLINK(1)", status="active"
    )
    tasks.build(cohort.pk)
    client.force_login(staff_carol)

    response = client.get(reverse("evaluation:cohort_export", args=[cohort.pk, "region"]))

    assert "'=HYPERLINK(1)" in response.content.decode()
    assert partnership.lead_school.region == "=HYPERLINK(1)"


def test_cohort_figures_are_cached_per_build_and_a_rebuild_shows_new_ones(client, staff_carol, built):
    """Issue 21: the figures' HTML is cached under the summary's build time, so a page between
    two builds does not render them again, and a rebuild (a new built_at) is shown at once."""
    client.force_login(staff_carol)
    url = reverse("evaluation:cohort", args=[built.pk])
    first = client.get(url)
    summary = CohortSummary.objects.get(cohort=built)
    assert 'id="headline-partnerships">1<' in first.text

    summary.data = {**summary.data, "partnerships": 7}  # the same build: the cached figures stay
    summary.save(update_fields=["data"])
    assert 'id="headline-partnerships">1<' in client.get(url).text

    summary.built_at = summary.built_at + timedelta(seconds=1)  # a new build
    summary.save(update_fields=["built_at"])
    assert 'id="headline-partnerships">7<' in client.get(url).text
