"""Print a cohort's stored summary (as built by build_cohort_summaries or the Celery task)."""

import json

from django.core.management.base import BaseCommand, CommandError

from evaluation.models import CohortSummary
from partnerships.models import Cohort

HEADLINES = [
    ("partnerships", "Partnerships"),
    ("clusters", "Clusters"),
    ("schools", "Schools"),
    ("primary", "  primary"),
    ("secondary", "  secondary"),
    ("pupils", "Pupils in participating schools"),
    ("budget", "Budget (£)"),
    ("requested", "Requested (£)"),
    ("awarded", "Awarded (£)"),
    ("paid", "Paid (£)"),
    ("remaining", "Remaining (£)"),
    ("activities", "Activities"),
    ("teachers_reached", "Teachers reached"),
    ("students_reached", "Students reached"),
]


class Command(BaseCommand):
    help = "Print the stored summary of a cohort; --json prints it as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, required=True, metavar="ID")
        parser.add_argument("--json", action="store_true", help="print the whole summary as JSON")

    def handle(self, *args, cohort, json=False, **options):
        try:
            the_cohort = Cohort.objects.select_related("programme").get(pk=cohort)
        except Cohort.DoesNotExist:
            raise CommandError(f"There is no cohort with id {cohort}.") from None
        summary = CohortSummary.objects.filter(cohort=the_cohort, built_at__isnull=False).first()
        if summary is None:
            raise CommandError(
                f"{the_cohort} has no summary yet: run "
                f"`python manage.py build_cohort_summaries --cohort {cohort} --sync`."
            )
        stale = bool(summary.source_changed_at and summary.source_changed_at > summary.built_at)
        if json:
            output = {**summary.data, "built_at": summary.built_at.isoformat(), "state": summary.state}
            output["stale"] = stale
            self.stdout.write(_dumps(output))
            return
        self.stdout.write(f"{the_cohort} — built at {summary.built_at:%Y-%m-%d %H:%M:%S %Z}")
        if stale:
            self.stdout.write("  (data changed since; a rebuild is due)")
        for key, label in HEADLINES:
            self.stdout.write(f"{label:<34} {summary.data.get(key, '—')}")


def _dumps(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
