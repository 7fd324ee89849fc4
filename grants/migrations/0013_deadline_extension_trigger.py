"""Database backstop for deadline extensions (issue 17; PostgreSQL: grants/extensions.py gives the
readable reasons and holds the rules on SQLite too).

deadlineextension_after_round: an extension is written only for a draft application, and its
new deadline comes after its round's own (`partnerships_cohort.applications_close_at`). The
check constraints on the table cannot see another table; this trigger can. Errors use SQLSTATE
23514 (check_violation): Django raises IntegrityError.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION deadlineextension_after_round() RETURNS trigger AS $$
DECLARE app_status text; round_closes timestamptz;
BEGIN
    SELECT a.status, c.applications_close_at INTO app_status, round_closes
        FROM grants_application a JOIN partnerships_cohort c ON c.id = a.cohort_id
        WHERE a.id = NEW.application_id;
    IF NEW.until <= round_closes THEN
        RAISE EXCEPTION 'deadlineextension_after_round: extension of application % ends % , not after its round (%)',
            NEW.application_id, NEW.until, round_closes USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'INSERT' AND app_status <> 'draft' THEN
        RAISE EXCEPTION 'deadlineextension_after_round: application % is %, not a draft',
            NEW.application_id, app_status USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER deadlineextension_after_round BEFORE INSERT OR UPDATE OF until, application_id
    ON grants_deadlineextension FOR EACH ROW EXECUTE FUNCTION deadlineextension_after_round();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS deadlineextension_after_round ON grants_deadlineextension;
DROP FUNCTION IF EXISTS deadlineextension_after_round();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: RAISE's % stay as written
            cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("grants", "0012_deadline_extensions")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
