"""A programme's finance set-up (issue 19), kept by its staff and the finance team: the cost
codes of the programme and its cohorts (in every finance export), the payment schedule template
applied to each new award (grants.payments), and the versions of its grant agreement terms.
Every change is recorded, with who made it and what it was before, in ProgrammeFinanceEvent
(append-only; shown on the finance set-up page).

Terms are versioned: publishing makes a new version, offered to awards from then on; a published
version is never edited (agreements keep their own copy of the text they offered, and the
PostgreSQL trigger `agreementterms_never_edited`, grants migration 0014, refuses changes).
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from grants.models import AgreementTerms, Payment, ProgrammeFinanceEvent, ScheduleStep
from grants.payments import template_problems
from partnerships.models import COST_CODE_PATTERN, Cohort, Programme
from portal.money import format_gbp
from portal.roles import Role, role_of

T = Payment.Trigger
K = ScheduleStep.Kind
E = ProgrammeFinanceEvent.Action
TERMS_LIMIT = 20000
MAX_STEPS = 12


def programmes_for(user) -> QuerySet[Programme]:
    """Finance and admins: every programme. Staff: their own. Nobody else."""
    role = role_of(user)
    if role in (Role.FINANCE, Role.ADMIN):
        return Programme.objects.all()
    if role == Role.STAFF:
        return Programme.objects.filter(staff=user)
    return Programme.objects.none()


def _ensure_may_manage(by, programme_id) -> Programme:
    try:
        return programmes_for(by).select_for_update().get(pk=programme_id)
    except Programme.DoesNotExist:
        raise PermissionDenied(
            "Only the programme's staff and the finance team keep its finance set-up."
        ) from None


def _cost_code(value, field) -> str:
    code = (value or "").strip()
    if len(code) > 40:
        raise ValidationError({field: "Keep the cost code to 40 characters."})
    if not re.fullmatch(COST_CODE_PATTERN, code):
        raise ValidationError(
            {
                field: "Use letters, digits and . / _ - only, starting with a letter or digit "
                "(for example GR-2026/01)."
            }
        )
    return code


def _record(programme, by, action, detail) -> ProgrammeFinanceEvent:
    return ProgrammeFinanceEvent.objects.create(programme=programme, actor=by, action=action, detail=detail)


def cost_codes_save(*, programme_id: int, by, programme_code: str, cohort_codes: dict[int, str]) -> Programme:
    """The programme's cost code and its cohorts' own (empty: the programme's). A save that
    changes any code is recorded, each change from → to."""
    with transaction.atomic():
        programme = _ensure_may_manage(by, programme_id)
        code = _cost_code(programme_code, "cost_code")
        cohorts = {c.pk: c for c in Cohort.objects.select_for_update().filter(programme=programme)}
        if set(cohort_codes) - set(cohorts):
            raise ValidationError("Choose cohorts of this programme only.")
        cleaned = {pk: _cost_code(value, f"cohort_{pk}") for pk, value in cohort_codes.items()}
        changes = []
        if programme.cost_code != code:
            changes.append(f"{programme.name}: {programme.cost_code or 'none'} → {code or 'none'}")
            programme.cost_code = code
            programme.save(update_fields=["cost_code"])
        for pk, value in cleaned.items():
            cohort = cohorts[pk]
            if cohort.cost_code != value:
                changes.append(
                    f"{cohort.name}: {cohort.cost_code or 'the programme’s'} → {value or 'the programme’s'}"
                )
                cohort.cost_code = value
                cohort.save(update_fields=["cost_code"])
        if changes:
            _record(programme, by, E.COST_CODES, "; ".join(changes))
    return programme


def _step(number, row) -> ScheduleStep:
    kind, trigger = row.get("kind"), row.get("trigger")
    errors = []
    if kind not in K.values:
        errors.append(f"Instalment {number}: choose a percentage, a fixed amount or the remaining balance.")
    if trigger not in T.values or trigger == T.ON_APPROVAL:
        errors.append(f"Instalment {number}: choose when it is paid.")
    value = str(row.get("value") or "").strip().replace("£", "").replace(",", "").rstrip("%")
    percent = amount = None
    if kind in (K.PERCENT, K.FIXED):
        try:
            number_value = Decimal(value)
        except InvalidOperation:
            number_value = None
        if number_value is None or not number_value.is_finite() or number_value <= 0:
            errors.append(
                f"Instalment {number}: enter a {'percentage' if kind == K.PERCENT else 'amount'} above 0."
            )
        elif kind == K.PERCENT:
            if number_value > 100 or number_value != number_value.quantize(Decimal("0.01")):
                errors.append(f"Instalment {number}: a percentage is at most 100, with up to 2 decimals.")
            percent = number_value
        else:
            if number_value != number_value.quantize(Decimal("0.01")) or number_value >= Decimal("1e10"):
                errors.append(f"Instalment {number}: enter the amount in pounds and pence.")
            amount = number_value
    elif kind == K.REMAINDER and value:
        errors.append(f"Instalment {number}: the remaining balance has no amount of its own; leave it empty.")
    due_on = row.get("due_on") or None
    if isinstance(due_on, str):
        try:
            due_on = date.fromisoformat(due_on)
        except ValueError:
            errors.append(f"Instalment {number}: enter the date as YYYY-MM-DD.")
            due_on = None
    if trigger == T.ON_DATE and due_on is None:
        errors.append(f"Instalment {number}: give the date it is paid on.")
    if trigger != T.ON_DATE:
        due_on = None
    if errors:
        raise ValidationError(errors)
    return ScheduleStep(kind=kind, percent=percent, amount=amount, trigger=trigger, due_on=due_on)


def schedule_template_save(*, programme_id: int, by, steps: list[dict]) -> list[ScheduleStep]:
    """The programme's payment schedule template, replaced whole: applied to awards made from now
    on (awards already made keep their schedule; finance changes one grant's with a reason)."""
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": f"A schedule has at most {MAX_STEPS} instalments."})
    parsed, errors = [], []
    for number, row in enumerate(steps, start=1):
        try:
            parsed.append(_step(number, row))
        except ValidationError as exc:
            errors += exc.messages
    if errors:
        raise ValidationError({"steps": errors})
    problems = template_problems(parsed)
    if problems:
        raise ValidationError({"steps": problems})
    with transaction.atomic():
        programme = _ensure_may_manage(by, programme_id)
        before = [
            _step_words(s) for s in ScheduleStep.objects.filter(programme=programme).order_by("sequence")
        ]
        ScheduleStep.objects.filter(programme=programme).delete()
        for sequence, step in enumerate(parsed, start=1):
            step.programme, step.sequence = programme, sequence
            step.save()
        after = [_step_words(s) for s in parsed]
        if after != before:
            _record(
                programme,
                by,
                E.SCHEDULE_TEMPLATE,
                f"{'; '.join(before) or 'no template'} → {'; '.join(after) or 'no template'}",
            )
    return parsed


def _step_words(step) -> str:
    """One instalment of a template in words ("40% of the award, when the agreement is accepted")."""
    if step.kind == K.PERCENT:
        what = f"{step.percent.normalize():f}% of the award"
    elif step.kind == K.FIXED:
        what = format_gbp(step.amount)
    else:
        what = "the remaining balance"
    when = T(step.trigger).label.lower()
    return f"{what}, {when}" + (f" ({step.due_on:%d %B %Y})" if step.due_on else "")


def terms_publish(*, programme_id: int, by, conditions: str) -> AgreementTerms:
    """A new version of the programme's agreement terms, offered to awards from now on. The
    versions before stay as they were (agreements already offered keep the text they offered)."""
    conditions = (conditions or "").replace("\r\n", "\n").strip()
    if not conditions:
        raise ValidationError({"conditions": "Write the terms the lead school accepts."})
    if len(conditions) > TERMS_LIMIT:
        raise ValidationError({"conditions": f"Keep the terms to {TERMS_LIMIT:,} characters."})
    with transaction.atomic():
        programme = _ensure_may_manage(by, programme_id)
        newest = AgreementTerms.objects.filter(programme=programme).order_by("-published_at").first()
        if newest is not None and newest.conditions == conditions:
            raise ValidationError({"conditions": f"These are the terms of version {newest.version} already."})
        number = AgreementTerms.objects.filter(programme=programme).count() + 1
        version = f"{programme.slug[:28]}-v{number}"
        while AgreementTerms.objects.filter(programme=programme, version=version).exists():
            number += 1
            version = f"{programme.slug[:28]}-v{number}"
        terms = AgreementTerms.objects.create(
            programme=programme, version=version, conditions=conditions, published_at=timezone.now()
        )
        _record(
            programme,
            by,
            E.TERMS_PUBLISHED,
            f"Version {version}" + (f", replacing {newest.version}" if newest is not None else ""),
        )
        return terms
