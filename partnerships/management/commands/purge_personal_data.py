"""Anonymise users inactive past the retention period (same rules as closing an account:
partnerships/privacy.py), and remove the addresses of long-finished e-mail invitations.

    python manage.py purge_personal_data --older-than 730 [--dry-run]
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from partnerships import privacy
from portal import personal_data


class Command(BaseCommand):
    help = "Anonymise users who have not logged in for DAYS days, keeping grants, audit and statistics."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS", dest="days")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be anonymised; change nothing."
        )

    def handle(self, *args, days, dry_run, **options):
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        users = list(privacy.inactive_users(days))
        invitations = privacy.stale_invitation_addresses(days)
        verb = "Would anonymise" if dry_run else "Anonymised"
        for user in users:
            seen = user.last_login.date().isoformat() if user.last_login else "never logged in"
            self.stdout.write(f"{verb} user {user.pk} ({seen})")
        count = invitations.count()
        for line in personal_data.purge(days=days, dry_run=dry_run):
            self.stdout.write(f"{'Would remove' if dry_run else 'Removed'} {line}")
        if not dry_run:
            for user in users:
                privacy.anonymise_user(user)
            with transaction.atomic():
                invitations.update(email="")
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(users)} user(s) inactive for more than {days} days; "
                f"{'would remove' if dry_run else 'removed'} {count} invitation address(es)."
            )
        )
