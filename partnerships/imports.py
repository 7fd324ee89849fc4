"""Public-data imports run as tasks: a registry of importers, the run of one `DataImport`, and the
adapter to the GIAS register import.

Each kind of file registers an `Importer`: its label and a function `run(path, options, progress)`
that imports the file and returns the report as a dict with a one-line "summary". partnerships
registers the GIAS register and links files here; evaluation registers outcomes (its apps.ready),
so this module never imports a higher app. The upload page offers every registered kind.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from partnerships import gias, gias_links, ofsted
from partnerships.models import DataImport

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # rows done so far


class ImportFailed(Exception):
    """The file cannot be imported as a whole; nothing was changed. The message says why."""


@dataclass(frozen=True)
class Importer:
    kind: str
    label: str
    run: Callable[[Path, dict, Progress], dict]
    help: str = ""
    option_names: tuple[str, ...] = field(default_factory=tuple)


IMPORTERS: dict[str, Importer] = {}


def register(importer: Importer) -> None:
    IMPORTERS[importer.kind] = importer


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- The GIAS register: the one call into partnerships.gias ---------------------------------


def import_gias_file(path: Path, progress: Progress | None = None) -> gias.ImportReport:
    """Import a GIAS all-establishments file (every layout since 2021): the one call from the
    refresh and the upload page into partnerships.gias."""
    return gias.import_gias(path, progress=(lambda report: progress(report.rows)) if progress else None)


def _counts(report, *, created: int, updated: int, unchanged: int, rejections: list[str], **extra) -> dict:
    """An importer's report as the DataImport page shows it (first 200 rejections, exact counts)."""
    return {
        "summary": report.summary(),
        "rows": report.rows,
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "rejected": len(rejections),
        "rejections": rejections[:200],
        **extra,
    }


def _run_gias(path: Path, options: dict, progress: Progress) -> dict:
    try:
        report = import_gias_file(path, progress)
    except gias.GiasFileError as exc:
        raise ImportFailed(str(exc)) from None
    return _counts(
        report,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejections=[f"line {r.line}: {r.reason}" for r in report.rejected],
        skipped=report.skipped,
    )


def _run_links(path: Path, options: dict, progress: Progress) -> dict:
    try:
        report = gias_links.import_links(
            path, source=options.get("file_name", ""), progress=lambda r: progress(r.rows)
        )
    except gias_links.GiasLinksFileError as exc:
        raise ImportFailed(str(exc)) from None
    return _counts(
        report,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejections=[f"line {line}: {reason}" for line, reason in report.rejected],
        new_links=report.new_links,
    )


def _run_ofsted(path: Path, options: dict, progress: Progress) -> dict:
    with path.open("rb") as raw:
        named = File(raw, name=options.get("file_name") or path.name)  # the uploaded name is the source
        try:
            report = ofsted.import_ofsted_mi(
                named, publication=options.get("publication", ""), progress=lambda r: progress(r.rows)
            )
        except gias.GiasFileError as exc:
            raise ImportFailed(str(exc)) from None
    return _counts(
        report,
        created=report.inspections_added,
        updated=report.schools_updated,
        unchanged=report.schools_unchanged,
        rejections=[f"line {r.line}: {r.reason}" for r in report.errors],
    )


register(
    Importer("gias", "GIAS all establishments (edubasealldata*.csv)", _run_gias, help="The schools register.")
)
register(
    Importer(
        "ofsted",
        "Ofsted management information, state-funded schools",
        _run_ofsted,
        help="Latest graded inspection by URN (GIAS no longer carries judgements).",
        option_names=("publication",),
    )
)
register(
    Importer(
        "links",
        "GIAS links (links_edubasealldata*.csv)",
        _run_links,
        help="Predecessor and successor URNs (academy conversions, amalgamations).",
    )
)


# --- Running one import ----------------------------------------------------------------------


def count_lines(path: Path) -> int:
    with path.open("rb") as raw:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: raw.read(1 << 20), b"")) - 1)


def data_import_run(import_id: int) -> DataImport:
    """Run a queued import (the task's body). Idempotent: a finished import is left alone."""
    with transaction.atomic():
        record = DataImport.objects.select_for_update().get(pk=import_id)
        if record.state in (DataImport.State.DONE, DataImport.State.FAILED):
            return record
        record.state, record.started_at = DataImport.State.RUNNING, timezone.now()
        record.save(update_fields=["state", "started_at"])
    importer = IMPORTERS.get(record.kind)
    path = Path(record.stored_path)

    def progress(rows: int) -> None:
        done = min(rows, record.rows_expected) if record.rows_expected else rows
        DataImport.objects.filter(pk=record.pk).update(rows_done=done)

    try:
        if importer is None:
            raise ImportFailed(f"No importer for {record.kind!r} files.")
        if not path.is_file():
            raise ImportFailed("The uploaded file is no longer there: upload it again.")
        report = importer.run(path, {**record.options, "file_name": record.file_name}, progress)
    except ImportFailed as exc:
        record.state, record.error = DataImport.State.FAILED, str(exc)
    except Exception as exc:  # an importer's bug must not leave the page spinning for ever
        log.exception("Import %s failed", record.pk)
        record.state, record.error = DataImport.State.FAILED, f"The import stopped: {type(exc).__name__}."
    else:
        record.state, record.report = DataImport.State.DONE, report
        record.rows_done = min(report.get("rows", 0), record.rows_expected or report.get("rows", 0))
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "error", "report", "rows_done", "finished_at"])
    if record.trigger == DataImport.Trigger.UPLOAD:
        path.unlink(missing_ok=True)
    return record


def data_import_start(*, kind: str, upload, by, options: dict | None = None) -> DataImport:
    """Store an uploaded file and queue its import (after commit)."""
    from partnerships.tasks import run_data_import

    if kind not in IMPORTERS:
        raise ImportFailed(f"Unknown kind of file {kind!r}.")
    name = Path(upload.name).name[:200] or "upload.csv"
    record = DataImport.objects.create(
        kind=kind, file_name=name, size=upload.size, options=options or {}, created_by=by
    )
    path = upload_dir() / f"{record.pk}-{kind}.csv"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    record.stored_path = str(path)
    record.rows_expected = count_lines(path)
    record.save(update_fields=["stored_path", "rows_expected"])
    transaction.on_commit(lambda: run_data_import.delay(record.pk))
    return record
