"""Existing clusters whose CPD plan or delivery has begun are active (issue 18): from now on
clusters.services.cluster_started moves them when the first plan item or activity is recorded."""

from django.db import migrations
from django.db.models import Q


def forward(apps, schema_editor):
    Cluster = apps.get_model("clusters", "Cluster")
    Cluster.objects.filter(status="forming").filter(
        Q(plan_items__isnull=False) | Q(activities__isnull=False)
    ).update(status="active")


class Migration(migrations.Migration):
    dependencies = [("clusters", "0002_cluster_size_trigger")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
