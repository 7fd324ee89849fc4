"""python manage.py export_360giving [--cohort ID] [--format json|xlsx] [--output FILE]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation import giving360
from partnerships.models import Cohort


class Command(BaseCommand):
    help = (
        "Write the awarded (approved or completed) grants as 360Giving data: a JSON package "
        '{"grants": [...]} to standard output (default, the canonical form), or a spreadsheet '
        "(--format xlsx --output FILE) whose every cell is text. --cohort limits it to one cohort. "
        "Identifiers use settings.GRANTS_360G_PREFIX; the funder is settings.FUNDER_ORG_ID / "
        "FUNDER_ORG_NAME."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, help="Cohort id (default: every cohort).")
        parser.add_argument("--format", choices=["json", "xlsx"], default="json")
        parser.add_argument("--output", help="File to write (required for xlsx).")

    def handle(self, *args, cohort=None, format="json", output=None, **options):
        if cohort is not None and not Cohort.objects.filter(pk=cohort).exists():
            raise CommandError(f"No cohort with id {cohort}.")
        if format == "xlsx" and not output:
            raise CommandError("--format xlsx needs --output FILE (a workbook is not text).")
        applications = list(giving360.awarded_applications(cohort_id=cohort))
        if not applications:
            raise CommandError("No awarded grants to export (a 360Giving package needs at least one grant).")
        if format == "xlsx":
            Path(output).write_bytes(giving360.as_xlsx([giving360.grant(a) for a in applications]))
            self.stdout.write(f"Wrote {len(applications)} grants to {output}.")
            return
        text = json.dumps(giving360.package(applications), indent=2, ensure_ascii=False)
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text)
