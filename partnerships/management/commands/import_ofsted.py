"""python manage.py import_ofsted FILE — Ofsted judgements from Ofsted's management information."""

from django.core.management.base import BaseCommand, CommandError

from partnerships.gias import GiasFileError
from partnerships.ofsted import import_ofsted_mi


class Command(BaseCommand):
    help = (
        "Import Ofsted's management information for state-funded schools (latest inspections, by URN; "
        "the pre- and post-September-2024 layouts). Keeps every inspection's history and sets each "
        "school's judgement from its latest graded inspection. A malformed file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", help="the MI CSV, e.g. Management_information_-_state-funded_schools_....csv"
        )
        parser.add_argument(
            "--publication",
            default="",
            help='the publication, e.g. "MI state-funded schools, as at 31 October 2025"',
        )

    def handle(self, *args, file, publication, **options):
        try:
            report = import_ofsted_mi(file, publication=publication)
        except GiasFileError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        for rejected in report.errors:
            urn = f" (URN {rejected.urn})" if rejected.urn else ""
            self.stdout.write(f"Line {rejected.line}{urn}: rejected, {rejected.reason}.")
        self.stdout.write(self.style.SUCCESS(report.summary() + "."))
