"""Notification and ReminderSent now belong to messaging (messaging 0002). State only: the
tables stay, under their old names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("partnerships", "0004_who_speaks_for_a_school"),
        ("messaging", "0002_notification_remindersent_from_partnerships"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="ReminderSent"),
            ],
            database_operations=[],
        ),
    ]
