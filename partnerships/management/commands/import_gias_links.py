"""python manage.py import_gias_links FILE — load the GIAS links file (URN predecessors/successors)."""

from django.core.management.base import BaseCommand, CommandError

from partnerships.gias_links import GiasLinksFileError, import_links


class Command(BaseCommand):
    help = (
        "Import the GIAS links file (links_edubasealldata*.csv: URN, LinkURN, LinkName, LinkType, "
        "LinkEstablishedDate), Windows-1252 or UTF-8. Links are matched on URN, LinkURN and LinkType: "
        "running it twice changes nothing. A malformed file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to links_edubasealldata*.csv")
        parser.add_argument("--dry-run", action="store_true", help="check and count, then roll back")

    def handle(self, *args, file, dry_run, **options):
        try:
            report = import_links(file, dry_run=dry_run)
        except GiasLinksFileError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        for line, reason in report.rejected:
            self.stdout.write(f"Line {line}: rejected, {reason}.")
        prefix = "Dry run, nothing saved. " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{report.summary()} ({report.encoding})."))
