"""ProgrammeFinanceEvent is append-only in the database too (PostgreSQL; the model refuses on
every database): the history of a programme's cost codes, schedule template and terms is never
changed or deleted. SQLSTATE 23514 (check_violation): Django raises IntegrityError."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION programmefinanceevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The finance set-up''s history cannot be changed or deleted.'
        USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS programmefinanceevent_append_only ON grants_programmefinanceevent;
CREATE TRIGGER programmefinanceevent_append_only BEFORE UPDATE OR DELETE ON grants_programmefinanceevent
    FOR EACH ROW EXECUTE FUNCTION programmefinanceevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS programmefinanceevent_append_only ON grants_programmefinanceevent;
DROP FUNCTION IF EXISTS programmefinanceevent_append_only();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: the quotes stay as written
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("grants", "0018_programme_finance_event")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
