"""Needs analysis questionnaires and bespoke CPD plan items (issue 18).

- NeedsAnalysis.score may be empty while a questionnaire is a draft (autosave keeps partial answers).
- CPD plan items get an optional school, and must have hours (> 0, ≤ 1000) and a date inside the
  cohort's delivery period. Existing items are brought in line first: no date → the cohort's first
  day; no hours → 1.0 with a note in the description saying so; a date outside the period → the
  nearest day inside it.
- The date rule needs the cohort's dates, so a PostgreSQL trigger holds it
  (`cpdplanitem_in_delivery_period`, SQLSTATE 23514: Django raises IntegrityError). SQLite: the
  service holds it alone.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fix_plan_items(apps, schema_editor):
    CPDPlanItem = apps.get_model("clusters", "CPDPlanItem")
    for item in CPDPlanItem.objects.select_related("cluster__cohort"):
        cohort = item.cluster.cohort
        changed = False
        if item.planned_on is None:
            item.planned_on, changed = cohort.starts_on, True
        elif not cohort.starts_on <= item.planned_on <= cohort.ends_on:
            item.planned_on, changed = min(max(item.planned_on, cohort.starts_on), cohort.ends_on), True
        if not item.planned_hours or item.planned_hours <= 0:
            item.planned_hours = 1
            item.description = (item.description + "\n\n(No planned hours were recorded: set to 1.0.)").strip()
            changed = True
        if changed:
            item.save()


TRIGGER = """
CREATE OR REPLACE FUNCTION cpdplanitem_in_delivery_period() RETURNS trigger AS $$
DECLARE first date; last date;
BEGIN
    SELECT co.starts_on, co.ends_on INTO first, last
        FROM clusters_cluster c JOIN partnerships_cohort co ON co.id = c.cohort_id
        WHERE c.id = NEW.cluster_id;
    IF NEW.planned_on < first OR NEW.planned_on > last THEN
        RAISE EXCEPTION 'cpdplanitem_in_delivery_period: % is outside % to %', NEW.planned_on, first, last
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cpdplanitem_in_delivery_period ON clusters_cpdplanitem;
CREATE TRIGGER cpdplanitem_in_delivery_period BEFORE INSERT OR UPDATE ON clusters_cpdplanitem
    FOR EACH ROW EXECUTE FUNCTION cpdplanitem_in_delivery_period();
"""
UNTRIGGER = """
DROP TRIGGER IF EXISTS cpdplanitem_in_delivery_period ON clusters_cpdplanitem;
DROP FUNCTION IF EXISTS cpdplanitem_in_delivery_period();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: RAISE's % stay as written
            cursor.execute(TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(UNTRIGGER)


class Migration(migrations.Migration):

    dependencies = [
        ('clusters', '0003_cluster_status_follows_work'),
        ('partnerships', '0007_merge_0006_data_imports_0006_merge_20261201_2259'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(fix_plan_items, migrations.RunPython.noop, elidable=False),
        migrations.CreateModel(
            name='NeedsQuestionnaire',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('submitted', 'Submitted'), ('reviewed', 'Reviewed by staff')], default='draft', max_length=10)),
                ('saved_at', models.DateTimeField(auto_now=True)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                ('review_comment', models.TextField(blank=True, max_length=5000)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='cpdplanitem',
            name='cpdplan_hours_gte_0',
        ),
        migrations.RemoveConstraint(
            model_name='needsanalysis',
            name='needs_score_1_5',
        ),
        migrations.AddField(
            model_name='cpdplanitem',
            name='school',
            field=models.ForeignKey(blank=True, help_text='Empty: every school', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='partnerships.school'),
        ),
        migrations.AlterField(
            model_name='cpdplanitem',
            name='planned_hours',
            field=models.DecimalField(decimal_places=1, max_digits=6),
        ),
        migrations.AlterField(
            model_name='cpdplanitem',
            name='planned_on',
            field=models.DateField(),
        ),
        migrations.AlterField(
            model_name='needsanalysis',
            name='score',
            field=models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)]),
        ),
        migrations.AddConstraint(
            model_name='cpdplanitem',
            constraint=models.CheckConstraint(condition=models.Q(('planned_hours__gt', 0), ('planned_hours__lte', 1000)), name='cpdplan_hours_0_1000'),
        ),
        migrations.AddConstraint(
            model_name='needsanalysis',
            constraint=models.CheckConstraint(condition=models.Q(('score__isnull', True), models.Q(('score__gte', 1), ('score__lte', 5)), _connector='OR'), name='needs_score_1_5'),
        ),
        migrations.AddField(
            model_name='needsquestionnaire',
            name='cluster',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='questionnaires', to='clusters.cluster'),
        ),
        migrations.AddField(
            model_name='needsquestionnaire',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='needsquestionnaire',
            name='school',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='partnerships.school'),
        ),
        migrations.AddField(
            model_name='needsquestionnaire',
            name='submitted_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='needsquestionnaire',
            constraint=models.UniqueConstraint(fields=('cluster', 'school'), name='needsquestionnaire_one_per_school'),
        ),
        migrations.AddConstraint(
            model_name='needsquestionnaire',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'draft'), ('submitted_at__isnull', False), _connector='OR'), name='needsquestionnaire_submitted_has_date'),
        ),
        migrations.AddConstraint(
            model_name='needsquestionnaire',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'reviewed'), _negated=True), ('reviewed_at__isnull', False), _connector='OR'), name='needsquestionnaire_reviewed_has_date'),
        ),
        migrations.RunPython(add_trigger, drop_trigger, elidable=False),
]
