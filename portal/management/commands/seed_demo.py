"""Demo data for the embedded default. Idempotent: running it again changes nothing.

    manage.py seed_demo                     # everything
    manage.py seed_demo --without-outcomes  # all but the synthetic outcome data of the evaluation
                                            # pages (about 90% of the time: 150,000 outcome rows,
                                            # comparison groups and a frozen plan)

Each app contributes through its own `demo.py` (`seed(stdout)`), called in dependency
order, so the command itself stays small.
"""

from importlib import import_module

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.roles import ADMINS_GROUP, FINANCE_GROUP, LEADS_GROUP, STAFF_GROUP

DEMO_PASSWORD = "stem-demo-2026"
# The demo's second factor for staff_carol, finance_fay and admin_dan (portal/two_factor.py): a published key
# and recovery codes, fine for a demo on one's own machine, never for real users.
DEMO_TOTP_KEY_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # b"12345678901234567890"
DEMO_RECOVERY_CODES = ["11111111", "22222222", "33333333", "44444444", "55555555"]

DEMO_USERS = [
    # username, name, group, is_superuser
    ("lead_alice", "Alice Lead", LEADS_GROUP, False),
    ("lead_bob", "Bob Lead", LEADS_GROUP, False),
    ("staff_carol", "Carol Staff", STAFF_GROUP, False),
    ("finance_fay", "Fay Finance", FINANCE_GROUP, False),
    ("admin_dan", "Dan Admin", ADMINS_GROUP, True),
]

APP_SEEDERS = [
    "partnerships.demo",  # register sample, programmes, cohorts, leads' schools
    "clusters.demo",  # Aspire to STEM clusters
    "grants.demo",  # the open cohort's applications in every state
    "evaluation.demo",  # the ENTHUSE 2014–16 cohort as published, and summaries
    "evaluation.demo_outcomes",  # synthetic outcome data for the evaluation pages
]
OUTCOMES_SEEDER = "evaluation.demo_outcomes"


class Command(BaseCommand):
    help = "Create demo users (one per role) and demo programme data. Safe to run repeatedly."

    def add_arguments(self, parser):
        parser.add_argument(
            "--without-outcomes",
            action="store_true",
            help="Skip the evaluation pages' synthetic outcome data (most of the time this takes).",
        )

    def handle(self, *args, **options):
        skipped = {OUTCOMES_SEEDER} if options.get("without_outcomes") else set()
        with transaction.atomic():
            users = self.seed_users()
            for module_name in APP_SEEDERS:
                if module_name in skipped:
                    continue
                try:
                    module = import_module(module_name)
                except ModuleNotFoundError as exc:
                    if exc.name != module_name:
                        raise
                    continue
                module.seed(users=users, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at http://127.0.0.1:8000 as:"))
        for username, _name, group, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<12} password {DEMO_PASSWORD}   ({group})")
        self.stdout.write(
            "Staff and admins also enter a sign-in code: add this key to an authenticator app "
            f"(time-based, 6 digits): {DEMO_TOTP_KEY_BASE32}, or use a recovery code: "
            + ", ".join(DEMO_RECOVERY_CODES)
        )

    def seed_second_factor(self, user) -> None:
        from base64 import b32decode

        from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice.objects.get_or_create(
            user=user,
            name="Demo authenticator",
            defaults={"key": b32decode(DEMO_TOTP_KEY_BASE32).hex(), "confirmed": True},
        )
        device, _ = StaticDevice.objects.get_or_create(user=user, name="Demo recovery codes")
        for code in DEMO_RECOVERY_CODES:
            StaticToken.objects.get_or_create(device=device, token=code)

    def seed_users(self) -> dict[str, User]:
        users = {}
        for username, name, group_name, is_superuser in DEMO_USERS:
            first, last = name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.org",
                    "is_staff": is_superuser,
                    "is_superuser": is_superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=group_name))
            if group_name != LEADS_GROUP:
                self.seed_second_factor(user)
            users[username] = user
        return users
