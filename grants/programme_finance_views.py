"""A programme's finance set-up pages (issue 19), for its staff and the finance team (not only
the admin): cost codes, the payment schedule template, and the versions of the agreement terms.
Thin: the programme through programmes_for (404 otherwise), writes through
grants.programme_finance."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from grants import agreements, programme_finance
from grants.finance_views import _add_errors
from grants.models import AgreementTerms, GrantAgreement, Payment, ScheduleStep
from portal.decorators import payments_required

HISTORY_SHOWN = 50  # the finance set-up page's history: the latest changes
TRIGGER_CHOICES = [(t.value, t.label) for t in Payment.Trigger if t != Payment.Trigger.ON_APPROVAL]


class StepForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=[("", "—"), *ScheduleStep.Kind.choices], required=False)
    value = forms.CharField(label="Percentage or amount", max_length=20, required=False)
    trigger = forms.ChoiceField(label="Paid", choices=[("", "—"), *TRIGGER_CHOICES], required=False)
    due_on = forms.DateField(
        label="Date (if paid on a date)",
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )


StepFormSet = forms.formset_factory(StepForm, extra=0, max_num=12, absolute_max=12, validate_max=True)


class TermsForm(forms.Form):
    conditions = forms.CharField(
        label="The terms of the new version", widget=forms.Textarea(attrs={"rows": 14}), max_length=20000
    )


def _programme(request, programme_pk):
    return get_object_or_404(programme_finance.programmes_for(request.user), pk=programme_pk)


def _cost_code_form(programme, data=None):
    fields = {
        "cost_code": forms.CharField(label=f"Cost code of {programme.name}", max_length=40, required=False)
    }
    cohorts = list(programme.cohorts.all())
    for cohort in cohorts:
        fields[f"cohort_{cohort.pk}"] = forms.CharField(
            label=f"Cost code of {cohort.name} (empty: the programme's)", max_length=40, required=False
        )
    form_class = type("CostCodeForm", (forms.Form,), fields)
    initial = {"cost_code": programme.cost_code, **{f"cohort_{c.pk}": c.cost_code for c in cohorts}}
    return form_class(data, initial=initial), cohorts


@payments_required
def programme_finance_page(request, programme_pk):
    programme = _programme(request, programme_pk)
    form, cohorts = _cost_code_form(programme, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                programme_finance.cost_codes_save(
                    programme_id=programme.pk,
                    by=request.user,
                    programme_code=form.cleaned_data["cost_code"],
                    cohort_codes={c.pk: form.cleaned_data[f"cohort_{c.pk}"] for c in cohorts},
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Cost codes saved. Finance exports show them from now on.")
                return redirect("grants:programme_finance", programme_pk=programme.pk)
        status = 400
    events = list(programme.finance_events.select_related("actor")[: HISTORY_SHOWN + 1])
    return render(
        request,
        "grants/programme_finance.html",
        {
            "programme": programme,
            "events": events[:HISTORY_SHOWN],
            "events_more": len(events) > HISTORY_SHOWN,
            "form": form,
            "failed_form": form if form.errors else None,
            "steps": programme.schedule_steps.order_by("sequence"),
            "terms": AgreementTerms.objects.filter(programme=programme).order_by("-published_at").first(),
        },
        status=status,
    )


@payments_required
def schedule_template(request, programme_pk):
    programme = _programme(request, programme_pk)
    status = 200
    if request.method == "POST":
        formset = StepFormSet(request.POST, prefix="s")
        if formset.is_valid():
            rows = [d for d in formset.cleaned_data if d and (d.get("kind") or d.get("trigger"))]
            try:
                programme_finance.schedule_template_save(
                    programme_id=programme.pk, by=request.user, steps=rows
                )
            except ValidationError as exc:
                formset._non_form_errors = formset.error_class(exc.messages)
            else:
                messages.success(
                    request, "The payment schedule template is saved: awards from now on use it."
                )
                return redirect("grants:programme_finance", programme_pk=programme.pk)
        status = 400
    else:
        initial = [
            {
                "kind": s.kind,
                "value": f"{s.percent.normalize():f}"
                if s.percent is not None
                else (f"{s.amount:.2f}" if s.amount else ""),
                "trigger": s.trigger,
                "due_on": s.due_on,
            }
            for s in programme.schedule_steps.order_by("sequence")
        ]
        formset = StepFormSet(prefix="s", initial=[*initial, {}, {}])
    return render(
        request,
        "grants/schedule_template.html",
        {"programme": programme, "formset": formset, "errors": formset.non_form_errors()},
        status=status,
    )


@payments_required
def agreement_terms(request, programme_pk):
    programme = _programme(request, programme_pk)
    versions = list(AgreementTerms.objects.filter(programme=programme).order_by("-published_at"))
    status = 200
    if request.method == "POST":
        form = TermsForm(request.POST)
        if form.is_valid():
            try:
                terms = programme_finance.terms_publish(
                    programme_id=programme.pk, by=request.user, conditions=form.cleaned_data["conditions"]
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request, f"Version {terms.version} is published: awards from now on are offered it."
                )
                return redirect("grants:agreement_terms", programme_pk=programme.pk)
        status = 400
    else:
        current = versions[0].conditions if versions else agreements.STANDARD_TERMS
        form = TermsForm(initial={"conditions": current})
    accepted = set(
        GrantAgreement.objects.filter(
            application__cohort__programme=programme, status=GrantAgreement.Status.ACCEPTED
        ).values_list("terms_version", flat=True)
    )
    return render(
        request,
        "grants/agreement_terms.html",
        {
            "programme": programme,
            "versions": versions,
            "accepted": accepted,
            "form": form,
            "failed_form": form if form.errors else None,
            "standard_version": agreements.STANDARD_TERMS_VERSION,
        },
        status=status,
    )
