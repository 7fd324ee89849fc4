"""Rebuild cohort summaries: queued for the Celery worker, or in this process with --sync."""

from django.core.management.base import BaseCommand, CommandError

from evaluation import tasks
from partnerships.models import Cohort

OUTCOMES = {
    tasks.QUEUED: "queued",
    tasks.ALREADY_QUEUED: "already queued",
    tasks.BROKER_DOWN: "NOT queued: the task broker did not answer",
    tasks.NO_COHORT: "cohort no longer exists",
}


class Command(BaseCommand):
    help = "Rebuild the summary of one cohort (--cohort ID) or of every cohort; --sync builds in-process."

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, metavar="ID", help="only this cohort")
        parser.add_argument(
            "--sync", action="store_true", help="build here and now instead of queueing Celery tasks"
        )

    def handle(self, *args, cohort=None, sync=False, **options):
        cohorts = Cohort.objects.select_related("programme").order_by("pk")
        if cohort is not None:
            cohorts = cohorts.filter(pk=cohort)
            if not cohorts.exists():
                raise CommandError(f"There is no cohort with id {cohort}.")
        failed = 0
        for each in cohorts:
            label = f"{each} (id {each.pk})"
            if sync:
                summary = tasks.build(each.pk)
                data = summary.data
                self.stdout.write(
                    f"{label}: built — {data['partnerships']} partnerships, {data['schools']} schools "
                    f"({data['primary']} primary, {data['secondary']} secondary), £{data['awarded']} awarded"
                )
            else:
                outcome = tasks.queue_rebuild(each.pk, mark_changed=False)
                failed += outcome == tasks.BROKER_DOWN
                self.stdout.write(f"{label}: {OUTCOMES[outcome]}")
        if failed:
            raise CommandError(f"{failed} rebuild(s) could not be queued; try --sync.")
