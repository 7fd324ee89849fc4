"""The daily refresh of the schools register (Celery beat, partnerships.tasks.daily_gias_refresh).

Settings (environment): `GIAS_DOWNLOAD_URL` and `GIAS_LINKS_DOWNLOAD_URL`, URL patterns with the
day as `{date:%Y%m%d}` (GIAS names its files `edubasealldata20250422.csv` and
`links_edubasealldata20250422.csv`); empty means the refresh is off. `GIAS_DOWNLOAD_TIMEOUT`
(seconds, per connection and read) and `GIAS_DOWNLOAD_MAX_BYTES` bound each download.

Both files are downloaded first; only when both arrived and look like CSV are they imported, in
one transaction, so a failed download (404, timeout, too big, an HTML error page instead of a
CSV) or a file that cannot be imported changes nothing. Either way admins are told: what changed,
or what went wrong (`tell_admins`, the one place that reaches them).
"""

import logging
import tempfile
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from partnerships import imports
from partnerships.models import DataImport
from portal.roles import ADMINS_GROUP

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
FILES = (("gias", "GIAS_DOWNLOAD_URL"), ("links", "GIAS_LINKS_DOWNLOAD_URL"))


class DownloadFailed(Exception):
    pass


def download(url: str, dest: Path, *, timeout: float, max_bytes: int) -> int:
    """Fetch `url` into `dest`; the number of bytes. DownloadFailed (with the reason) for an HTTP
    error, a timeout, a file over `max_bytes` or something that is not a CSV file."""
    if not url.startswith(("http://", "https://")):
        raise DownloadFailed(f"{url} is not an http(s) address.")
    request = urllib.request.Request(url, headers={"User-Agent": "stem-partnerships-portal/1"})
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, dest.open("wb") as out:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadFailed(f"{url} is {int(declared):,} bytes, over the {max_bytes:,}-byte limit.")
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadFailed(f"{url} is over the {max_bytes:,}-byte limit.")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise DownloadFailed(f"{url} answered {exc.code} {exc.reason}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadFailed(f"{url} could not be fetched ({reason}).") from None
    _check_csv(dest, url)
    return size


def _check_csv(path: Path, url: str) -> None:
    with path.open("rb") as raw:
        head = raw.read(4096)
    first = head.split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").strip().lower()
    if not head:
        raise DownloadFailed(f"{url} sent an empty file.")
    if first.startswith((b"<", b"{", b"%pdf", b"pk\x03\x04")) or b"\x00" in head or b"," not in first:
        raise DownloadFailed(f"{url} did not send a CSV file (it starts {first[:40]!r}).")


def admins():
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=ADMINS_GROUP) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )


def tell_admins(subject: str, paragraphs: list[str], items: list[str] | None = None) -> int:
    """The one call that reaches admins about public-data imports (a notification and an e-mail
    through messaging, in the caller's transaction)."""
    import messaging

    recipients = list(admins())
    messaging.send(
        "data_import",
        recipients,
        {
            "title": subject,
            "paragraphs": paragraphs,
            "items": items or [],
            "link": reverse("partnerships:data_imports"),
            "link_label": "See the imports",
        },
    )
    return len(recipients)


def daily_refresh(today: date | None = None) -> dict:
    """Download and import the day's GIAS and links files; tell admins. Returns what happened."""
    today = today or timezone.localdate()
    wanted = [(kind, getattr(settings, name, "")) for kind, name in FILES]
    wanted = [(kind, pattern) for kind, pattern in wanted if pattern]
    if not wanted:
        return {"state": "off"}
    timeout = float(getattr(settings, "GIAS_DOWNLOAD_TIMEOUT", 60))
    max_bytes = int(getattr(settings, "GIAS_DOWNLOAD_MAX_BYTES", 300 * 1024 * 1024))
    with tempfile.TemporaryDirectory(prefix="gias-refresh-") as folder:
        fetched = []
        try:
            for kind, pattern in wanted:
                url = pattern.format(date=today)
                dest = Path(folder) / f"{kind}.csv"
                size = download(url, dest, timeout=timeout, max_bytes=max_bytes)
                fetched.append((kind, url, dest, size))
        except DownloadFailed as exc:
            with transaction.atomic():
                DataImport.objects.create(
                    kind=kind,
                    trigger=DataImport.Trigger.DAILY,
                    state=DataImport.State.FAILED,
                    file_name=url.rsplit("/", 1)[-1][:200],
                    error=str(exc),
                    finished_at=timezone.now(),
                )
                tell_admins(
                    f"Daily GIAS refresh failed for {today:%d %B %Y}",
                    [str(exc), "Nothing was imported: the register and the URN links are as they were."],
                )
            return {"state": "failed", "error": str(exc)}
        return _import_fetched(today, fetched)


def _import_fetched(today: date, fetched) -> dict:
    records, items = [], []
    try:
        with transaction.atomic():
            for kind, url, path, size in fetched:
                name = url.rsplit("/", 1)[-1][:200]
                report = imports.IMPORTERS[kind].run(path, {"file_name": name}, lambda rows: None)
                records.append(
                    DataImport(
                        kind=kind,
                        trigger=DataImport.Trigger.DAILY,
                        state=DataImport.State.DONE,
                        file_name=name,
                        size=size,
                        rows_done=report.get("rows", 0),
                        rows_expected=report.get("rows", 0),
                        report=report,
                        started_at=timezone.now(),
                        finished_at=timezone.now(),
                    )
                )
                items.append(f"{imports.IMPORTERS[kind].label}: {report['summary']}")
                items += [f"New link {link}" for link in report.get("new_links", [])[:20]]
            DataImport.objects.bulk_create(records)
            changed = sum(r.report.get("created", 0) + r.report.get("updated", 0) for r in records)
            tell_admins(
                f"Daily GIAS refresh for {today:%d %B %Y}: "
                + (f"{changed} change{'s' if changed != 1 else ''}" if changed else "no changes"),
                ["The day's files were downloaded and imported."],
                items,
            )
    except imports.ImportFailed as exc:
        with transaction.atomic():
            DataImport.objects.create(
                kind=kind,
                trigger=DataImport.Trigger.DAILY,
                state=DataImport.State.FAILED,
                file_name=url.rsplit("/", 1)[-1][:200],
                error=str(exc),
                finished_at=timezone.now(),
            )
            tell_admins(
                f"Daily GIAS refresh failed for {today:%d %B %Y}",
                [str(exc), "Nothing was imported: the register and the URN links are as they were."],
            )
        return {"state": "failed", "error": str(exc)}
    return {"state": "done", "reports": {r.kind: r.report for r in records}}
