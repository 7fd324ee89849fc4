"""Database backstops for the money rules of issue 19 (PostgreSQL; the services in
grants/payments.py give the readable reasons and hold the rules on SQLite too):

- payment_schedule_sums_to_award: a DEFERRABLE INITIALLY DEFERRED constraint trigger on
  grants_payment (insert, update, delete) and grants_application (update): at commit, an approved
  or completed grant that has instalments has instalments adding up to its award, to the penny.
  Deferred, because a schedule is written one row at a time (the award, then its instalments;
  a change deletes and inserts): only the committed whole must add up. A grant with no
  instalments at all is not checked (applications approved before payments existed).
- payment_release_needs_agreement: an instalment of a grant that has a grant agreement cannot
  become released or paid while the agreement is not accepted (grants awarded before agreements
  existed have none and are not checked).
- grantagreement_not_deleted: an agreement is never deleted.
- paymentrecord_matches_paid: (deferred) the transfers recorded against an instalment add up to
  its paid_amount, which `payment_paid_within_amount` keeps at or below its amount; so, whatever
  path writes them, an instalment is never paid for more than it is. Transfers cannot be changed
  or deleted.

Errors use SQLSTATE 23514 (check_violation): Django raises IntegrityError.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payment_schedule_sums_to_award() RETURNS trigger AS $$
DECLARE app_id bigint; app_status text; award numeric; total numeric; n integer;
BEGIN
    IF TG_TABLE_NAME = 'grants_application' THEN app_id := NEW.id;
    ELSE app_id := COALESCE(NEW.application_id, OLD.application_id); END IF;
    SELECT status, awarded INTO app_status, award FROM grants_application WHERE id = app_id;
    IF app_status IS NULL OR app_status NOT IN ('approved', 'completed') THEN RETURN NULL; END IF;
    SELECT count(*), COALESCE(sum(amount), 0) INTO n, total FROM grants_payment WHERE application_id = app_id;
    IF n > 0 AND total <> award THEN
        RAISE EXCEPTION 'payment_schedule_sums_to_award: application % has instalments of % for an award of %',
            app_id, total, award USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payment_schedule_sums_to_award AFTER INSERT OR UPDATE OR DELETE ON grants_payment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payment_schedule_sums_to_award();
CREATE CONSTRAINT TRIGGER application_schedule_sums_to_award AFTER UPDATE ON grants_application
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payment_schedule_sums_to_award();

CREATE OR REPLACE FUNCTION payment_release_needs_agreement() RETURNS trigger AS $$
DECLARE agreement_status text;
BEGIN
    IF NEW.status NOT IN ('released', 'paid') THEN RETURN NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IN ('released', 'paid') THEN RETURN NEW; END IF;
    SELECT status INTO agreement_status FROM grants_grantagreement WHERE application_id = NEW.application_id;
    IF agreement_status IS NOT NULL AND agreement_status <> 'accepted' THEN
        RAISE EXCEPTION 'payment_release_needs_agreement: the agreement of application % is %',
            NEW.application_id, agreement_status USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER payment_release_needs_agreement BEFORE INSERT OR UPDATE ON grants_payment
    FOR EACH ROW EXECUTE FUNCTION payment_release_needs_agreement();

CREATE OR REPLACE FUNCTION grantagreement_not_deleted() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'grantagreement_not_deleted: agreement % is kept', OLD.id USING ERRCODE = '23514';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER grantagreement_not_deleted BEFORE DELETE ON grants_grantagreement
    FOR EACH ROW EXECUTE FUNCTION grantagreement_not_deleted();

CREATE OR REPLACE FUNCTION paymentrecord_matches_paid() RETURNS trigger AS $$
DECLARE pay_id bigint; paid numeric; total numeric;
BEGIN
    IF TG_TABLE_NAME = 'grants_paymentrecord' THEN
        IF TG_OP <> 'INSERT' THEN
            RAISE EXCEPTION 'paymentrecord_matches_paid: a recorded transfer cannot be changed or deleted'
                USING ERRCODE = '23514';
        END IF;
        pay_id := NEW.payment_id;
    ELSE
        pay_id := NEW.id;
    END IF;
    SELECT paid_amount INTO paid FROM grants_payment WHERE id = pay_id;
    SELECT COALESCE(sum(amount), 0) INTO total FROM grants_paymentrecord WHERE payment_id = pay_id;
    IF EXISTS (SELECT 1 FROM grants_paymentrecord WHERE payment_id = pay_id) AND total <> paid THEN
        RAISE EXCEPTION 'paymentrecord_matches_paid: instalment % has transfers of % but paid_amount %',
            pay_id, total, paid USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER paymentrecord_matches_paid AFTER INSERT OR UPDATE OR DELETE ON grants_paymentrecord
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION paymentrecord_matches_paid();
CREATE CONSTRAINT TRIGGER payment_matches_records AFTER UPDATE OF paid_amount ON grants_payment
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION paymentrecord_matches_paid();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payment_matches_records ON grants_payment;
DROP TRIGGER IF EXISTS paymentrecord_matches_paid ON grants_paymentrecord;
DROP FUNCTION IF EXISTS paymentrecord_matches_paid();
DROP TRIGGER IF EXISTS grantagreement_not_deleted ON grants_grantagreement;
DROP FUNCTION IF EXISTS grantagreement_not_deleted();
DROP TRIGGER IF EXISTS payment_release_needs_agreement ON grants_payment;
DROP FUNCTION IF EXISTS payment_release_needs_agreement();
DROP TRIGGER IF EXISTS application_schedule_sums_to_award ON grants_application;
DROP TRIGGER IF EXISTS payment_schedule_sums_to_award ON grants_payment;
DROP FUNCTION IF EXISTS payment_schedule_sums_to_award();
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
    dependencies = [("grants", "0010_finance")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
