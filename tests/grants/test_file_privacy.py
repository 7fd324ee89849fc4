"""Files in the personal-data download, on closing an account and in the retention purge."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import TestCase

from grants import attachments, services
from grants.models import Application, Attachment
from partnerships import privacy
from portal import personal_data
from tests import factories
from tests.factories import upload
from tests.grants.conftest import complete


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def kinds(programme):
    return (
        factories.attachment_type(programme, name="Budget", formats=["pdf"]),
        factories.attachment_type(programme, name="Plan", formats=["pdf"], required=False),
    )


def test_the_download_lists_every_file_the_person_uploaded(draft, lead_alice, kinds):
    attachments.attachment_upload(
        application_id=draft.pk, by=lead_alice, type_id=kinds[0].pk, upload=upload("Alice budget.pdf")
    )

    section = personal_data.export(lead_alice)["uploads"]

    assert len(section) == 1
    assert section[0]["original_name"] == "Alice budget.pdf"
    assert section[0]["attachment_type"] == "Budget"
    assert section[0]["download"].startswith("/grants/files/")


def test_closing_an_account_deletes_files_never_submitted_and_keeps_the_grant_record(
    draft, lead_alice, kinds
):
    complete(draft, lead_alice)
    kept = attachments.attachment_upload(
        application_id=draft.pk, by=lead_alice, type_id=kinds[0].pk, upload=upload("Alice Smith budget.pdf")
    )
    services.application_submit(application_id=draft.pk, by=lead_alice)
    Application.objects.filter(pk=draft.pk).update(status="changes_requested")
    dropped = attachments.attachment_upload(
        application_id=draft.pk, by=lead_alice, type_id=kinds[1].pk, upload=upload("draft plan.pdf")
    )

    with TestCase.captureOnCommitCallbacks(execute=True):
        privacy.anonymise_user(lead_alice)

    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept.pk]
    kept.refresh_from_db()
    assert kept.original_name == "Alice-Smith-budget.pdf"
    assert Path(kept.file.path).exists()
    assert not Path(dropped.file.path).exists()


def test_the_purge_removes_unsubmitted_files_of_applications_that_ended_long_ago(draft, lead_alice, kinds):
    stale = attachments.attachment_upload(
        application_id=draft.pk, by=lead_alice, type_id=kinds[0].pk, upload=upload()
    )
    services.application_withdraw(application_id=draft.pk, by=lead_alice)
    Application.objects.filter(pk=draft.pk).update(updated_at=draft.updated_at - timedelta(days=800))
    out = StringIO()

    call_command("purge_personal_data", "--older-than", "730", "--dry-run", stdout=out)
    assert f"Would remove file {stale.pk}" in out.getvalue()
    assert Attachment.objects.exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("purge_personal_data", "--older-than", "730", stdout=out)
    assert not Attachment.objects.exists()
    assert not Path(stale.file.path).exists()


def test_the_purge_keeps_files_of_recent_or_awarded_applications(application_in, lead_alice, kinds):
    application = application_in(Application.Status.DRAFT)
    attachments.attachment_upload(
        application_id=application.pk, by=lead_alice, type_id=kinds[0].pk, upload=upload()
    )

    call_command("purge_personal_data", "--older-than", "1", stdout=StringIO())

    assert Attachment.objects.count() == 1
