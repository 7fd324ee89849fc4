"""Database backstops for the minimum of schools and for completed partnerships (PostgreSQL).

The services give the readable reasons (grants.services.membership_guard, application_approve);
these triggers make sure no code path that skips them (a shell, a bulk update, a future bug)
can break the rules:

- membership_keeps_minimum: a confirmed membership of a partnership whose application is
  submitted or approved cannot be deleted, moved or un-confirmed when the partnership would be
  left with fewer confirmed schools (of open schools) than the programme's minimum.
- application_approved_has_minimum: an application cannot become approved while its partnership
  has fewer confirmed schools (of open schools) than the programme's minimum.
- partnership_completed_read_only: a completed partnership's memberships (its status, or its
  application's) cannot be removed or changed, and its own status, name, lead school and cohort
  stay as they are. Nulling a person (SET NULL when an account is deleted) is still allowed.
  Inserting is left to the services (which refuse it): loading a historic, already-completed
  cohort (the evaluation demo, an import) writes the partnership before its schools.

Errors use SQLSTATE 23514 (check_violation), so Django raises IntegrityError. SQLite: no triggers
(the services hold the rules there).
"""

from django.db import migrations

CONFIRMED_OPEN = """
    SELECT count(*) FROM partnerships_membership m
    JOIN partnerships_school s ON s.id = m.school_id
    WHERE m.partnership_id = {pid} AND m.status = 'confirmed' AND s.is_open {extra}
"""
MIN_SCHOOLS = """
    SELECT pr.min_schools FROM partnerships_partnership pa
    JOIN partnerships_cohort c ON c.id = pa.cohort_id
    JOIN partnerships_programme pr ON pr.id = c.programme_id
    WHERE pa.id = {pid}
"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION membership_keeps_minimum() RETURNS trigger AS $$
DECLARE app_status text; left_count integer; needed integer;
BEGIN
    IF OLD.status <> 'confirmed' THEN RETURN COALESCE(NEW, OLD); END IF;
    IF TG_OP = 'UPDATE' AND NEW.status = 'confirmed' AND NEW.partnership_id = OLD.partnership_id
       AND NEW.school_id = OLD.school_id THEN RETURN NEW; END IF;
    SELECT status INTO app_status FROM grants_application WHERE partnership_id = OLD.partnership_id;
    IF app_status IS NULL OR app_status NOT IN ('submitted', 'approved') THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    SELECT ({CONFIRMED_OPEN.format(pid="OLD.partnership_id", extra="AND m.id <> OLD.id")}) INTO left_count;
    SELECT ({MIN_SCHOOLS.format(pid="OLD.partnership_id")}) INTO needed;
    IF left_count < needed THEN
        RAISE EXCEPTION 'membership_keeps_minimum: partnership % would have % confirmed schools, fewer than %',
            OLD.partnership_id, left_count, needed USING ERRCODE = '23514';
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$ LANGUAGE plpgsql;

CREATE TRIGGER membership_keeps_minimum BEFORE UPDATE OR DELETE ON partnerships_membership
    FOR EACH ROW EXECUTE FUNCTION membership_keeps_minimum();

CREATE OR REPLACE FUNCTION application_approved_has_minimum() RETURNS trigger AS $$
DECLARE confirmed integer; needed integer;
BEGIN
    IF NEW.status = 'approved' AND OLD.status IS DISTINCT FROM 'approved' THEN
        SELECT ({CONFIRMED_OPEN.format(pid="NEW.partnership_id", extra="")}) INTO confirmed;
        SELECT ({MIN_SCHOOLS.format(pid="NEW.partnership_id")}) INTO needed;
        IF confirmed < needed THEN
            RAISE EXCEPTION 'application_approved_has_minimum: application % has % confirmed schools, fewer than %',
                NEW.id, confirmed, needed USING ERRCODE = '23514';
        END IF;
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER application_approved_has_minimum BEFORE UPDATE ON grants_application
    FOR EACH ROW EXECUTE FUNCTION application_approved_has_minimum();

CREATE OR REPLACE FUNCTION partnership_completed_read_only() RETURNS trigger AS $$
DECLARE pid bigint; closed boolean;
BEGIN
    IF TG_TABLE_NAME = 'partnerships_partnership' THEN
        IF OLD.status = 'completed' AND (NEW.status, NEW.name, NEW.lead_school_id, NEW.cohort_id)
           IS DISTINCT FROM (OLD.status, OLD.name, OLD.lead_school_id, OLD.cohort_id) THEN
            RAISE EXCEPTION 'partnership_completed_read_only: partnership % is completed', OLD.id
                USING ERRCODE = '23514';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.status, NEW.school_id, NEW.role, NEW.partnership_id)
       IS NOT DISTINCT FROM (OLD.status, OLD.school_id, OLD.role, OLD.partnership_id) THEN
        RETURN NEW;
    END IF;
    pid := OLD.partnership_id;
    SELECT (pa.status = 'completed' OR COALESCE(a.status = 'completed', false)) INTO closed
        FROM partnerships_partnership pa LEFT JOIN grants_application a ON a.partnership_id = pa.id
        WHERE pa.id = pid;
    IF closed THEN
        RAISE EXCEPTION 'partnership_completed_read_only: partnership % is completed', pid
            USING ERRCODE = '23514';
    END IF;
    RETURN COALESCE(NEW, OLD);
END $$ LANGUAGE plpgsql;

CREATE TRIGGER partnership_completed_read_only BEFORE UPDATE ON partnerships_partnership
    FOR EACH ROW EXECUTE FUNCTION partnership_completed_read_only();
CREATE TRIGGER membership_completed_read_only BEFORE UPDATE OR DELETE ON partnerships_membership
    FOR EACH ROW EXECUTE FUNCTION partnership_completed_read_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS membership_completed_read_only ON partnerships_membership;
DROP TRIGGER IF EXISTS partnership_completed_read_only ON partnerships_partnership;
DROP FUNCTION IF EXISTS partnership_completed_read_only();
DROP TRIGGER IF EXISTS application_approved_has_minimum ON grants_application;
DROP FUNCTION IF EXISTS application_approved_has_minimum();
DROP TRIGGER IF EXISTS membership_keeps_minimum ON partnerships_membership;
DROP FUNCTION IF EXISTS membership_keeps_minimum();
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
    dependencies = [
        ("grants", "0003_application_queue_order_index"),
        ("partnerships", "0004_who_speaks_for_a_school"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
