"""Database backstop for the cluster size (PostgreSQL).

clusters.services.cluster_build creates a cluster with exactly the programme's cluster size and
cluster_add_school refuses a school beyond it, with readable reasons. A CHECK constraint cannot
count rows of another table, so this trigger makes sure no code path that skips the services (the
shell, a bulk insert, a future bug) can put more schools in a cluster than its programme's
cluster size, or a membership in another cohort than its cluster's. Errors use SQLSTATE 23514
(check_violation), so Django raises IntegrityError. SQLite: no trigger (the services hold the rule).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION clustermembership_within_size() RETURNS trigger AS $$
DECLARE members integer; size integer; cluster_cohort bigint;
BEGIN
    SELECT c.cohort_id, pr.cluster_size INTO cluster_cohort, size
        FROM clusters_cluster c
        JOIN partnerships_cohort co ON co.id = c.cohort_id
        JOIN partnerships_programme pr ON pr.id = co.programme_id
        WHERE c.id = NEW.cluster_id FOR UPDATE OF c;
    IF NEW.cohort_id <> cluster_cohort THEN
        RAISE EXCEPTION 'clustermembership_cohort_is_clusters: membership cohort % is not cluster %''s cohort',
            NEW.cohort_id, NEW.cluster_id USING ERRCODE = '23514';
    END IF;
    SELECT count(*) INTO members FROM clusters_clustermembership
        WHERE cluster_id = NEW.cluster_id AND id <> COALESCE(NEW.id, -1);
    IF members + 1 > size THEN
        RAISE EXCEPTION 'clustermembership_within_size: cluster % would have % schools, more than %',
            NEW.cluster_id, members + 1, size USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER clustermembership_within_size BEFORE INSERT OR UPDATE ON clusters_clustermembership
    FOR EACH ROW EXECUTE FUNCTION clustermembership_within_size();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS clustermembership_within_size ON clusters_clustermembership;
DROP FUNCTION IF EXISTS clustermembership_within_size();
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
    dependencies = [("clusters", "0001_initial"), ("partnerships", "0004_who_speaks_for_a_school")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
