"""Indexes for the review queue's search (issue 17; PostgreSQL only, nothing on SQLite).

The queue searches with `icontains`, which Django writes as UPPER(column::text) LIKE UPPER(%s):
trigram GIN indexes on exactly those expressions let PostgreSQL answer a selective search (a
school's name, part of a reference) from the index, and, as expression indexes, give the planner
statistics on UPPER(name) after ANALYZE, so a search that matches most schools ("school") is
estimated as such and planned from the memberships side instead of a nested loop over every
matching school of the register (benchmarks/results/issue17_queue_panel.json, docs/performance.md).

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it. Where it cannot
be created the migration fails loudly rather than leaving the queue slow unnoticed.
"""

from django.db import migrations

INDEXES = [
    ("school_name_upper_trgm", "partnerships_school", "name"),
    ("partnership_name_upper_trgm", "partnerships_partnership", "name"),
    ("application_reference_upper_trgm", "grants_application", "reference"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # The operator class lives in the extension's schema, which need not be on search_path
        # (an extension is one per database, created in whichever schema came first).
        cursor.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
        (schema,) = cursor.fetchone()
        for name, table, column in INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin ((UPPER({column}::text)) {schema}.gin_trgm_ops)"
            )
            cursor.execute(f"ANALYZE {table}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, _table, _column in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("grants", "0014_assignment_conflict_trigger"),
        ("partnerships", "0008_schoollink_merged_membership_moved"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
