"""python manage.py import_outcomes FILE --year YYYY [--preset ks2|ks4|ks5] [--map COL=MEASURE …]"""

from django.core.management.base import BaseCommand, CommandError

from evaluation.models import Measure
from evaluation.outcome_import import PRESETS, OutcomesFileError, import_outcomes_file, parse_mapping


class Command(BaseCommand):
    help = (
        "Load outcome values for one academic year from a CSV file keyed by URN (UTF-8 or "
        "Windows-1252, detected).\n\n"
        "What to read, one or more of:\n"
        "  --preset ks2|ks4|ks5  the DfE school-level performance tables as published "
        + "; ".join(f"{p.key}: {p.file_pattern} ({', '.join(p.columns)})" for p in PRESETS.values())
        + ".\n"
        "  --map COLUMN=MEASURE  any other file (repeat it; COL1+COL2=MEASURE sums columns); it "
        "overrides a preset's column for that measure.\n"
        "  --measure MEASURE     a hand-made file with URN and value columns.\n\n"
        "Local-authority and national rows (RECTYPE 4, 5, 7) are skipped. Suppression and "
        "not-applicable markers (SUPP, NE, NP, LOWCOV, NEW, x, c, z, .., :) and blanks are missing "
        "values, counted per marker. Bad numbers, out-of-range values, unknown and repeated URNs "
        "are rejected with their line number and reason.\n\n"
        "--year is the year the academic year ends in (2016 for 2015/16); --publication names the "
        'release ("2023/24 revised"). Each value keeps its file name, publication and import time. '
        "Values are matched on school, year and measure: running the same file twice changes "
        "nothing. A malformed file stops the import with nothing changed. "
        f"Measures: {', '.join(Measure.values)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a URN column.")
        parser.add_argument("--year", required=True, help="YYYY, the year the academic year ends in.")
        parser.add_argument("--preset", choices=sorted(PRESETS), help="a DfE performance tables layout")
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=MEASURE", help="column to measure"
        )
        parser.add_argument("--measure", help=f"for a URN,value file: one of {', '.join(Measure.values)}.")
        parser.add_argument("--publication", default="", help='e.g. "2023/24 revised"')

    def handle(self, *args, file, year, preset, map, measure, publication, **options):
        try:
            report = import_outcomes_file(
                file,
                year=year,
                preset=preset,
                mapping=parse_mapping(map),
                measure=measure,
                publication=publication,
            )
        except OutcomesFileError as exc:
            raise CommandError(str(exc)) from None
        measures = ", ".join(report.mapping.values())
        self.stdout.write(f"{measures} {report.year}: {report.summary()}.")
        if report.columns_absent:
            self.stdout.write(f"  not in this file: {', '.join(report.columns_absent)}")
        for line in report.rejections:
            self.stdout.write(f"  rejected {line}")
        if report.rejected > len(report.rejections):
            self.stdout.write(f"  … and {report.rejected - len(report.rejections)} more rejected rows")
