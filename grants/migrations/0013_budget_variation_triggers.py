"""Database backstops for budget variations (issue 19; PostgreSQL only, grants/variations.py
gives the readable reasons and holds the rules on SQLite too):

- budgetvariation_keeps_lines_above_zero: a variation becoming approved locks its application's
  row (the lock variation_decide takes, so two approvals at once are checked one after the
  other) and refuses it if the line it takes money from — the approved budget line plus
  approved moves into it, minus approved moves out of it — would go below zero.
- budgetvariation_decided_is_final: an approved or refused variation is never changed or
  deleted.
- budgetline_frozen_after_award: the budget lines of an approved or completed grant are never
  inserted, changed or deleted (a variation is the only way money moves between them).
- application_award_fixed: an approved or completed grant's award never changes (a new
  decision is a new application).

Errors use SQLSTATE 23514 (check_violation): Django raises IntegrityError.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION budgetvariation_keeps_lines_above_zero() RETURNS trigger AS $$
DECLARE line_total numeric; moved_in numeric; moved_out numeric;
BEGIN
    IF NEW.status <> 'approved' THEN RETURN NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'approved' THEN RETURN NEW; END IF;
    PERFORM 1 FROM grants_application WHERE id = NEW.application_id FOR UPDATE;
    SELECT COALESCE(sum(amount), 0) INTO line_total FROM grants_budgetline
        WHERE application_id = NEW.application_id AND category = NEW.from_category;
    SELECT COALESCE(sum(amount), 0) INTO moved_in FROM grants_budgetvariation
        WHERE application_id = NEW.application_id AND status = 'approved' AND to_category = NEW.from_category
          AND id <> NEW.id;
    SELECT COALESCE(sum(amount), 0) INTO moved_out FROM grants_budgetvariation
        WHERE application_id = NEW.application_id AND status = 'approved' AND from_category = NEW.from_category
          AND id <> NEW.id;
    IF line_total + moved_in - moved_out - NEW.amount < 0 THEN
        RAISE EXCEPTION 'budgetvariation_keeps_lines_above_zero: moving % from % of application % leaves %',
            NEW.amount, NEW.from_category, NEW.application_id, line_total + moved_in - moved_out - NEW.amount
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER budgetvariation_keeps_lines_above_zero BEFORE INSERT OR UPDATE ON grants_budgetvariation
    FOR EACH ROW EXECUTE FUNCTION budgetvariation_keeps_lines_above_zero();

CREATE OR REPLACE FUNCTION budgetvariation_decided_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('approved', 'refused') THEN
        RAISE EXCEPTION 'budgetvariation_decided_is_final: variation % is %', OLD.id, OLD.status
            USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER budgetvariation_decided_is_final BEFORE UPDATE OR DELETE ON grants_budgetvariation
    FOR EACH ROW EXECUTE FUNCTION budgetvariation_decided_is_final();

CREATE OR REPLACE FUNCTION budgetline_frozen_after_award() RETURNS trigger AS $$
DECLARE app_status text;
BEGIN
    SELECT status INTO app_status FROM grants_application
        WHERE id = COALESCE(NEW.application_id, OLD.application_id);
    IF app_status IN ('approved', 'completed') THEN
        RAISE EXCEPTION 'budgetline_frozen_after_award: application % is %: ask for a budget variation',
            COALESCE(NEW.application_id, OLD.application_id), app_status USING ERRCODE = '23514';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER budgetline_frozen_after_award BEFORE INSERT OR UPDATE OR DELETE ON grants_budgetline
    FOR EACH ROW EXECUTE FUNCTION budgetline_frozen_after_award();

CREATE OR REPLACE FUNCTION application_award_fixed() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN ('approved', 'completed') AND NEW.awarded IS DISTINCT FROM OLD.awarded THEN
        RAISE EXCEPTION 'application_award_fixed: application % was awarded %', OLD.id, OLD.awarded
            USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER application_award_fixed BEFORE UPDATE OF awarded ON grants_application
    FOR EACH ROW EXECUTE FUNCTION application_award_fixed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS application_award_fixed ON grants_application;
DROP FUNCTION IF EXISTS application_award_fixed();
DROP TRIGGER IF EXISTS budgetline_frozen_after_award ON grants_budgetline;
DROP FUNCTION IF EXISTS budgetline_frozen_after_award();
DROP TRIGGER IF EXISTS budgetvariation_decided_is_final ON grants_budgetvariation;
DROP FUNCTION IF EXISTS budgetvariation_decided_is_final();
DROP TRIGGER IF EXISTS budgetvariation_keeps_lines_above_zero ON grants_budgetvariation;
DROP FUNCTION IF EXISTS budgetvariation_keeps_lines_above_zero();
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
    dependencies = [("grants", "0012_budget_variations")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
