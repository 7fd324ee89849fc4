"""python manage.py export_360giving [--cohort ID] [--format json|csv]"""

import json

from django.core.management.base import BaseCommand, CommandError

from evaluation import giving360
from partnerships.models import Cohort


class Command(BaseCommand):
    help = (
        "Write the awarded (approved or completed) grants as 360Giving data to standard output: "
        'a JSON package {"grants": [...]} (default) or the standard\'s flat CSV. '
        "--cohort limits it to one cohort. Identifiers use settings.GRANTS_360G_PREFIX; the "
        "funder is settings.FUNDER_ORG_ID / FUNDER_ORG_NAME."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, help="Cohort id (default: every cohort).")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, cohort=None, format="json", **options):
        if cohort is not None and not Cohort.objects.filter(pk=cohort).exists():
            raise CommandError(f"No cohort with id {cohort}.")
        applications = list(giving360.awarded_applications(cohort_id=cohort))
        if not applications:
            raise CommandError("No awarded grants to export (a 360Giving package needs at least one grant).")
        if format == "csv":
            self.stdout.write(giving360.as_csv([giving360.grant(a) for a in applications]), ending="")
        else:
            self.stdout.write(json.dumps(giving360.package(applications), indent=2, ensure_ascii=False))
