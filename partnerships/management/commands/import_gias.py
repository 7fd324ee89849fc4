"""python manage.py import_gias FILE — load or refresh the schools register from GIAS."""

import time

from django.core.management.base import BaseCommand, CommandError

from partnerships.gias import GiasFileError, import_gias


class Command(BaseCommand):
    help = (
        "Import the DfE Get Information about Schools all-establishments CSV, any layout since 2021 "
        "(UTF-8 or Windows-1252, detected). Updates schools by URN; rows whose LastChangedDate is the "
        "one stored are skipped; running it twice changes nothing. A malformed file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the GIAS CSV (edubasealldata*.csv)")
        parser.add_argument(
            "--encoding", default="auto", help="file encoding (default: auto, UTF-8 or Windows-1252)"
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="rows written per query (default 1000)"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, then roll back")
        parser.add_argument(
            "--full",
            action="store_true",
            help="compare every row, even those unchanged since LastChangedDate",
        )

    def handle(self, *args, file, encoding, batch_size, dry_run, full, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        started = time.perf_counter()
        try:
            report = import_gias(file, encoding=encoding, batch_size=batch_size, dry_run=dry_run, full=full)
        except LookupError:
            raise CommandError(f"Unknown encoding {encoding!r}.") from None
        except GiasFileError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        elapsed = time.perf_counter() - started
        for rejected in report.errors:
            urn = f" (URN {rejected.urn})" if rejected.urn else ""
            self.stdout.write(f"Line {rejected.line}{urn}: rejected, {rejected.reason}.")
        rate = report.rows / elapsed if elapsed else 0
        prefix = "Dry run, nothing saved. " if dry_run else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{report.summary()} in {elapsed:.1f} s "
                f"({rate:,.0f} rows/s; read as {report.encoding})."
            )
        )
