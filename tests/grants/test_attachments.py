"""Files on applications: the content decides the type, limits hold before anything is stored,
drafts keep files and submitted versions stay whole, and only the application's own people can
download them."""

import socket
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from grants import attachments, services
from grants.models import Application, Attachment
from tests import factories
from tests.factories import PDF_BYTES, PNG_BYTES, upload
from tests.grants.conftest import complete

S = Application.Status
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def budget_type(programme):
    return factories.attachment_type(programme, name="Budget spreadsheet", formats=["pdf", "xlsx"])


@pytest.fixture
def letter_type(programme):
    return factories.attachment_type(
        programme, name="Letter of support", formats=["pdf"], per_partner_school=True, max_bytes=1024 * 1024
    )


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()]


def _upload(application, lead, kind, **kwargs):
    return attachments.attachment_upload(
        application_id=application.pk, by=lead, type_id=kind.pk, upload=upload(**kwargs)
    )


def test_a_pdf_is_stored_under_a_random_name_and_downloads_safely(client, draft, lead_alice, budget_type):
    attachment = _upload(draft, lead_alice, budget_type, name="../../Our budget <2026>.PDF")

    assert attachment.format == "pdf"
    assert attachment.status == Attachment.Status.CLEAN
    assert attachment.download_name == "Our-budget-2026.pdf"
    assert "budget" not in attachment.file.name  # the stored path is a random key
    client.force_login(lead_alice)
    response = client.get(reverse("grants:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Our-budget-2026.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("setup.pdf", EXE, "a Windows program"),
        ("photo.png", HTML, "an HTML page"),
        ("budget.pdf", PNG_BYTES, "PNG image"),
        ("budget.pdf", b"", "is empty"),
    ],
)
def test_content_that_is_not_an_allowed_type_is_refused_whatever_its_name(
    draft, lead_alice, budget_type, name, content, says
):
    before = stored_files()
    with pytest.raises(ValidationError) as refused:
        _upload(draft, lead_alice, budget_type, name=name, content=content)

    assert says in str(refused.value)
    assert not Attachment.objects.exists()
    assert stored_files() == before


def test_an_html_file_named_png_is_refused_with_a_message_on_the_page(client, draft, lead_alice, programme):
    kind = factories.attachment_type(programme, name="Photo", formats=["png", "jpeg"])
    client.force_login(lead_alice)

    response = client.post(
        reverse("grants:application_files", args=[draft.pk]),
        {"attachment_type": kind.pk, "file": upload("photo.png", HTML, "image/png"), "upload": ""},
    )

    assert response.status_code == 400
    assert "“photo.png” is an HTML page, judged by its content" in response.text
    assert not Attachment.objects.exists()


def test_a_word_file_with_macros_is_refused(draft, lead_alice, programme):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"\x00macro")
    kind = factories.attachment_type(programme, name="Plan", formats=["docx"])

    with pytest.raises(ValidationError, match="ZIP archive"):
        _upload(draft, lead_alice, kind, name="plan.docx", content=buffer.getvalue())


def test_an_oversized_file_is_refused_before_it_is_stored(client, draft, lead_alice, letter_type):
    """The stream is cut off at the limit: the file never reaches the service or storage."""
    school = attachments.partner_schools(draft)[0]
    client.force_login(lead_alice)
    big = PDF_BYTES + b"0" * (2 * 1024 * 1024)

    response = client.post(
        reverse("grants:application_files", args=[draft.pk]) + f"?type={letter_type.pk}",
        {
            "attachment_type": letter_type.pk,
            "school": school.pk,
            "file": upload("big.pdf", big),
            "upload": "",
        },
    )

    assert response.status_code == 400
    assert "“big.pdf” is larger than 1 MB" in response.text
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_one_over_the_type_limit_is_refused_and_the_limit_itself_accepted(draft, lead_alice, letter_type):
    school = attachments.partner_schools(draft)[0]
    exact = PDF_BYTES + b"0" * (letter_type.max_bytes - len(PDF_BYTES))

    with pytest.raises(ValidationError, match="at most 1 MB"):
        attachments.attachment_upload(
            application_id=draft.pk,
            by=lead_alice,
            type_id=letter_type.pk,
            school_id=school.pk,
            upload=upload("a.pdf", exact + b"0"),
        )
    stored = attachments.attachment_upload(
        application_id=draft.pk,
        by=lead_alice,
        type_id=letter_type.pk,
        school_id=school.pk,
        upload=upload("a.pdf", exact),
    )
    assert stored.size == letter_type.max_bytes


def test_the_applications_total_is_held(draft, lead_alice, programme, settings):
    settings.APPLICATION_FILES_MAX_BYTES = 3000
    a = factories.attachment_type(programme, name="A", formats=["pdf"])
    b = factories.attachment_type(programme, name="B", formats=["pdf"])
    _upload(draft, lead_alice, a, content=PDF_BYTES + b"0" * 2000)

    with pytest.raises(ValidationError, match="add up to"):
        _upload(draft, lead_alice, b, content=PDF_BYTES + b"0" * 1000)


def test_a_letter_of_support_is_asked_for_each_partner_school_and_blocks_submission(
    draft, lead_alice, letter_type
):
    draft = complete(draft, lead_alice)
    partners = attachments.partner_schools(draft)
    assert len(partners) == 4
    missing = [m.message for m in services.application_missing(draft)]
    assert sum("Letter of support" in m for m in missing) == 4

    for school in partners:
        attachments.attachment_upload(
            application_id=draft.pk,
            by=lead_alice,
            type_id=letter_type.pk,
            school_id=school.pk,
            upload=upload(),
        )

    assert services.application_missing(draft) == []
    services.application_submit(application_id=draft.pk, by=lead_alice)
    assert Attachment.objects.filter(frozen_at__isnull=False).count() == 4


def test_a_school_outside_the_partnership_cannot_have_a_letter(draft, lead_alice, letter_type, school_b):
    with pytest.raises(ValidationError, match="confirmed partner school"):
        attachments.attachment_upload(
            application_id=draft.pk,
            by=lead_alice,
            type_id=letter_type.pk,
            school_id=school_b.pk,
            upload=upload(),
        )


def test_replacing_a_draft_file_deletes_the_old_one(draft, lead_alice, budget_type):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        first = _upload(draft, lead_alice, budget_type)
    with TestCase.captureOnCommitCallbacks(execute=True):
        second = _upload(draft, lead_alice, budget_type, name="v2.pdf")

    assert list(Attachment.objects.values_list("pk", flat=True)) == [second.pk]
    assert not Path(first.file.path).exists()


def test_replacing_a_file_after_changes_are_requested_keeps_the_submitted_version(
    client, draft, lead_alice, staff_carol, budget_type
):
    complete(draft, lead_alice)
    submitted = _upload(draft, lead_alice, budget_type, name="v1.pdf")
    services.application_submit(application_id=draft.pk, by=lead_alice)
    services.application_request_changes(application_id=draft.pk, by=staff_carol, comment="New budget.")

    replacement = _upload(draft, lead_alice, budget_type, name="v2.pdf", content=PDF_BYTES + b"% v2\n")

    submitted.refresh_from_db()
    assert submitted.superseded_at is not None
    assert submitted.frozen_at is not None
    assert Path(submitted.file.path).read_bytes() == PDF_BYTES
    assert replacement.frozen_at is None
    client.force_login(staff_carol)
    assert client.get(reverse("grants:attachment_download", args=[submitted.pk])).status_code == 200
    services.application_resubmit(application_id=draft.pk, by=lead_alice)
    with pytest.raises(ValidationError):  # and a submitted application's files cannot change
        _upload(draft, lead_alice, budget_type)


def test_removing_a_file_is_refused_once_submitted(draft, lead_alice, budget_type):
    complete(draft, lead_alice)
    attachment = _upload(draft, lead_alice, budget_type)
    services.application_submit(application_id=draft.pk, by=lead_alice)

    with pytest.raises(ValidationError, match="can no longer change"):
        attachments.attachment_remove(attachment_id=attachment.pk, by=lead_alice)


def test_another_schools_lead_cannot_upload(draft, lead_bob, budget_type):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _upload(draft, lead_bob, budget_type)


@pytest.mark.parametrize("who", ["lead_bob", "other_staff", "anonymous"])
def test_outsiders_cannot_download_by_guessing_the_url(client, request, draft, lead_alice, budget_type, who):
    attachment = _upload(draft, lead_alice, budget_type)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("grants:attachment_download", args=[attachment.pk]))

    assert response.status_code == (302 if who == "anonymous" else 404)


def test_a_quarantined_file_is_never_served(client, draft, lead_alice, staff_carol, budget_type):
    attachment = _upload(draft, lead_alice, budget_type)
    Attachment.objects.filter(pk=attachment.pk).update(status=Attachment.Status.QUARANTINED)

    for user in (lead_alice, staff_carol):
        client.force_login(user)
        response = client.get(reverse("grants:attachment_download", args=[attachment.pk]))
        assert response.status_code == 403
        assert b"%PDF" not in response.content


class FakeClamd(threading.Thread):
    """A clamd on a Unix socket that answers every INSTREAM with `answer`, or hangs up."""

    def __init__(self, path, answer: bytes | None):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.answer = answer

    def run(self):
        conn, _ = self.server.accept()
        with conn:
            data = b""
            while not data.endswith(b"\x00\x00\x00\x00"):
                part = conn.recv(65536)
                if not part:
                    break
                data += part
            if self.answer is not None:
                conn.sendall(self.answer)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (b"stream: OK\0", Attachment.Status.CLEAN),
        (b"stream: Eicar-Test-Signature FOUND\0", Attachment.Status.QUARANTINED),
        (None, Attachment.Status.QUARANTINED),  # clamd hung up: the file is held
    ],
)
def test_the_virus_check_decides_whether_a_file_can_be_served(
    draft, lead_alice, budget_type, settings, tmp_path, answer, status
):
    path = tmp_path / "c.sock"
    clamd = FakeClamd(path, answer)
    clamd.start()
    settings.CLAMD_SOCKET = str(path)
    settings.CLAMD_TIMEOUT = 5

    attachment = _upload(draft, lead_alice, budget_type)

    assert attachment.status == status
    clamd.join(5)


def test_a_clamd_that_is_not_there_quarantines(draft, lead_alice, budget_type, settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")

    attachment = _upload(draft, lead_alice, budget_type)

    assert attachment.status == Attachment.Status.QUARANTINED
    assert "virus check failed" in attachment.scan_note
    draft = complete(draft, lead_alice)
    assert any("virus check" in m.message for m in services.application_missing(draft))
