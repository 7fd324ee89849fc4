"""A published version of a programme's grant agreement terms is never edited (issue 19;
PostgreSQL, grants/programme_finance.py publishes new versions only): an UPDATE is refused, and
so is a DELETE of a version that an agreement was offered with. SQLSTATE 23514: IntegrityError."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION agreementterms_never_edited() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'agreementterms_never_edited: terms % are published: publish a new version', OLD.version
            USING ERRCODE = '23514';
    END IF;
    IF EXISTS (
        SELECT 1 FROM grants_grantagreement g
        JOIN grants_application a ON a.id = g.application_id
        JOIN partnerships_cohort c ON c.id = a.cohort_id
        WHERE c.programme_id = OLD.programme_id AND g.terms_version = OLD.version
    ) THEN
        RAISE EXCEPTION 'agreementterms_never_edited: terms % were offered with an agreement', OLD.version
            USING ERRCODE = '23514';
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER agreementterms_never_edited BEFORE UPDATE OR DELETE ON grants_agreementterms
    FOR EACH ROW EXECUTE FUNCTION agreementterms_never_edited();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS agreementterms_never_edited ON grants_agreementterms;
DROP FUNCTION IF EXISTS agreementterms_never_edited();
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
    dependencies = [("grants", "0013_budget_variation_triggers"), ("partnerships", "0009_cost_codes")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
