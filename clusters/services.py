"""Writes with rules for clusters (membership, needs analysis, CPD plan) and for the CPD
activities and feedback of partnerships and clusters alike."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from clusters.models import (
    Cluster,
    ClusterMembership,
    ClusterReport,
    CommentTheme,
    CPDActivity,
    CPDPlanItem,
    Feedback,
    FocusArea,
    NeedsAnalysis,
    NeedsQuestionnaire,
)
from partnerships.eligibility import ineligibility_reasons
from partnerships.models import Cohort, Membership, Partnership, Programme, School
from partnerships.services import acts_for
from portal.roles import Role, role_of

MAX_HOURS = Decimal("1000")
RATING_FIELDS = ["engaging_ideas", "hands_on", "sharing_across_schools", "overall_usefulness"]
ACTIVITY_FIELDS = [
    "kind",
    "title",
    "description",
    "held_on",
    "hours",
    "teachers_reached",
    "students_reached",
    "focus_area",
]


# --- Who may act ----------------------------------------------------------------------


def runs_programme(user, programme: Programme) -> bool:
    """Admins, and the programme's own staff."""
    role = role_of(user)
    return role == Role.ADMIN or (role == Role.STAFF and programme.staff.filter(pk=user.pk).exists())


def ensure_runs_programme(user, programme: Programme, action: str) -> None:
    if not runs_programme(user, programme):
        raise PermissionDenied(f"Only {programme.name} staff may {action}.")


def may_manage_activities(
    user, *, partnership: Partnership | None = None, cluster: Cluster | None = None
) -> bool:
    """A partnership's activities are kept by its lead school's leads; a cluster's by programme staff."""
    if partnership is not None:
        return acts_for(user, partnership.lead_school)
    return runs_programme(user, cluster.cohort.programme)


# --- Clusters -------------------------------------------------------------------------


def cluster_create(*, cohort: Cohort, name: str, by) -> Cluster:
    ensure_runs_programme(by, cohort.programme, "create clusters")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the cluster a name."})
    if cohort.programme.kind != Programme.Kind.CLUSTERS:
        raise ValidationError({"cohort": f"{cohort.programme.name} works with partnerships, not clusters."})
    if Cluster.objects.filter(cohort=cohort, name=name).exists():
        raise ValidationError({"name": f"{cohort} already has a cluster called {name}."})
    try:
        with transaction.atomic():
            return Cluster.objects.create(cohort=cohort, name=name)
    except IntegrityError:
        raise ValidationError({"name": f"{cohort} already has a cluster called {name}."}) from None


def _check_joinable(school: School, cluster: Cluster, programme: Programme) -> None:
    """Raise with the school's reasons when it may not join this cluster."""
    reasons = ineligibility_reasons(school, programme)
    if reasons:
        raise ValidationError({"schools": [f"{school.name} cannot join: {r}" for r in reasons]})
    other = (
        ClusterMembership.objects.filter(school=school, cohort=cluster.cohort)
        .exclude(cluster=cluster)
        .select_related("cluster")
        .first()
    )
    if other:
        raise ValidationError({"schools": f"{school.name} is already in the cluster {other.cluster.name}."})


def cluster_build(*, cohort: Cohort, name: str, schools, by) -> Cluster:
    """Create a cluster with exactly the programme's cluster size of eligible schools that are in
    no other cluster of the cohort: all of it or nothing."""
    ensure_runs_programme(by, cohort.programme, "create clusters")
    schools = list({school.pk: school for school in schools}.values())
    size = cohort.programme.cluster_size
    if len(schools) != size:
        raise ValidationError({"schools": f"A cluster has exactly {size} schools; {len(schools)} chosen."})
    with transaction.atomic():
        cluster = cluster_create(cohort=cohort, name=name, by=by)
        # Lock the schools so that two staff building clusters at once cannot share one.
        locked = list(
            School.objects.select_for_update().filter(pk__in=[s.pk for s in schools]).order_by("pk")
        )
        errors = []
        for school in locked:
            try:
                _check_joinable(school, cluster, cohort.programme)
            except ValidationError as exc:
                errors.extend(exc.message_dict["schools"])
        if errors:
            raise ValidationError({"schools": errors})
        try:
            with transaction.atomic():
                ClusterMembership.objects.bulk_create(
                    ClusterMembership(cluster=cluster, school=school, cohort=cohort) for school in locked
                )
        except IntegrityError:
            raise ValidationError(
                {"schools": "One of these schools has just joined another cluster of this cohort."}
            ) from None
    return cluster


def cluster_started(cluster: Cluster) -> None:
    """A forming cluster whose CPD plan or delivery has begun is active (the one writer of
    `Cluster.status` besides creation; never set by hand)."""
    Cluster.objects.filter(pk=cluster.pk, status=Cluster.Status.FORMING).update(status=Cluster.Status.ACTIVE)
    cluster.status = Cluster.Status.ACTIVE if cluster.status == Cluster.Status.FORMING else cluster.status


REPORT_LIMIT = 10000


def may_write_cluster_report(user, cluster: Cluster) -> bool:
    """Programme staff, or a verified lead of one of the cluster's schools."""
    return runs_programme(user, cluster.cohort.programme) or (
        member_schools(cluster=cluster)
        .filter(lead_links__user=user, lead_links__verified_at__isnull=False)
        .exists()
    )


def cluster_report_submit(*, cluster: Cluster, summary: str, by) -> ClusterReport:
    """Submit (or, until it is accepted, rewrite) the cluster's final report. Only an active
    cluster reports: one whose plan or delivery has begun."""
    if not may_write_cluster_report(by, cluster):
        raise PermissionDenied(
            "Only programme staff or a lead of a cluster school may write its final report."
        )
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": "Say what the cluster delivered and learned."})
    if len(summary) > REPORT_LIMIT:
        raise ValidationError(
            {
                "summary": f"Keep this to {REPORT_LIMIT:,} characters: it has {len(summary):,}. "
                "Nothing was cut."
            }
        )
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if cluster.status != Cluster.Status.ACTIVE:
            raise ValidationError(
                f"This cluster is {cluster.get_status_display().lower()}: only an active cluster "
                "(its plan or delivery begun) sends a final report."
            )
        report = ClusterReport.objects.filter(cluster=cluster).first()
        if report is not None and report.status == ClusterReport.Status.ACCEPTED:
            raise ValidationError("The final report has been accepted: it can no longer be changed.")
        report = report or ClusterReport(cluster=cluster)
        report.summary, report.submitted_by, report.submitted_at = summary, by, timezone.now()
        report.save()
    return report


def cluster_report_accept(*, cluster: Cluster, by) -> ClusterReport:
    """Programme staff accept the final report: the cluster is completed (the one writer of
    "completed"; the trigger `cluster_completed_has_accepted_report` refuses any other)."""
    ensure_runs_programme(by, cluster.cohort.programme, "accept a cluster's final report")
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        report = ClusterReport.objects.select_for_update().filter(cluster=cluster).first()
        if report is None:
            raise ValidationError("The cluster has not sent its final report yet.")
        if report.status == ClusterReport.Status.ACCEPTED:
            return report
        report.status, report.accepted_by, report.accepted_at = (
            ClusterReport.Status.ACCEPTED,
            by,
            timezone.now(),
        )
        report.save(update_fields=["status", "accepted_by", "accepted_at"])
        Cluster.objects.filter(pk=cluster.pk).update(
            status=Cluster.Status.COMPLETED, updated_at=timezone.now()
        )
    return report


def cluster_shortfall(cluster: Cluster) -> int:
    """How many more schools the cluster needs to reach the programme's cluster size."""
    return max(0, cluster.cohort.programme.cluster_size - cluster.memberships.count())


def cluster_add_school(*, cluster: Cluster, school: School, by) -> ClusterMembership:
    """Add an eligible school; a cluster holds exactly the programme's cluster size, no more."""
    ensure_runs_programme(by, cluster.cohort.programme, "change clusters")
    with transaction.atomic():
        cluster = (
            Cluster.objects.select_for_update(of=("self",))
            .select_related("cohort__programme")
            .get(pk=cluster.pk)
        )
        programme = cluster.cohort.programme
        existing = ClusterMembership.objects.filter(cluster=cluster, school=school).first()
        if existing:
            return existing
        size = cluster.memberships.count()
        if size >= programme.cluster_size:
            full = (
                f"{cluster.name} already has {size} schools; a cluster has exactly {programme.cluster_size}."
            )
            raise ValidationError({"school": full})
        try:
            _check_joinable(school, cluster, programme)
        except ValidationError as exc:
            raise ValidationError({"school": exc.message_dict["schools"]}) from None
        try:
            with transaction.atomic():
                return ClusterMembership.objects.create(cluster=cluster, school=school, cohort=cluster.cohort)
        except IntegrityError:
            raise ValidationError(
                {"school": f"{school.name} is already in a cluster in this cohort."}
            ) from None


def cluster_remove_school(*, cluster: Cluster, school: School, by) -> None:
    ensure_runs_programme(by, cluster.cohort.programme, "change clusters")
    with transaction.atomic():
        Cluster.objects.select_for_update().filter(pk=cluster.pk).first()
        ClusterMembership.objects.filter(cluster=cluster, school=school).delete()
        NeedsAnalysis.objects.filter(cluster=cluster, school=school).delete()


def _score(value) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"score": "The score is a whole number from 1 to 5."}) from None
    if not 1 <= score <= 5:
        raise ValidationError({"score": "The score is a whole number from 1 to 5."})
    return score


def needs_analysis_record(
    *, cluster: Cluster, school: School, focus_area: str, score: int, notes: str = "", by
) -> NeedsAnalysis:
    """Record (or correct) a school's score and notes for one focus area. Programme staff,
    or a lead of that school."""
    if not (runs_programme(by, cluster.cohort.programme) or acts_for(by, school)):
        raise PermissionDenied("Only programme staff or the school's lead may record its needs analysis.")
    if focus_area not in FocusArea.values:
        raise ValidationError({"focus_area": "Choose one of the four focus areas."})
    score = _score(score)
    if not ClusterMembership.objects.filter(cluster=cluster, school=school).exists():
        raise ValidationError({"school": f"{school.name} is not in {cluster.name}."})
    needs, _ = NeedsAnalysis.objects.update_or_create(
        cluster=cluster, school=school, focus_area=focus_area, defaults={"score": score, "notes": notes or ""}
    )
    return needs


def _hours(value, field: str, *, allow_zero: bool) -> Decimal:
    try:
        hours = Decimal(str(value))
    except (InvalidOperation, TypeError):
        raise ValidationError({field: "Hours must be a number."}) from None
    low_ok = hours >= 0 if allow_zero else hours > 0
    if not hours.is_finite() or not low_ok or hours > MAX_HOURS:
        limit = "0" if allow_zero else "more than 0"
        raise ValidationError({field: f"Hours must be {limit} and at most {MAX_HOURS}."})
    return hours


NOTES_LIMIT = 5000
QN = NeedsQuestionnaire.Status


def may_answer_needs(user, cluster: Cluster, school: School) -> bool:
    """The school's verified lead, or the programme's staff (recording on its behalf)."""
    return acts_for(user, school) or runs_programme(user, cluster.cohort.programme)


def may_see_needs(user, cluster: Cluster, school: School) -> bool:
    """The questionnaire is the school's: its verified lead and programme staff, no other school."""
    return may_answer_needs(user, cluster, school)


def needs_questionnaire(cluster: Cluster, school: School) -> NeedsQuestionnaire | None:
    return NeedsQuestionnaire.objects.filter(cluster=cluster, school=school).first()


def _clean_answers(answers: dict, *, complete: bool) -> dict[str, tuple[int | None, str]]:
    """{focus area: (score or None, notes)}; a score must be 1–5, notes ≤ the limit (never cut)."""
    errors, cleaned = {}, {}
    for area in FocusArea.values:
        given = answers.get(area) or {}
        raw, notes = given.get("score"), (given.get("notes") or "").strip()
        score = None
        if raw not in (None, ""):
            try:
                score = _score(raw)
            except ValidationError:
                errors[f"{area}_score"] = "Choose a score from 1 to 5."
        elif complete:
            errors[f"{area}_score"] = f"Choose a score for {FocusArea(area).label.lower()}."
        if len(notes) > NOTES_LIMIT:
            errors[f"{area}_notes"] = (
                f"Keep this to {NOTES_LIMIT:,} characters: it has {len(notes):,}. Nothing was cut."
            )
        cleaned[area] = (score, notes)
    if errors:
        raise ValidationError(errors)
    return cleaned


def needs_questionnaire_save(
    *, cluster: Cluster, school: School, answers: dict, by, submit: bool = False
) -> NeedsQuestionnaire:
    """Save a school's answers: partial ones as a draft (autosave: nothing typed is lost), or all
    four scored and submitted for staff review. A submitted or reviewed questionnaire is closed
    to changes (staff can return it with `needs_questionnaire_review(..., accept=False)`)."""
    if not may_answer_needs(by, cluster, school):
        raise PermissionDenied(
            "Only the school's verified lead or programme staff may answer its needs analysis."
        )
    if not ClusterMembership.objects.filter(cluster=cluster, school=school).exists():
        raise ValidationError({"school": f"{school.name} is not in {cluster.name}."})
    with transaction.atomic():
        questionnaire, _ = NeedsQuestionnaire.objects.select_for_update().get_or_create(
            cluster=cluster, school=school
        )
        if questionnaire.status != QN.DRAFT:
            raise ValidationError(
                f"This needs analysis is {questionnaire.get_status_display().lower()}: it can no longer be "
                "changed. Ask programme staff to return it if something is wrong."
            )
        cleaned = _clean_answers(answers, complete=submit)
        for area, (score, notes) in cleaned.items():
            NeedsAnalysis.objects.update_or_create(
                cluster=cluster, school=school, focus_area=area, defaults={"score": score, "notes": notes}
            )
        fields = ["saved_at"]
        if submit:
            questionnaire.status = QN.SUBMITTED
            questionnaire.submitted_at = timezone.now()
            questionnaire.submitted_by = by
            fields += ["status", "submitted_at", "submitted_by"]
        questionnaire.save(update_fields=fields)
    return questionnaire


def needs_questionnaire_review(
    *, cluster: Cluster, school: School, by, comment: str = "", accept: bool = True
) -> NeedsQuestionnaire:
    """Programme staff mark a submitted questionnaire reviewed, or return it to the lead as a draft."""
    ensure_runs_programme(by, cluster.cohort.programme, "review a needs analysis")
    comment = (comment or "").strip()
    if len(comment) > NOTES_LIMIT:
        raise ValidationError(
            {"comment": f"Keep this to {NOTES_LIMIT:,} characters: it has {len(comment):,}."}
        )
    with transaction.atomic():
        questionnaire = (
            NeedsQuestionnaire.objects.select_for_update().filter(cluster=cluster, school=school).first()
        )
        if questionnaire is None or questionnaire.status == QN.DRAFT:
            raise ValidationError("The school has not submitted its needs analysis yet.")
        if accept and questionnaire.status == QN.REVIEWED:
            return questionnaire
        if accept:
            questionnaire.status, questionnaire.reviewed_at, questionnaire.reviewed_by = (
                QN.REVIEWED,
                timezone.now(),
                by,
            )
        else:
            if not comment:
                raise ValidationError({"comment": "Say what the school should change."})
            questionnaire.status, questionnaire.submitted_at = QN.DRAFT, None
            questionnaire.reviewed_at = questionnaire.reviewed_by = None
        questionnaire.review_comment = comment
        questionnaire.save()
    return questionnaire


def cpd_plan_item_add(
    *,
    cluster: Cluster,
    focus_area: str,
    title: str,
    planned_hours,
    planned_on,
    school: School | None = None,
    description: str = "",
    by,
) -> CPDPlanItem:
    """A bespoke plan item for one school of the cluster (or all of them): hours > 0 and a date
    inside the cohort's delivery period (also held by a CHECK and a PostgreSQL trigger)."""
    ensure_runs_programme(by, cluster.cohort.programme, "change a cluster's CPD plan")
    cohort = cluster.cohort
    errors = {}
    if focus_area not in FocusArea.values:
        errors["focus_area"] = "Choose one of the four focus areas."
    if not (title or "").strip():
        errors["title"] = "Give the plan item a title."
    elif len(title.strip()) > 200:
        errors["title"] = f"Keep the title to 200 characters: it has {len(title.strip())}."
    if len(description or "") > NOTES_LIMIT:
        errors["description"] = f"Keep this to {NOTES_LIMIT:,} characters: it has {len(description):,}."
    try:
        hours = _hours(planned_hours, "planned_hours", allow_zero=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not planned_on:
        errors["planned_on"] = "Give the date the CPD is planned for."
    elif not cohort.starts_on <= planned_on <= cohort.ends_on:
        errors["planned_on"] = (
            f"The date must lie in {cohort}'s delivery period, "
            f"{cohort.starts_on:%-d %b %Y} to {cohort.ends_on:%-d %b %Y}."
        )
    if school is not None and not ClusterMembership.objects.filter(cluster=cluster, school=school).exists():
        errors["school"] = f"{school.name} is not in {cluster.name}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        cluster_started(cluster)
        return CPDPlanItem.objects.create(
            cluster=cluster,
            school=school,
            focus_area=focus_area,
            title=title.strip(),
            description=description or "",
            planned_hours=hours,
            planned_on=planned_on,
        )


def plan_progress(cluster: Cluster, schools) -> list[dict]:
    """Planned against delivered CPD hours per school and focus area. Planned: the school's own
    items plus the cluster-wide ones. Delivered: the hours of the cluster's teacher CPD activities
    in that focus area the school took part in. Two queries, whatever the number of schools."""
    school_ids = [school.pk for school in schools]
    planned: dict = {}
    for row in (
        CPDPlanItem.objects.filter(cluster=cluster)
        .filter(Q(school__isnull=True) | Q(school_id__in=school_ids))
        .values("school_id", "focus_area")
        .annotate(h=Sum("planned_hours"))
    ):
        targets = school_ids if row["school_id"] is None else [row["school_id"]]
        for school_id in targets:
            key = (school_id, row["focus_area"])
            planned[key] = planned.get(key, Decimal(0)) + row["h"]
    delivered = {
        (row["schools"], row["focus_area"]): row["h"]
        for row in CPDActivity.objects.filter(
            cluster=cluster, kind=CPDActivity.Kind.TEACHER_CPD, schools__in=school_ids
        )
        .exclude(focus_area="")
        .values("schools", "focus_area")
        .annotate(h=Sum("hours"))
    }
    rows = []
    for school in schools:
        for area, label in FocusArea.choices:
            p, d = planned.get((school.pk, area), Decimal(0)), delivered.get((school.pk, area), Decimal(0))
            rows.append(
                {
                    "school": school,
                    "focus_area": label,
                    "planned": p,
                    "delivered": d,
                    "percent": round(100 * d / p) if p else None,
                }
            )
    return rows


# --- CPD activities -------------------------------------------------------------------


def member_schools(*, partnership: Partnership | None = None, cluster: Cluster | None = None):
    """Schools that may take part in the parent's activities: confirmed partners, or the cluster's schools."""
    if partnership is not None:
        return School.objects.filter(
            memberships__partnership=partnership, memberships__status=Membership.Status.CONFIRMED
        )
    return School.objects.filter(cluster_memberships__cluster=cluster)


# Reach bounds (documented in docs/architecture.md): students reached cannot exceed the pupils on
# the register of the schools taking part; teachers reached cannot exceed one per 10 pupils (England
# has about one per 17-20, so this is generous), at least 10 per school. A school whose pupil number
# the register does not give counts as UNKNOWN_PUPILS.
PUPILS_PER_TEACHER_BOUND = 10
MIN_TEACHERS_PER_SCHOOL = 10
UNKNOWN_PUPILS = 2000


def reach_bounds(schools) -> tuple[int, int]:
    """(most students, most teachers) the schools taking part can have."""
    pupils = teachers = 0
    for school in schools:
        count = school.pupils if school.pupils is not None else UNKNOWN_PUPILS
        pupils += count
        teachers += max(MIN_TEACHERS_PER_SCHOOL, -(-count // PUPILS_PER_TEACHER_BOUND))
    return pupils, teachers


def _clean_activity(values: dict, schools, *, partnership, cluster) -> dict:
    errors = {}
    if values.get("kind") not in CPDActivity.Kind.values:
        errors["kind"] = "Choose the kind of activity."
    if not (values.get("title") or "").strip():
        errors["title"] = "Give the activity a title."
    if not values.get("held_on"):
        errors["held_on"] = "Give the date the activity was held."
    if values.get("focus_area") and values["focus_area"] not in FocusArea.values:
        errors["focus_area"] = "Choose one of the four focus areas, or none."
    for name in ("teachers_reached", "students_reached"):
        if int(values.get(name) or 0) < 0:
            errors[name] = "This cannot be negative."
    try:
        values["hours"] = _hours(values.get("hours"), "hours", allow_zero=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cohort = (partnership or cluster).cohort
    held_on = values.get("held_on")
    if held_on and not cohort.starts_on <= held_on <= cohort.ends_on:
        errors["held_on"] = (
            f"The date must lie in {cohort}'s delivery period, "
            f"{cohort.starts_on:%-d %b %Y} to {cohort.ends_on:%-d %b %Y}."
        )
    allowed = set(member_schools(partnership=partnership, cluster=cluster).values_list("pk", flat=True))
    outsiders = [school.name for school in schools if school.pk not in allowed]
    if not schools:
        errors["schools"] = "Tick at least one school taking part."
    elif outsiders:
        errors["schools"] = "Only member schools can take part; not: " + ", ".join(sorted(outsiders)) + "."
    else:
        pupils, teachers = reach_bounds(schools)
        if int(values.get("students_reached") or 0) > pupils:
            errors["students_reached"] = (
                f"At most {pupils:,}: the pupils on the register of the schools taking part."
            )
        if int(values.get("teachers_reached") or 0) > teachers:
            errors["teachers_reached"] = (
                f"At most {teachers:,}: one teacher per {PUPILS_PER_TEACHER_BOUND} pupils "
                f"(at least {MIN_TEACHERS_PER_SCHOOL} per school) of the schools taking part."
            )
    if errors:
        raise ValidationError(errors)
    values["title"] = values["title"].strip()
    return values


def _lock_parent(partnership, cluster):
    if (partnership is None) == (cluster is None):
        raise ValidationError("An activity belongs to exactly one partnership or one cluster.")
    if partnership is not None:
        partnership = Partnership.objects.select_for_update().get(pk=partnership.pk)
        if partnership.status == Partnership.Status.WITHDRAWN:
            raise ValidationError("This partnership has withdrawn; it cannot record activities.")
        return partnership, None
    return None, Cluster.objects.select_for_update().get(pk=cluster.pk)


def activity_create(
    *, partnership: Partnership | None = None, cluster: Cluster | None = None, schools=(), by, **values
) -> CPDActivity:
    if (partnership is None) == (cluster is None):
        raise ValidationError("An activity belongs to exactly one partnership or one cluster.")
    if not may_manage_activities(by, partnership=partnership, cluster=cluster):
        raise PermissionDenied("You may not record activities here.")
    unknown = set(values) - set(ACTIVITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown activity fields: {sorted(unknown)}")
    schools = list(schools)
    with transaction.atomic():
        partnership, cluster = _lock_parent(partnership, cluster)
        values = _clean_activity(dict(values), schools, partnership=partnership, cluster=cluster)
        activity = CPDActivity.objects.create(
            partnership=partnership, cluster=cluster, created_by=by, **values
        )
        activity.schools.set(schools)
        if cluster is not None:
            cluster_started(cluster)
    return activity


def activity_update(*, activity: CPDActivity, by, schools=None, **values) -> CPDActivity:
    if not may_manage_activities(by, partnership=activity.partnership, cluster=activity.cluster):
        raise PermissionDenied("You may not change this activity.")
    unknown = set(values) - set(ACTIVITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown activity fields: {sorted(unknown)}")
    schools = None if schools is None else list(schools)
    with transaction.atomic():
        activity = CPDActivity.objects.select_for_update().get(pk=activity.pk)
        partnership, cluster = _lock_parent(activity.partnership, activity.cluster)
        merged = {name: getattr(activity, name) for name in ACTIVITY_FIELDS} | values
        taking_part = list(activity.schools.all()) if schools is None else schools
        merged = _clean_activity(merged, taking_part, partnership=partnership, cluster=cluster)
        for name in ACTIVITY_FIELDS:
            setattr(activity, name, merged[name])
        activity.save()
        if schools is not None:
            activity.schools.set(schools)
    return activity


def activity_delete(*, activity: CPDActivity, by) -> None:
    """Delete an activity that has no feedback yet (feedback is evaluation evidence)."""
    if not may_manage_activities(by, partnership=activity.partnership, cluster=activity.cluster):
        raise PermissionDenied("You may not delete this activity.")
    with transaction.atomic():
        activity = CPDActivity.objects.select_for_update().filter(pk=activity.pk).first()
        if activity is None:
            return
        if activity.feedback.exists():
            raise ValidationError("This activity has teachers' feedback; it cannot be deleted.")
        activity.delete()


def may_give_feedback(user, activity: CPDActivity) -> bool:
    """Leads of a member school (who pass on their teachers' responses), and the programme's staff."""
    if activity.partnership_id:
        programme = activity.partnership.cohort.programme
        members = member_schools(partnership=activity.partnership)
    else:
        programme = activity.cluster.cohort.programme
        members = member_schools(cluster=activity.cluster)
    return (
        runs_programme(user, programme)
        or members.filter(lead_links__user=user, lead_links__verified_at__isnull=False).exists()
    )


def feedback_submit(
    *,
    activity: CPDActivity,
    by,
    engaging_ideas,
    hands_on,
    sharing_across_schools,
    overall_usefulness,
    expects_more_cpd: bool = False,
    comments: str = "",
) -> Feedback:
    if not may_give_feedback(by, activity):
        raise PermissionDenied("You may not give feedback on this activity.")
    ratings = clean_ratings(
        {
            "engaging_ideas": engaging_ideas,
            "hands_on": hands_on,
            "sharing_across_schools": sharing_across_schools,
            "overall_usefulness": overall_usefulness,
        }
    )
    return Feedback.objects.create(
        activity=activity, expects_more_cpd=bool(expects_more_cpd), comments=comments or "", **ratings
    )


def clean_ratings(ratings: dict) -> dict:
    """Each rating a whole number from 1 to 5, or a ValidationError naming every one that is not."""
    ratings = dict(ratings)
    errors = {}
    for name, value in ratings.items():
        try:
            ratings[name] = int(value)
        except (TypeError, ValueError):
            ratings[name] = None
        if ratings[name] is None or not 1 <= ratings[name] <= 5:
            errors[name] = "Give a rating from 1 (not useful) to 5 (very useful)."
    if errors:
        raise ValidationError(errors)
    return ratings


# --- Themes of teachers' comments (the process evaluation's barriers and facilitators) ---------


def feedback_programme(feedback: Feedback) -> Programme:
    activity = feedback.activity
    return (activity.partnership or activity.cluster).cohort.programme


def comment_theme_assign(*, feedback: Feedback, kind: str, name: str, by) -> CommentTheme:
    """Give a comment a theme (a barrier or a facilitator), made the first time its name is used in
    the programme. Programme staff only; a comment with no text has nothing to theme."""
    programme = feedback_programme(feedback)
    ensure_runs_programme(by, programme, "theme teachers' comments")
    if kind not in CommentTheme.Kind.values:
        raise ValidationError({"kind": "Choose barrier or facilitator."})
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Name the theme, for example “Supply cover”."})
    if len(name) > 80:
        raise ValidationError({"name": f"Keep the theme to 80 characters: it has {len(name)}."})
    if not feedback.comments.strip():
        raise ValidationError("This answer has no comment to theme.")
    with transaction.atomic():
        existing = CommentTheme.objects.filter(programme=programme, kind=kind, name__iexact=name).first()
        theme = existing or CommentTheme.objects.get_or_create(programme=programme, kind=kind, name=name)[0]
        feedback.themes.add(theme)
    return theme


def comment_theme_remove(*, feedback: Feedback, theme: CommentTheme, by) -> None:
    ensure_runs_programme(by, feedback_programme(feedback), "theme teachers' comments")
    feedback.themes.remove(theme)
