"""Existing partnerships take the status their grant implies (issue 18): from now on
grants.services moves it with every transition, and nothing else sets it.

- approved → active; completed → completed; withdrawn or rejected → withdrawn.
- An approved application whose partnership was already marked completed and whose every
  instalment is paid (the 2014–16 demo cohort as first seeded) is completed: the money is all
  out and the partnership closed, so "approved" was the stale word.
A completed partnership is never moved back (the partnership_completed_read_only trigger).
"""

from django.db import migrations
from django.db.models import Count, Q

FOLLOWS = {"approved": "active", "completed": "completed", "withdrawn": "withdrawn", "rejected": "withdrawn"}


def forward(apps, schema_editor):
    Application = apps.get_model("grants", "Application")
    Partnership = apps.get_model("partnerships", "Partnership")
    stale = (
        Application.objects.filter(status="approved", partnership__status="completed")
        .annotate(
            n=Count("payments"),
            unpaid=Count("payments", filter=~Q(payments__status="paid")),
        )
        .filter(n__gt=0, unpaid=0)
    )
    Application.objects.filter(pk__in=[a.pk for a in stale]).update(status="completed")
    for application_status, partnership_status in FOLLOWS.items():
        Partnership.objects.filter(application__status=application_status).exclude(
            status__in=[partnership_status, "completed"]
        ).update(status=partnership_status)


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0005_application_message"),
        ("partnerships", "0007_merge_0006_data_imports_0006_merge_20261201_2259"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
