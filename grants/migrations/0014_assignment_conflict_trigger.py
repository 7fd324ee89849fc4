"""Database backstop for conflicts of interest (issue 17; PostgreSQL: grants/review.py and
grants/conflicts.py give the readable reasons and hold the rule on SQLite too).

reviewerassignment_not_conflicted: an active ReviewerAssignment is refused when the reviewer
  - declared a conflict on the application (ConflictDeclaration: never overridden); or
  - is linked (SchoolLead, verified or not) to a school of the application's partnership (lead
    school, or a member not declined), to a school of the same academy trust (trust_code) or
    federation (federation_code), or — where the programme's ReviewSettings say so — of the same
    local authority (la_code, else the name, trimmed and lower-cased);
unless programme staff overrode that register conflict (ConflictOverride, audited by the
service). The same rule as grants.conflicts, read from the same tables at the moment of the
insert (or of an update that makes an assignment active or moves it). Ending an assignment is
never refused. Errors use SQLSTATE 23514 (check_violation): Django raises IntegrityError.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION reviewerassignment_not_conflicted() RETURNS trigger AS $$
DECLARE same_la boolean; found text;
BEGIN
    IF NOT NEW.active THEN RETURN NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD.active AND OLD.reviewer_id = NEW.reviewer_id
        AND OLD.application_id = NEW.application_id THEN RETURN NEW; END IF;
    IF EXISTS (SELECT 1 FROM grants_conflictdeclaration d
               WHERE d.application_id = NEW.application_id AND d.reviewer_id = NEW.reviewer_id) THEN
        RAISE EXCEPTION 'reviewerassignment_not_conflicted: reviewer % declared a conflict on application %',
            NEW.reviewer_id, NEW.application_id USING ERRCODE = '23514';
    END IF;
    IF EXISTS (SELECT 1 FROM grants_conflictoverride o
               WHERE o.application_id = NEW.application_id AND o.reviewer_id = NEW.reviewer_id) THEN
        RETURN NEW;
    END IF;
    SELECT COALESCE(rs.conflict_same_local_authority, false) INTO same_la
        FROM grants_application a
        JOIN partnerships_cohort c ON c.id = a.cohort_id
        LEFT JOIN grants_reviewsettings rs ON rs.programme_id = c.programme_id
        WHERE a.id = NEW.application_id;
    SELECT mine.name INTO found
        FROM partnerships_schoollead sl
        JOIN partnerships_school mine ON mine.id = sl.school_id
        JOIN (
            SELECT p.lead_school_id AS school_id
                FROM grants_application a JOIN partnerships_partnership p ON p.id = a.partnership_id
                WHERE a.id = NEW.application_id
            UNION
            SELECT m.school_id
                FROM grants_application a JOIN partnerships_membership m ON m.partnership_id = a.partnership_id
                WHERE a.id = NEW.application_id AND m.status <> 'declined'
        ) t ON true
        JOIN partnerships_school theirs ON theirs.id = t.school_id
        WHERE sl.user_id = NEW.reviewer_id AND (
            mine.id = theirs.id
            OR (mine.trust_code <> '' AND mine.trust_code = theirs.trust_code)
            OR (mine.federation_code <> '' AND mine.federation_code = theirs.federation_code)
            OR (same_la
                AND lower(trim(COALESCE(NULLIF(mine.la_code, ''), mine.local_authority))) <> ''
                AND lower(trim(COALESCE(NULLIF(mine.la_code, ''), mine.local_authority)))
                    = lower(trim(COALESCE(NULLIF(theirs.la_code, ''), theirs.local_authority))))
        )
        LIMIT 1;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'reviewerassignment_not_conflicted: reviewer % (linked to %) is conflicted for application %',
            NEW.reviewer_id, found, NEW.application_id USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER reviewerassignment_not_conflicted BEFORE INSERT OR UPDATE ON grants_reviewerassignment
    FOR EACH ROW EXECUTE FUNCTION reviewerassignment_not_conflicted();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reviewerassignment_not_conflicted ON grants_reviewerassignment;
DROP FUNCTION IF EXISTS reviewerassignment_not_conflicted();
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
    dependencies = [("grants", "0013_deadline_extension_trigger")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
