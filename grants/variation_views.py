"""Budget variations after award (issue 19): the grant's budget as varied, its history of
changes, the lead's request form and staff's decision forms. Thin: the application through the
user's scoped read (404 otherwise), writes through grants.variations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from grants import variations
from grants.finance_forms import DecideVariationForm, VariationForm
from grants.finance_views import _add_errors
from grants.models import Application, BudgetVariation
from grants.selectors import AWARDED_STATES, applications_for
from portal.roles import is_finance


def _application(request, pk) -> Application:
    scope = Application.objects.all() if is_finance(request.user) else applications_for(request.user)
    return get_object_or_404(
        scope.filter(status__in=AWARDED_STATES).select_related(
            "partnership__lead_school", "cohort__programme"
        ),
        pk=pk,
    )


@login_required
def budget_variations(request, pk, *, bound=None, status=200):
    application = _application(request, pk)
    may_ask = variations.may_ask(request.user, application)
    may_decide = variations.may_decide(request.user, application)
    history = list(
        BudgetVariation.objects.filter(application=application).select_related("requested_by", "decided_by")
    )
    bound = bound or {}
    context = {
        "application": application,
        "rows": variations.budget_rows(application),
        "history": history,
        "may_ask": may_ask,
        "may_decide": may_decide and application.status == Application.Status.APPROVED,
        "form": bound.get("ask") or (VariationForm() if may_ask else None),
        "decide_forms": {
            v.pk: bound.get(v.pk) or DecideVariationForm(prefix=f"v{v.pk}")
            for v in history
            if v.status == BudgetVariation.Status.REQUESTED
        },
        "failed_form": next(iter(bound.values()), None),
    }
    context["pending"] = [
        (v, context["decide_forms"][v.pk]) for v in history if v.pk in context["decide_forms"]
    ]
    return render(request, "grants/budget_variations.html", context, status=status)


@login_required
@require_POST
def variation_request(request, pk):
    application = _application(request, pk)
    if not variations.may_ask(request.user, application):
        raise PermissionDenied("Only a verified lead of the lead school can ask to change the budget.")
    form = VariationForm(request.POST)
    if form.is_valid():
        try:
            variations.variation_request(application_id=application.pk, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                "Your request was sent to the programme team. The budget changes when they approve it.",
            )
            return redirect("grants:budget_variations", pk=application.pk)
    return budget_variations.__wrapped__(request, pk, bound={"ask": form}, status=400)


@login_required
@require_POST
def variation_decide(request, pk, variation_pk):
    application = _application(request, pk)
    variation = get_object_or_404(BudgetVariation, pk=variation_pk, application=application)
    if not variations.may_decide(request.user, application):
        raise PermissionDenied("Only staff of this programme without a conflict of interest can decide.")
    form = DecideVariationForm(request.POST, prefix=f"v{variation.pk}")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            variations.variation_decide(
                variation_id=variation.pk,
                by=request.user,
                approve=approve,
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                ("The budget change is approved." if approve else "The budget change is refused.")
                + " The lead school has been told.",
            )
            return redirect("grants:budget_variations", pk=application.pk)
    return budget_variations.__wrapped__(request, pk, bound={variation.pk: form}, status=400)
