"""Hypothesis feeds random bytes and names to every upload field: never a 500, and a refused
upload leaves nothing behind (no row, no stored file). Also: the upload path streams, so a
file near the largest limit is handled in a small, bounded amount of memory."""

import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grants.models import ATTACHMENT_HARD_MAX_BYTES, Attachment, EndOfGrantReport
from tests import factories
from tests.factories import PDF_BYTES, PNG_BYTES

S = "approved"
PREFIXES = [
    b"",
    PDF_BYTES[:5],
    PNG_BYTES[:8],
    b"PK\x03\x04",
    b"MZ",
    b"<html>",
    b"\xff\xd8\xff",
    b"\xef\xbb\xbf",
]
NAMES = st.one_of(
    st.text(min_size=0, max_size=80),
    st.sampled_from(
        [
            "a.pdf",
            "../../etc/passwd",
            "..\\..\\win.ini",
            "x.pdf\x00.exe",
            "CON",
            ".htaccess",
            "a" * 300 + ".pdf",
            "évidence.png",
            "😀.jpg",
            "file.PDF",
            " .pdf",
            "",
        ]
    ),
)
CONTENT = st.builds(lambda prefix, body: prefix + body, st.sampled_from(PREFIXES), st.binary(max_size=4096))


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _files() -> set[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.fixture
def budget_type(programme):
    return factories.attachment_type(programme, name="Budget", formats=["pdf", "xlsx", "csv"])


def _fuzz(client, url, extra):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        name=NAMES,
        content=CONTENT,
        content_type=st.sampled_from(["application/pdf", "image/png", "text/html", ""]),
    )
    def post(name, content, content_type):
        rows, files = Attachment.objects.count(), _files()
        with transaction.atomic():
            try:
                upload = SimpleUploadedFile(name, content, content_type=content_type or None)
            except Exception:  # a name Django's own class will not take is not our upload path
                return
            response = client.post(url, {**extra, "file": upload, "caption": name[:50]})
            assert response.status_code < 500, (name, content[:20], response.status_code)
            if response.status_code != 302:
                assert Attachment.objects.count() == rows
                assert _files() == files
            transaction.set_rollback(True)

    post()


def test_random_files_to_the_application_upload_never_give_a_500(client, draft, lead_alice, budget_type):
    client.force_login(lead_alice)
    _fuzz(
        client,
        reverse("grants:application_files", args=[draft.pk]) + f"?type={budget_type.pk}",
        {"attachment_type": budget_type.pk, "upload": ""},
    )


def test_random_files_to_the_report_evidence_never_give_a_500(client, application_in, lead_alice):
    application = application_in(S)
    EndOfGrantReport.objects.create(application=application)
    client.force_login(lead_alice)
    _fuzz(client, reverse("grants:report_evidence", args=[application.pk, "final"]), {})


def test_a_file_near_the_largest_limit_streams_through_in_little_memory(rf, draft, lead_alice, programme):
    """24 MB through the real view (upload handlers, checks, hash, storage): the peak of Python
    memory while handling it, measured by tracemalloc, stays far below the file's size."""
    from django.contrib.messages.storage.fallback import FallbackStorage

    from grants.file_views import application_files

    size = ATTACHMENT_HARD_MAX_BYTES - 1024 * 1024
    kind = factories.attachment_type(
        programme, name="Big", formats=["pdf"], max_bytes=ATTACHMENT_HARD_MAX_BYTES
    )
    content = PDF_BYTES + b"0" * (size - len(PDF_BYTES))
    request = rf.post(
        reverse("grants:application_files", args=[draft.pk]) + f"?type={kind.pk}",
        {"attachment_type": kind.pk, "upload": "", "file": SimpleUploadedFile("big.pdf", content)},
    )
    del content
    request.user = lead_alice
    request.session = {}
    request._messages = FallbackStorage(request)
    request._dont_enforce_csrf_checks = True

    tracemalloc.start()
    response = application_files(request, pk=draft.pk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert response.status_code == 302
    stored = Attachment.objects.get()
    assert stored.size == size
    print(f"\nupload of {size:,} bytes: peak {peak:,} bytes traced while handling it")
    assert peak < 4 * 1024 * 1024
