"""Review (issue 17): rubrics, reviewers and their assignments, reviews and declared conflicts.
Same shape as grants/services.py: keyword-only, check who may, lock, validate, save, audit.

- A rubric is versioned: `rubric_publish` writes a new version and retires the old one; a review
  records the version it used.
- A review scores every criterion of the programme's current rubric at once, with a comment on
  each, an overall recommendation and a private note. Revising it writes a new review and keeps
  the old one (superseded): earlier scores and comments are never blanked.
- Assignment never gives an application to a conflicted reviewer (grants.conflicts); by hand,
  programme staff may override a conflict the register found, with a reason (audited);
  auto-assignment never does, and balances load across the programme's reviewers.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from grants import conflicts, notifications
from grants.models import (
    Application,
    AuditEvent,
    ConflictDeclaration,
    ConflictOverride,
    CriterionScore,
    ProgrammeReviewer,
    Review,
    ReviewerAssignment,
    ReviewSettings,
    Rubric,
    RubricCriterion,
)
from grants.review_models import SCALE_MAX_LIMIT, SCALE_MIN
from grants.selectors import has_conflict_of_interest, may_review
from partnerships.models import Cohort, Partnership, Programme

S = Application.Status
UNDER_REVIEW = (S.SUBMITTED, S.CHANGES_REQUESTED)
TEXT_LIMIT = 5000
MAX_CRITERIA = 20


def _person(user) -> str:
    return user.get_full_name() or user.username


def _text(value, field_name: str, limit: int = TEXT_LIMIT) -> str:
    value = (value or "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise ValidationError({field_name: f"Keep this to {limit:,} characters (it has {len(value):,})."})
    return value


def _ensure_manager(by, application) -> None:
    """Programme staff (or an admin) without a conflict in this application."""
    if not may_review(by, application):
        raise PermissionDenied("Only staff of this programme, or an admin, can do this.")
    if has_conflict_of_interest(by, application) or conflicts.is_conflicted(by, application):
        raise PermissionDenied(
            "You have a conflict of interest with this application, so you may not manage its review."
        )


def _ensure_programme_staff(by, programme) -> None:
    from portal.roles import Role, role_of

    role = role_of(by)
    if role == Role.ADMIN:
        return
    if role != Role.STAFF or not programme.staff.filter(pk=by.pk).exists():
        raise PermissionDenied("Only staff of this programme, or an admin, can do this.")


def _lock(application_id: int) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("partnership__lead_school", "cohort__programme")
        .get(pk=application_id)
    )


def _audit(application, by, action: str, comment: str) -> None:
    AuditEvent.record(
        application,
        by=by,
        action=action,
        from_status=application.status,
        to_status=application.status,
        comment=comment,
    )


# --- Settings and rubrics -------------------------------------------------------------------


def settings_for(programme) -> ReviewSettings:
    """The programme's review settings, or the defaults (unsaved) when it has none."""
    found = ReviewSettings.objects.filter(programme_id=programme.pk).first()
    return found or ReviewSettings(programme_id=programme.pk)


def settings_save(
    *,
    programme_id: int,
    by,
    blind_review: bool,
    conflict_same_local_authority: bool,
    reviewers_per_application: int,
    disagreement_threshold,
) -> ReviewSettings:
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme_id)
        _ensure_programme_staff(by, programme)
        if not 1 <= int(reviewers_per_application) <= 10:
            raise ValidationError({"reviewers_per_application": "Choose from 1 to 10 reviewers."})
        threshold = Decimal(str(disagreement_threshold))
        if not Decimal(0) <= threshold <= Decimal(SCALE_MAX_LIMIT):
            raise ValidationError({"disagreement_threshold": f"Choose from 0 to {SCALE_MAX_LIMIT}."})
        obj, _ = ReviewSettings.objects.update_or_create(
            programme=programme,
            defaults={
                "blind_review": bool(blind_review),
                "conflict_same_local_authority": bool(conflict_same_local_authority),
                "reviewers_per_application": int(reviewers_per_application),
                "disagreement_threshold": threshold,
            },
        )
    return obj


def rubric_current(programme) -> Rubric | None:
    return (
        Rubric.objects.filter(programme_id=programme.pk, is_current=True).prefetch_related("criteria").first()
    )


@dataclass
class CriterionSpec:
    name: str
    weight: int
    descriptors: list[str]
    guidance: str = ""


def rubric_publish(*, programme_id: int, by, scale_max: int, criteria: list[CriterionSpec]) -> Rubric:
    """A new version of the programme's rubric; the old one stays, with the reviews made on it."""
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme_id)
        _ensure_programme_staff(by, programme)
        try:
            scale_max = int(scale_max)
        except (TypeError, ValueError):
            raise ValidationError({"scale_max": "Choose the highest score."}) from None
        if not SCALE_MIN <= scale_max <= SCALE_MAX_LIMIT:
            raise ValidationError(
                {"scale_max": f"Scores run from 1 to between {SCALE_MIN} and {SCALE_MAX_LIMIT}."}
            )
        if not criteria:
            raise ValidationError("Give the rubric at least one criterion.")
        if len(criteria) > MAX_CRITERIA:
            raise ValidationError(f"Use at most {MAX_CRITERIA} criteria.")
        errors, names = [], set()
        for n, c in enumerate(criteria, start=1):
            name = (c.name or "").strip()
            if not name or len(name) > 120:
                errors.append(f"Criterion {n}: give it a name of up to 120 characters.")
            elif name.lower() in names:
                errors.append(f"Criterion {n}: “{name}” is already a criterion.")
            names.add(name.lower())
            if not isinstance(c.weight, int) or not 1 <= c.weight <= 100:
                errors.append(f"Criterion {n}: give a weight from 1 to 100.")
            descriptors = [d.strip() for d in c.descriptors]
            if len(descriptors) != scale_max or not all(descriptors):
                errors.append(
                    f"Criterion {n}: describe each score from 1 to {scale_max} ({scale_max} lines, "
                    f"lowest first); it has {len([d for d in descriptors if d])}."
                )
            if len(c.guidance or "") > 2000:
                errors.append(f"Criterion {n}: keep the guidance to 2,000 characters.")
        if errors:
            raise ValidationError(errors)
        previous = Rubric.objects.select_for_update().filter(programme=programme).order_by("-version").first()
        Rubric.objects.filter(programme=programme, is_current=True).update(is_current=False)
        rubric = Rubric.objects.create(
            programme=programme,
            version=(previous.version + 1) if previous else 1,
            scale_max=scale_max,
            created_by=by,
        )
        RubricCriterion.objects.bulk_create(
            RubricCriterion(
                rubric=rubric,
                position=n,
                name=c.name.strip(),
                guidance=(c.guidance or "").strip(),
                weight=c.weight,
                descriptors=[d.strip() for d in c.descriptors],
            )
            for n, c in enumerate(criteria, start=1)
        )
    return rubric


# --- Reviewers and assignment ---------------------------------------------------------------


def reviewer_pool(programme) -> QuerySet[User]:
    """Who may review the programme's applications: its staff and its external reviewers."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(programmes__id=programme.pk) | Q(reviewer_of__programme_id=programme.pk))
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def reviewer_add(*, programme_id: int, user_id: int, by) -> ProgrammeReviewer:
    from portal.roles import REVIEWERS_GROUP

    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme_id)
        _ensure_programme_staff(by, programme)
        user = User.objects.filter(pk=user_id, is_active=True, groups__name=REVIEWERS_GROUP).first()
        if user is None:
            raise ValidationError({"user": "Choose a person with a reviewer's account."})
        obj, _ = ProgrammeReviewer.objects.get_or_create(programme=programme, user=user)
    return obj


def loads(programme, user_ids=None) -> dict[int, int]:
    """Active assignments per reviewer over the programme's applications under review: one query."""
    qs = ReviewerAssignment.objects.filter(
        active=True, application__cohort__programme_id=programme.pk, application__status__in=UNDER_REVIEW
    )
    if user_ids is not None:
        qs = qs.filter(reviewer_id__in=list(user_ids))
    return dict(qs.values_list("reviewer_id").annotate(n=Count("pk")).values_list("reviewer_id", "n"))


def assignment_add(
    *, application_id: int, reviewer_id: int, by, override_reason: str = ""
) -> ReviewerAssignment:
    """Assign one reviewer by hand. A conflicted reviewer is refused with the reason; a conflict
    the register found may be overridden with a reason (audited), a declared one never."""
    with transaction.atomic():
        application = _lock(application_id)
        _ensure_manager(by, application)
        if application.status not in UNDER_REVIEW:
            raise ValidationError(
                f"Reviewers are assigned while an application is under review; this one is "
                f"{application.get_status_display().lower()}."
            )
        programme = application.cohort.programme
        reviewer = reviewer_pool(programme).filter(pk=reviewer_id).first()
        if reviewer is None:
            raise ValidationError({"reviewer": "Choose one of this programme's reviewers."})
        existing = ReviewerAssignment.objects.filter(
            application=application, reviewer=reviewer, active=True
        ).first()
        if existing is not None:
            return existing
        found = conflicts.conflicts(reviewer, application)
        if found:
            override_reason = _text(override_reason, "override_reason", 2000)
            declared = [c for c in found if not c.overridable]
            if declared or not override_reason:
                reasons = " ".join(c.for_staff() for c in found)
                hint = (
                    "" if declared else " To assign them anyway, give a reason for overriding the conflict."
                )
                raise ValidationError(
                    {"reviewer": f"{_person(reviewer)} cannot review this application: {reasons}{hint}"}
                )
            ConflictOverride.objects.create(
                application=application, reviewer=reviewer, reason=override_reason, by=by
            )
            _audit(
                application,
                by,
                "conflict_overridden",
                f"{_person(reviewer)}: {' '.join(c.for_staff() for c in found)} Reason: {override_reason}",
            )
        assignment = ReviewerAssignment.objects.create(
            application=application, reviewer=reviewer, assigned_by=by, how=ReviewerAssignment.How.MANUAL
        )
        _audit(application, by, "reviewer_assigned", _person(reviewer))
        notifications.send_reviewer_assigned(assignment, blind=settings_for(programme).blind_review)
    return assignment


def assignment_end(*, assignment_id: int, by) -> ReviewerAssignment:
    with transaction.atomic():
        assignment = (
            ReviewerAssignment.objects.select_for_update().select_related("reviewer").get(pk=assignment_id)
        )
        application = _lock(assignment.application_id)
        _ensure_manager(by, application)
        if not assignment.active:
            return assignment
        assignment.active = False
        assignment.ended_at = timezone.now()
        assignment.save(update_fields=["active", "ended_at"])
        _audit(application, by, "reviewer_unassigned", _person(assignment.reviewer))
    return assignment


@dataclass
class AutoAssignResult:
    assigned: int = 0
    short: list[tuple[Application, int]] = field(default_factory=list)  # (application, reviewers missing)


def assign_automatically(*, cohort_id: int, by, per_application: int | None = None) -> AutoAssignResult:
    """Give every submitted application of the cohort its set number of reviewers: the least
    loaded reviewers first (ties by name), never one with any conflict (register or declared;
    overrides are not used), never the same reviewer twice. A fixed number of queries for the
    choice, one INSERT per assignment."""
    with transaction.atomic():
        cohort = Cohort.objects.select_for_update().select_related("programme").get(pk=cohort_id)
        programme = cohort.programme
        _ensure_programme_staff(by, programme)
        review_settings = settings_for(programme)
        wanted = per_application or review_settings.reviewers_per_application
        blind = review_settings.blind_review
        applications = list(
            Application.objects.select_for_update(of=("self",))
            .filter(cohort=cohort, status=S.SUBMITTED)
            .select_related("cohort__programme", "partnership")
            .order_by("submitted_at", "pk")
        )
        pool = list(reviewer_pool(programme))
        pool_ids = [u.pk for u in pool]
        load = dict.fromkeys(pool_ids, 0) | loads(programme, pool_ids)
        conflicted = conflicts.conflicts_for_many(pool_ids, applications, honour_overrides=False)
        current = {}
        for app_id, uid in ReviewerAssignment.objects.filter(
            application__in=applications, active=True
        ).values_list("application_id", "reviewer_id"):
            current.setdefault(app_id, set()).add(uid)
        order = {u.pk: n for n, u in enumerate(pool)}
        result = AutoAssignResult()
        for application in applications:
            have = current.get(application.pk, set())
            need = wanted - len(have)
            if need <= 0:
                continue
            candidates = sorted(
                (uid for uid in pool_ids if uid not in have and (uid, application.pk) not in conflicted),
                key=lambda uid: (load[uid], order[uid]),
            )
            chosen = candidates[:need]
            for uid in chosen:
                reviewer = next(u for u in pool if u.pk == uid)
                assignment = ReviewerAssignment.objects.create(
                    application=application,
                    reviewer=reviewer,
                    assigned_by=by,
                    how=ReviewerAssignment.How.AUTO,
                )
                load[uid] += 1
                _audit(application, by, "reviewer_assigned", f"{_person(reviewer)} (automatically)")
                notifications.send_reviewer_assigned(assignment, blind=blind)
                result.assigned += 1
            if len(chosen) < need:
                result.short.append((application, need - len(chosen)))
    return result


# --- Reviews ----------------------------------------------------------------------------------


def weighted_score(pairs) -> Decimal:
    """Σ weight × score / Σ weight, to three places (pairs of (weight, score))."""
    pairs = list(pairs)
    total_weight = sum(w for w, _ in pairs)
    value = Decimal(sum(w * s for w, s in pairs)) / Decimal(total_weight)
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def active_assignment(user, application) -> ReviewerAssignment | None:
    return ReviewerAssignment.objects.filter(application=application, reviewer=user, active=True).first()


def review_submit(
    *,
    application_id: int,
    by,
    scores: dict[int, tuple[int, str]],
    recommendation: str,
    comment: str = "",
    private_note: str = "",
) -> Review:
    """Score every criterion of the current rubric, with the recommendation. A revision writes a
    new review and keeps the earlier one as history."""
    with transaction.atomic():
        application = _lock(application_id)
        if active_assignment(by, application) is None:
            raise PermissionDenied("Only a reviewer assigned to this application can review it.")
        if conflicts.is_conflicted(by, application) or has_conflict_of_interest(by, application):
            raise PermissionDenied(
                "You have a conflict of interest with this application, so you may not review it."
            )
        if application.status not in UNDER_REVIEW:
            raise ValidationError(
                f"Reviews are recorded while an application is under review; this one is "
                f"{application.get_status_display().lower()}."
            )
        rubric = rubric_current(application.cohort.programme)
        if rubric is None:
            raise ValidationError("This programme has no rubric yet: programme staff must set one first.")
        if recommendation not in Review.Recommendation.values:
            raise ValidationError({"recommendation": "Choose fund, fund with changes or do not fund."})
        criteria = list(rubric.criteria.all())
        errors, rows = {}, []
        for c in criteria:
            raw, note = scores.get(c.pk, (None, ""))
            try:
                value = int(raw)
            except (TypeError, ValueError):
                errors[f"score_{c.pk}"] = f"Give {c.name} a score from 1 to {rubric.scale_max}."
                continue
            if not 1 <= value <= rubric.scale_max:
                errors[f"score_{c.pk}"] = f"Give {c.name} a score from 1 to {rubric.scale_max}."
                continue
            try:
                note = _text(note, f"comment_{c.pk}")
            except ValidationError as exc:
                errors.update(exc.message_dict)
                continue
            rows.append((c, value, note))
        unknown = set(scores) - {c.pk for c in criteria}
        if unknown:
            errors["__all__"] = (
                "The rubric has changed since this form was opened: reload the page and score again."
            )
        if errors:
            raise ValidationError(errors)
        comment = _text(comment, "comment")
        private_note = _text(private_note, "private_note")
        total = weighted_score((c.weight, v) for c, v, _ in rows)
        previous = (
            Review.objects.select_for_update()
            .filter(application=application, reviewer=by, is_current=True)
            .prefetch_related("scores")
            .first()
        )
        if previous is not None and previous.rubric_id == rubric.pk:
            same = (
                previous.recommendation == recommendation
                and previous.comment == comment
                and previous.private_note == private_note
                and {(s.criterion_id, s.score, s.comment) for s in previous.scores.all()}
                == {(c.pk, v, n) for c, v, n in rows}
            )
            if same:
                return previous  # a second click changes nothing
        if previous is not None:
            previous.is_current = False
            previous.save(update_fields=["is_current"])
        review = Review.objects.create(
            application=application,
            reviewer=by,
            rubric=rubric,
            recommendation=recommendation,
            comment=comment,
            private_note=private_note,
            weighted_score=total,
            supersedes=previous,
        )
        CriterionScore.objects.bulk_create(
            CriterionScore(review=review, criterion=c, score=v, scale_max=rubric.scale_max, comment=n)
            for c, v, n in rows
        )
        _audit(
            application,
            by,
            "review_revised" if previous else "reviewed",
            f"{Review.Recommendation(recommendation).label}; weighted score {total:.2f} of "
            f"{rubric.scale_max} (rubric version {rubric.version})",
        )
    return review


def conflict_declare(*, application_id: int, by, reason: str) -> ConflictDeclaration:
    """A reviewer declares a conflict: their assignment ends and they are never assigned again."""
    with transaction.atomic():
        application = _lock(application_id)
        in_pool = reviewer_pool(application.cohort.programme).filter(pk=by.pk).exists()
        if not in_pool:
            raise PermissionDenied("Only this programme's reviewers can declare a conflict here.")
        reason = _text(reason, "reason", 2000)
        if not reason:
            raise ValidationError({"reason": "Say what the conflict is (programme staff will read it)."})
        declaration, created = ConflictDeclaration.objects.get_or_create(
            application=application, reviewer=by, defaults={"reason": reason}
        )
        if not created:
            return declaration
        ReviewerAssignment.objects.filter(application=application, reviewer=by, active=True).update(
            active=False, ended_at=timezone.now()
        )
        _audit(application, by, "conflict_declared", reason)
    return declaration


# --- The panel's decisions ------------------------------------------------------------------


def panel_decide(*, cohort_id: int, by, decisions, reason: str = "") -> int:
    """Record many panel decisions at once: [(application_id, "approve" | "reject", amount)].
    Each goes through grants.services (its checks, its audit, its messages); all or none: the
    first refusal undoes the others and names the application. The cohort's budget is held by
    application_approve's lock on the cohort row, so two panels at once never exceed it."""
    from grants import services

    decisions = sorted(decisions, key=lambda d: d[0])
    ids = [d[0] for d in decisions]
    with transaction.atomic():
        # Every partnership, then every application, in id order, before any cohort lock: the order
        # single decisions take them in (partnership → application → cohort), so a panel and a
        # single approval, or two panels, queue instead of deadlocking.
        list(Partnership.objects.select_for_update().filter(application__pk__in=ids).order_by("pk"))
        list(Application.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
        done = 0
        for application_id, decision, amount in decisions:
            application = Application.objects.select_related("cohort").get(pk=application_id)
            if application.cohort_id != cohort_id:
                raise ValidationError("An application of another cohort was posted.")
            try:
                if decision == "approve":
                    services.application_approve(
                        application_id=application_id, by=by, amount=amount, comment="Panel decision."
                    )
                elif decision == "reject":
                    services.application_reject(application_id=application_id, by=by, reason=reason)
                else:
                    raise ValidationError("Choose fund or reject.")
            except ValidationError as exc:
                raise ValidationError(f"{application.reference}: {' '.join(exc.messages)}") from exc
            except PermissionDenied as exc:
                raise ValidationError(f"{application.reference}: {exc}") from exc
            done += 1
    return done
