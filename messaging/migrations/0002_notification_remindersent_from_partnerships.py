"""Notification and ReminderSent move from partnerships to messaging (issue 16). State only:
the tables keep their names (db_table), no row moves, nothing is locked."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_outbox"),
        ("partnerships", "0004_who_speaks_for_a_school"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=40)),
                        ("title", models.CharField(max_length=200)),
                        ("body", models.TextField(blank=True, max_length=5000)),
                        ("url", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("read_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "partnerships_notification",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["user", "read_at"], name="partnership_user_id_048de9_idx")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReminderSent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=40)),
                        ("key", models.CharField(max_length=100)),
                        ("recipient", models.CharField(max_length=40)),
                        ("sent_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "partnerships_remindersent",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("kind", "key", "recipient"), name="remindersent_once"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
