"""python manage.py import_outcomes FILE --measure NAME --year YYYY"""

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from evaluation.models import OUTCOME_YEAR_MAX, OUTCOME_YEAR_MIN, Measure, OutcomeValue
from evaluation.outcomes import value_in_range
from partnerships.models import School

BATCH_SIZE = 1000
# Markers the DfE performance tables use instead of a figure.
NOT_A_FIGURE = {"SUPP", "NE", "NP", "NA", "N/A", "LOW", "X", "C", ":", "..", "-"}


class Rejected(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Load one outcome measure for one academic year from a CSV file keyed by URN.\n\n"
        "The file: UTF-8 (a byte-order mark is fine), comma-separated, a header row, then one row per "
        "school. Required columns (any order, any case): URN and value. Other columns are ignored. "
        "value is a number: a percentage as 0-100 (a trailing % is allowed), Attainment 8 as 0-90, "
        "Progress 8 as -5 to 5, A-level entries as a count. Blank values and DfE markers (SUPP, NE, "
        "NP, LOW, x, c) are rejected rows, as are unknown URNs, repeated URNs and out-of-range values; "
        "each is reported with its line number and reason.\n\n"
        "--year is the year the academic year ends in (2016 for 2015/16). Rows are matched on "
        "school, year and measure: new ones are created, changed ones updated, the rest reported "
        "unchanged, so running the same file twice changes nothing. A malformed file (not UTF-8, "
        "empty, without a URN or value column), an unknown measure or a bad year stops the import "
        f"with nothing changed. Measures: {', '.join(Measure.values)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with URN and value columns.")
        parser.add_argument("--measure", required=True, help=f"One of: {', '.join(Measure.values)}.")
        parser.add_argument("--year", required=True, help="YYYY, the year the academic year ends in.")

    def handle(self, *args, file, measure, year, **options):
        if measure not in Measure.values:
            raise CommandError(f"Unknown measure {measure!r}: use one of {', '.join(Measure.values)}.")
        if not (year.isdigit() and len(year) == 4 and OUTCOME_YEAR_MIN <= int(year) <= OUTCOME_YEAR_MAX):
            raise CommandError(f"Bad year {year!r}: give the year the academic year ends in, e.g. 2016.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        self.measure, self.year, self.source = measure, int(year), path.name[:200]
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        self.rejections: list[str] = []
        self.seen: set[int] = set()
        try:
            with transaction.atomic(), path.open(encoding="utf-8-sig", newline="") as handle:
                self.read(csv.reader(handle))
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{file} is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8. Nothing was imported."
            ) from None
        except csv.Error as exc:
            raise CommandError(f"{file} is not a readable CSV file ({exc}). Nothing was imported.") from None
        self.report()

    def read(self, reader):
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise CommandError(
                "The file is empty: expected a header row with URN and value. Nothing was imported."
            )
        columns = {cell.strip().lower(): index for index, cell in enumerate(header)}
        missing = [name for name in ("urn", "value") if name not in columns]
        if missing:
            raise CommandError(
                f"Missing column(s): {', '.join(missing)} (found: {', '.join(header)}). Nothing was imported."
            )
        self.urn_col, self.value_col = columns["urn"], columns["value"]
        batch, rows = [], 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            batch.append((reader.line_num, row))
            if len(batch) >= BATCH_SIZE:
                self.save(batch)
                batch = []
        if batch:
            self.save(batch)
        if rows == 0:
            raise CommandError("The file has a header but no data rows. Nothing was imported.")

    def parse(self, row) -> tuple[int, Decimal]:
        width = max(self.urn_col, self.value_col) + 1
        if len(row) < width:
            raise Rejected(f"has {len(row)} column(s), expected at least {width}")
        raw_urn, raw_value = row[self.urn_col].strip(), row[self.value_col].strip()
        if not raw_urn.isdigit():
            raise Rejected(f"URN {raw_urn!r} is not a number")
        urn = int(raw_urn)
        if urn in self.seen:
            raise Rejected(f"URN {urn} appears more than once; the first row was kept")
        self.seen.add(urn)
        if not raw_value or raw_value.upper() in NOT_A_FIGURE:
            raise Rejected(f"URN {urn}: no figure ({raw_value or 'blank'})")
        try:
            value = Decimal(raw_value.removesuffix("%").replace(",", "").strip())
        except InvalidOperation:
            raise Rejected(f"URN {urn}: value {raw_value!r} is not a number") from None
        if not value.is_finite():
            raise Rejected(f"URN {urn}: value {raw_value!r} is not a number")
        value = value.quantize(Decimal("0.01"))
        if not value_in_range(self.measure, value):
            raise Rejected(f"URN {urn}: value {value} is out of range for {self.measure}")
        return urn, value

    def reject(self, line: int, reason: str) -> None:
        self.counts["rejected"] += 1
        self.rejections.append(f"line {line}: {reason}")

    def save(self, batch) -> None:
        parsed = []
        for line, row in batch:
            try:
                parsed.append((line, *self.parse(row)))
            except Rejected as exc:
                self.reject(line, str(exc))
        schools = dict(School.objects.filter(urn__in=[urn for _, urn, _ in parsed]).values_list("urn", "id"))
        existing = {
            o.school_id: o
            for o in OutcomeValue.objects.filter(
                measure=self.measure, year=self.year, school_id__in=list(schools.values())
            )
        }
        create, update = [], []
        for line, urn, value in parsed:
            if urn not in schools:
                self.reject(line, f"URN {urn} is not in the schools register (unknown URN)")
                continue
            current = existing.get(schools[urn])
            if current is None:
                create.append(
                    OutcomeValue(
                        school_id=schools[urn],
                        year=self.year,
                        measure=self.measure,
                        value=value,
                        source=self.source,
                    )
                )
            elif current.value != value or current.is_synthetic:
                current.value, current.source, current.is_synthetic = value, self.source, False
                update.append(current)
            else:
                self.counts["unchanged"] += 1
        OutcomeValue.objects.bulk_create(create, batch_size=BATCH_SIZE)
        if update:
            # bulk_update skips auto_now: set it so the comparison groups see the change.
            now = timezone.now()
            for outcome in update:
                outcome.updated_at = now
            OutcomeValue.objects.bulk_update(update, ["value", "source", "is_synthetic", "updated_at"])
        self.counts["created"] += len(create)
        self.counts["updated"] += len(update)

    def report(self) -> None:
        c = self.counts
        self.stdout.write(
            f"{self.measure} {self.year}: created {c['created']}, updated {c['updated']}, "
            f"unchanged {c['unchanged']}, rejected {c['rejected']}."
        )
        for line in self.rejections:
            self.stdout.write(f"  rejected {line}")
