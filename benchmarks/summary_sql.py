"""The figures of a cohort summary computed by ONE hand-written SQL statement: the yardstick
for `evaluation.tasks.build_cohort_summary` (how close is the ORM task to the best one query?).

It computes what evaluation/summaries.py's `compute()` does (partnerships and clusters by
status; distinct schools taking part with pupils, mean % FSM, Opportunity Areas, by phase,
region and local authority; requested/awarded/paid; applications by status; activities,
hours and reach, by kind and by month; feedback means) and returns one row of JSON columns.
"""

import json

REQUESTED = ("submitted", "changes_requested", "approved", "rejected", "completed")
AWARDED = ("approved", "completed")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def summary_sql() -> str:
    from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
    from grants.models import Application, Payment
    from partnerships.models import Cohort, Membership, Partnership, Programme, School

    t = {
        "cohort": Cohort._meta.db_table,
        "programme": Programme._meta.db_table,
        "partnership": Partnership._meta.db_table,
        "membership": Membership._meta.db_table,
        "cluster": Cluster._meta.db_table,
        "clustermembership": ClusterMembership._meta.db_table,
        "school": School._meta.db_table,
        "application": Application._meta.db_table,
        "payment": Payment._meta.db_table,
        "activity": CPDActivity._meta.db_table,
        "feedback": Feedback._meta.db_table,
    }
    return f"""
WITH
  p AS (SELECT id, status FROM {t["partnership"]} WHERE cohort_id = %(cohort)s),
  cl AS (SELECT id, status FROM {t["cluster"]} WHERE cohort_id = %(cohort)s),
  s AS (
    SELECT id, phase, region, local_authority, pupils, fsm_percent, opportunity_area
    FROM {t["school"]}
    WHERE id IN (
      SELECT school_id FROM {t["membership"]} WHERE cohort_id = %(cohort)s AND status = 'confirmed'
      UNION
      SELECT school_id FROM {t["clustermembership"]} WHERE cohort_id = %(cohort)s
    )
  ),
  a AS (SELECT id, status, requested, awarded FROM {t["application"]} WHERE cohort_id = %(cohort)s),
  act AS (
    SELECT id, kind, held_on, hours, teachers_reached, students_reached
    FROM {t["activity"]}
    WHERE partnership_id IN (SELECT id FROM p) OR cluster_id IN (SELECT id FROM cl)
  )
SELECT
  (SELECT json_build_object('id', c.id, 'name', c.name, 'programme', pr.name, 'budget', c.budget,
                            'starts_on', c.starts_on, 'ends_on', c.ends_on)
     FROM {t["cohort"]} c JOIN {t["programme"]} pr ON pr.id = c.programme_id
    WHERE c.id = %(cohort)s) AS cohort,
  (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
     (SELECT status, count(*) AS n FROM p GROUP BY status) x) AS partnerships_by_status,
  (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
     (SELECT status, count(*) AS n FROM cl GROUP BY status) x) AS clusters_by_status,
  (SELECT json_build_object('schools', count(*), 'pupils', coalesce(sum(pupils), 0),
                            'mean_fsm', round(avg(fsm_percent), 2),
                            'in_opportunity_areas', count(*) FILTER (WHERE opportunity_area <> ''))
     FROM s) AS schools,
  (SELECT coalesce(json_object_agg(phase, n), '{{}}') FROM
     (SELECT phase, count(*) AS n FROM s GROUP BY phase) x) AS schools_by_phase,
  (SELECT coalesce(json_agg(json_build_array(region, n) ORDER BY n DESC, region), '[]') FROM
     (SELECT region, count(*) AS n FROM s GROUP BY region) x) AS schools_by_region,
  (SELECT coalesce(json_agg(json_build_array(local_authority, n) ORDER BY n DESC, local_authority), '[]')
     FROM (SELECT local_authority, count(*) AS n FROM s GROUP BY local_authority) x)
     AS schools_by_local_authority,
  (SELECT json_build_object(
            'requested', coalesce(sum(requested) FILTER (WHERE status IN {_in(REQUESTED)}), 0),
            'awarded', coalesce(sum(awarded) FILTER (WHERE status IN {_in(AWARDED)}), 0))
     FROM a) AS money,
  (SELECT coalesce(sum(amount), 0) FROM {t["payment"]}
    WHERE application_id IN (SELECT id FROM a) AND status = 'paid') AS paid,
  (SELECT coalesce(json_object_agg(status, n), '{{}}') FROM
     (SELECT status, count(*) AS n FROM a GROUP BY status) x) AS applications_by_status,
  (SELECT json_build_object('activities', count(*), 'hours', coalesce(sum(hours), 0),
                            'cpd_hours', coalesce(sum(hours) FILTER (WHERE kind = 'teacher_cpd'), 0),
                            'teachers', coalesce(sum(teachers_reached), 0),
                            'students', coalesce(sum(students_reached), 0))
     FROM act) AS activities,
  (SELECT coalesce(json_object_agg(kind, json_build_array(n, hours, teachers, students)), '{{}}') FROM
     (SELECT kind, count(*) AS n, sum(hours) AS hours, sum(teachers_reached) AS teachers,
             sum(students_reached) AS students
        FROM act GROUP BY kind) x) AS activities_by_kind,
  (SELECT coalesce(json_agg(json_build_array(to_char(month, 'YYYY-MM'), n, hours, teachers, students)
                            ORDER BY month), '[]') FROM
     (SELECT date_trunc('month', held_on) AS month, count(*) AS n, sum(hours) AS hours,
             sum(teachers_reached) AS teachers, sum(students_reached) AS students
        FROM act GROUP BY 1) x) AS activities_by_month,
  (SELECT json_build_object('responses', count(*),
                            'expecting_more', count(*) FILTER (WHERE expects_more_cpd),
                            'engaging_ideas', round(avg(engaging_ideas), 2),
                            'hands_on', round(avg(hands_on), 2),
                            'sharing_across_schools', round(avg(sharing_across_schools), 2),
                            'overall_usefulness', round(avg(overall_usefulness), 2))
     FROM {t["feedback"]} WHERE activity_id IN (SELECT id FROM act)) AS feedback
"""


def raw_summary(cohort_id: int) -> dict:
    """Run the statement for one cohort; the row as a dict of its JSON columns."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(summary_sql(), {"cohort": cohort_id})
        columns = [col[0] for col in cursor.description]
        row = cursor.fetchone()
    return {
        name: json.loads(value) if isinstance(value, str) else value
        for name, value in zip(columns, row, strict=True)
    }


def agrees_with(data: dict, raw: dict) -> list[str]:
    """Headline figures on which the task's summary and the raw query disagree (empty: they agree)."""
    from decimal import Decimal

    checks = {
        "schools": (data.get("schools"), raw["schools"]["schools"]),
        "pupils": (data.get("pupils"), raw["schools"]["pupils"]),
        "partnerships": (data.get("partnerships"), sum(raw["partnerships_by_status"].values())),
        "activities": (data.get("activities"), raw["activities"]["activities"]),
        "teachers_reached": (data.get("teachers_reached"), raw["activities"]["teachers"]),
        "students_reached": (data.get("students_reached"), raw["activities"]["students"]),
        "feedback responses": ((data.get("feedback") or {}).get("responses"), raw["feedback"]["responses"]),
        "requested": (Decimal(str(data.get("requested"))), Decimal(str(raw["money"]["requested"]))),
        "awarded": (Decimal(str(data.get("awarded"))), Decimal(str(raw["money"]["awarded"]))),
        "paid": (Decimal(str(data.get("paid"))), Decimal(str(raw["paid"]))),
        "months": (len(data.get("activities_by_month") or []), len(raw["activities_by_month"])),
    }
    return [f"{name}: task {a} vs SQL {b}" for name, (a, b) in checks.items() if a != b]
