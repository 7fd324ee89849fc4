"""Data changes that make a cohort summary out of date, wired to the debounced rebuild.

Connected in EvaluationConfig.ready(). The dependency points one way: evaluation imports the
other apps' models; they never import evaluation. The handlers run no query: they record
what changed, and evaluation.tasks resolves it to cohorts after the transaction commits.
"""

from django.db.models.signals import post_delete, post_save

from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
from evaluation.tasks import note_change
from grants.models import Application, Payment
from partnerships.models import Membership, Partnership

# model -> what identifies its cohort: (kind, attribute), see evaluation.tasks.note_change
SOURCES = {
    Partnership: [("cohort", "cohort_id")],
    Membership: [("cohort", "cohort_id")],
    Cluster: [("cohort", "cohort_id")],
    ClusterMembership: [("cohort", "cohort_id")],
    CPDActivity: [("partnership", "partnership_id"), ("cluster", "cluster_id")],
    Feedback: [("activity", "activity_id")],
    Application: [("cohort", "cohort_id")],
    Payment: [("application", "application_id")],
}


def summary_source_changed(sender, instance, using=None, **kwargs):
    for kind, attribute in SOURCES[sender]:
        note_change(kind, getattr(instance, attribute, None), using=using or "default")


def connect() -> None:
    for model in SOURCES:
        uid = f"evaluation.summary.{model._meta.label_lower}"
        post_save.connect(summary_source_changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(summary_source_changed, sender=model, dispatch_uid=f"{uid}.delete")
