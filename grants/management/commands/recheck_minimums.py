"""Re-check the minimum of schools of every submitted or approved application.

Run it after a register import that closed schools (the import changes schools in bulk, without
the services): a submitted application that fell below the minimum goes back to its lead as
"changes requested" with the reason; an approved one gets an audit event and staff are told.
"""

from django.core.management.base import BaseCommand

from grants.services import applications_recheck_minimum


class Command(BaseCommand):
    help = "Re-check the minimum of schools of every submitted or approved application."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reason",
            default="A school in the partnership no longer counts (register changed).",
            help="Told to the lead.",
        )

    def handle(self, *args, reason, **options):
        moved = applications_recheck_minimum(reason=reason)
        self.stdout.write(f"{moved} application(s) sent back for changes.")
