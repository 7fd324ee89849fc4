"""The staff upload page: a file is imported by a task, the page shows its progress (JSON status,
and a refresh without JavaScript) and then the report; bad input is refused at the field."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evaluation.models import OutcomeValue
from partnerships.models import DataImport, SchoolLink
from tests import factories

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def staff_client(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(factories.StaffFactory())
    return client


def upload(client, name, content, **fields):
    return client.post(
        reverse("partnerships:data_imports"),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields},
    )


def test_an_uploaded_links_file_is_imported_by_a_task_and_reported(
    staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            staff_client,
            "links_edubasealldata20250422.csv",
            (DATA / "links_edubasealldata_sample.csv").read_bytes(),
            kind="links",
        )

    record = DataImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("partnerships:data_import_detail", args=[record.pk])
    assert (record.state, record.rows_done, record.rows_expected) == ("done", 10, 10)
    assert SchoolLink.objects.count() == 8
    assert not Path(record.stored_path).exists()  # the uploaded copy is removed after the import
    page = staff_client.get(response["Location"]).content.decode()
    assert "10 links: 8 created, 0 updated, 0 unchanged, 2 rejected" in page
    assert "line 10: URN &#x27;abc&#x27; is not a URN" in page
    assert 'http-equiv="refresh"' not in page
    status = staff_client.get(reverse("partnerships:data_import_status", args=[record.pk])).json()
    assert (status["state"], status["busy"], status["percent"]) == ("done", False, 100)


def test_while_the_import_waits_the_page_refreshes_itself_and_the_status_says_so(staff_client):
    upload(staff_client, "links.csv", (DATA / "links_edubasealldata_sample.csv").read_bytes(), kind="links")
    record = DataImport.objects.get()  # no commit in this test: the task has not run

    page = staff_client.get(reverse("partnerships:data_import_detail", args=[record.pk])).content.decode()
    status = staff_client.get(reverse("partnerships:data_import_status", args=[record.pk])).json()

    assert 'http-equiv="refresh"' in page
    assert 'data-busy="true"' in page
    assert (status["state"], status["busy"], status["percent"]) == ("queued", True, 0)
    assert status["rows_expected"] == 10


def test_outcomes_are_imported_from_the_dfe_tables_with_their_publication(
    staff_client, django_capture_on_commit_callbacks
):
    for urn in (100001, 100004):
        factories.SchoolFactory(urn=urn)
    with django_capture_on_commit_callbacks(execute=True):
        upload(
            staff_client,
            "england_ks4final.csv",
            (DATA / "england_ks4final_sample.csv").read_bytes(),
            kind="outcomes",
            year="2024",
            preset="ks4",
            publication="2023/24 revised",
        )

    record = DataImport.objects.get()
    assert record.state == "done", record.error
    assert record.report["missing"]["SUPP"] == 5
    provenance = set(OutcomeValue.objects.values_list("source", "publication"))
    assert provenance == {("england_ks4final.csv", "2023/24 revised")}
    page = staff_client.get(reverse("partnerships:data_import_detail", args=[record.pk])).content.decode()
    assert "<code>SUPP</code>: 5" in page


def test_outcomes_without_a_year_are_refused_at_the_field(staff_client):
    response = upload(staff_client, "ks4.csv", b"URN,ATT8SCR\n1,2\n", kind="outcomes", preset="ks4")

    assert response.status_code == 400
    assert "Give the year of the outcomes." in response.content.decode()
    assert not DataImport.objects.exists()


def test_a_file_that_is_not_the_links_file_fails_and_changes_nothing(
    staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(staff_client, "links.csv", b"URN,EstablishmentName\n100001,Alder\n", kind="links")

    record = DataImport.objects.get()
    assert record.state == "failed"
    assert "missing column" in record.error
    assert not SchoolLink.objects.exists()
    page = staff_client.get(reverse("partnerships:data_import_detail", args=[record.pk])).content.decode()
    assert "The import failed; nothing was changed." in page


def test_a_file_over_the_limit_is_refused(staff_client, settings):
    settings.DATA_IMPORT_MAX_BYTES = 1024

    content = b"URN,LinkURN,LinkType\n" + b"1,2,Successor\n" * 200
    response = upload(staff_client, "links.csv", content, kind="links")

    assert response.status_code == 400
    assert "the limit is 1,024" in response.content.decode()
    assert not DataImport.objects.exists()


def test_every_registered_kind_is_offered(staff_client):
    page = staff_client.get(reverse("partnerships:data_imports")).content.decode()

    for kind in ("gias", "links", "outcomes"):
        assert f'value="{kind}"' in page


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_uploaded_import(celery_worker, settings, tmp_path):
    """Through the broker: the upload commits, a worker thread runs the task, the row says done."""
    import time

    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerships.imports import data_import_start

    settings.MEDIA_ROOT = tmp_path / "media"
    content = (DATA / "links_edubasealldata_sample.csv").read_bytes()
    record = data_import_start(
        kind="links", upload=SimpleUploadedFile("links.csv", content), by=factories.StaffFactory()
    )

    deadline = time.monotonic() + 60
    while DataImport.objects.get(pk=record.pk).is_busy and time.monotonic() < deadline:
        time.sleep(0.2)
    assert DataImport.objects.get(pk=record.pk).state == DataImport.State.DONE
    assert SchoolLink.objects.count() == 8


def test_an_uploaded_ofsted_file_sets_judgements_and_names_its_source(
    staff_client, django_capture_on_commit_callbacks
):
    from partnerships.gias import import_gias
    from partnerships.models import OfstedInspection, OfstedRating, School
    from tests.partnerships.test_gias_layouts import GIAS_2025

    import_gias(GIAS_2025)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            staff_client,
            "state_funded_schools_mi_2024.csv",
            (DATA / "ofsted" / "ofsted_mi_2023.csv").read_bytes(),
            kind="ofsted",
            publication="as at 31 August 2024",
        )

    record = DataImport.objects.get()
    assert response.status_code == 302
    assert record.state == "done", record.report
    assert School.objects.get(urn=100002).ofsted_rating == OfstedRating.REQUIRES_IMPROVEMENT
    assert OfstedInspection.objects.get(urn=100002).source_file == (
        "state_funded_schools_mi_2024.csv (as at 31 August 2024)"
    )
    assert "4 rows: 3 inspections added" in staff_client.get(response["Location"]).content.decode()
