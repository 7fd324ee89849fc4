"""The daily GIAS refresh against a local HTTP server on 127.0.0.1 serving fixture files: the day's
files are downloaded and imported and admins hear what changed; a failed download (404, timeout,
not a CSV, too big) changes nothing and tells admins."""

import shutil
import threading
import time
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from messaging.models import Notification, OutboxMessage
from partnerships.models import DataImport, School, SchoolLink
from partnerships.refresh import DownloadFailed, daily_refresh, download
from tests import factories

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data"
DAY = date(2025, 4, 22)
NEXT_DAY = date(2025, 4, 23)


class FixtureHandler(SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/slow/"):
            time.sleep(1.5)
        super().do_GET()

    def translate_path(self, path):
        return super().translate_path(path.removeprefix("/slow"))

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the client hung up on purpose (size limit, timeout)


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/files on 127.0.0.1 (a free port) in a thread: GIAS's day files for DAY."""
    root = tmp_path / "files"
    root.mkdir()
    shutil.copy(DATA / "gias_sample.csv", root / "edubasealldata20250422.csv")
    shutil.copy(DATA / "links_edubasealldata_sample.csv", root / "links_edubasealldata20250422.csv")
    httpd = QuietServer(("127.0.0.1", 0), partial(FixtureHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def configured(settings, server):
    root, base = server
    settings.GIAS_DOWNLOAD_URL = base + "/edubasealldata{date:%Y%m%d}.csv"
    settings.GIAS_LINKS_DOWNLOAD_URL = base + "/links_edubasealldata{date:%Y%m%d}.csv"
    settings.GIAS_DOWNLOAD_TIMEOUT = 5
    return root, base


@pytest.fixture
def admin():
    return factories.AdminFactory(email="dan.admin@example.org")


def admin_titles(admin):
    return list(Notification.objects.filter(user=admin).order_by("pk").values_list("title", flat=True))


def test_the_days_files_are_imported_and_admins_hear_what_changed(configured, admin):
    result = daily_refresh(DAY)

    assert result["state"] == "done"
    assert result["reports"]["gias"]["created"] == School.objects.count() == 315
    assert result["reports"]["links"]["created"] == SchoolLink.objects.count() == 8
    assert set(DataImport.objects.values_list("kind", "state", "trigger")) == {
        ("gias", "done", "daily"),
        ("links", "done", "daily"),
    }
    assert admin_titles(admin) == ["Daily GIAS refresh for 22 April 2025: 323 changes"]
    body = Notification.objects.get(user=admin).body
    assert "315 created" in body
    assert "New link 100001 → 140001 (Successor)" in body
    mail = OutboxMessage.objects.filter(to=[admin.email], subject__startswith="Daily GIAS refresh")
    assert mail.count() == 1


def test_a_changed_file_imports_the_change_and_reports_it(configured, admin):
    root, _ = configured
    daily_refresh(DAY)
    today = (root / "edubasealldata20250422.csv").read_bytes()
    changed = today.replace(b"Alder Primary School", b"Alder Academy", 1)
    (root / "edubasealldata20250423.csv").write_bytes(changed)
    shutil.copy(root / "links_edubasealldata20250422.csv", root / "links_edubasealldata20250423.csv")

    result = daily_refresh(NEXT_DAY)

    gias_report = result["reports"]["gias"]
    assert (gias_report["created"], gias_report["updated"], gias_report["unchanged"]) == (0, 1, 314)
    assert result["reports"]["links"]["unchanged"] == 8
    assert School.objects.get(urn=100001).name == "Alder Academy"
    assert admin_titles(admin)[-1] == "Daily GIAS refresh for 23 April 2025: 1 change"


def test_a_missing_file_changes_nothing_and_tells_admins(configured, admin):
    root, _ = configured
    (root / "links_edubasealldata20250422.csv").unlink()  # GIAS is there, the links file is not

    result = daily_refresh(DAY)

    assert result["state"] == "failed"
    assert "404" in result["error"]
    assert not School.objects.exists()  # the GIAS file that did arrive was not imported alone
    assert not SchoolLink.objects.exists()
    assert admin_titles(admin) == ["Daily GIAS refresh failed for 22 April 2025"]
    assert "Nothing was imported" in Notification.objects.get(user=admin).body
    assert DataImport.objects.get().state == DataImport.State.FAILED


def test_an_html_page_instead_of_a_csv_changes_nothing(configured, admin):
    root, _ = configured
    error_page = "<!DOCTYPE html><html><body>Service unavailable</body></html>"
    (root / "edubasealldata20250422.csv").write_text(error_page)

    result = daily_refresh(DAY)

    assert result["state"] == "failed"
    assert "did not send a CSV file" in result["error"]
    assert not School.objects.exists()
    assert admin_titles(admin) == ["Daily GIAS refresh failed for 22 April 2025"]


def test_a_file_that_cannot_be_imported_changes_nothing(configured, admin):
    root, _ = configured
    (root / "links_edubasealldata20250422.csv").write_text("URN,Name\n1,Not the links file\n")

    result = daily_refresh(DAY)

    assert result["state"] == "failed"
    assert "missing column" in result["error"]
    assert not School.objects.exists()  # the GIAS import ran first and was rolled back
    assert admin_titles(admin) == ["Daily GIAS refresh failed for 22 April 2025"]


def test_a_download_over_the_size_limit_is_refused(server, tmp_path):
    _, base = server

    with pytest.raises(DownloadFailed, match="limit"):
        download(base + "/edubasealldata20250422.csv", tmp_path / "out.csv", timeout=5, max_bytes=1000)


def test_a_server_that_does_not_answer_in_time_is_refused(server, tmp_path):
    _, base = server

    with pytest.raises(DownloadFailed, match="could not be fetched"):
        download(
            base + "/slow/edubasealldata20250422.csv", tmp_path / "out.csv", timeout=0.3, max_bytes=10**7
        )


def test_the_refresh_is_off_until_configured(settings):
    settings.GIAS_DOWNLOAD_URL = settings.GIAS_LINKS_DOWNLOAD_URL = ""

    assert daily_refresh(DAY) == {"state": "off"}
    assert not DataImport.objects.exists()


def test_the_refresh_is_in_the_beat_schedule():
    from portal.celery import app

    entry = app.conf.beat_schedule["partnerships-gias-refresh-daily"]
    assert entry["task"] == "partnerships.tasks.daily_gias_refresh"
