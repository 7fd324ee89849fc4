"""Finance pages (issue 19): the payments list and its exports, one instalment (release, record a
transfer, cancel, reclaim), one grant's schedule, the award letter with its agreement, and a
school's payee details. Thin: objects through scoped reads (404 otherwise), writes through
grants.payments / agreements / payees, whose ValidationErrors become form errors or messages."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from grants import agreements, payees, payments, programme_finance
from grants import finance_forms as ff
from grants import forms as f
from grants.models import Application, GrantAgreement, PayeeChange, PayeeDetails, Payment
from grants.selectors import AWARDED_STATES, applications_for, is_lead_of, payments_for
from partnerships.models import Cohort, School, SchoolLead
from partnerships.selectors import cohorts_for
from portal.csvexport import csv_response, xlsx_response
from portal.decorators import finance_required, payments_required
from portal.roles import Role, is_finance, role_of

FILTER_SESSION_KEY = "grants:payment-filters"
FILTER_FIELDS = ("cohort", "status", "date_from", "date_to")


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _payment_cohorts(user):
    if role_of(user) == Role.FINANCE:
        return Cohort.objects.select_related("programme")
    return cohorts_for(user)


def _filters(request) -> dict:
    """The payments page's filters: from the query string when it has any (and remembered in
    the session), else the ones last used, so a filter survives "Record payment" and back."""
    if request.GET.get("clear"):
        request.session.pop(FILTER_SESSION_KEY, None)
        return {}
    given = {k: request.GET[k] for k in FILTER_FIELDS if k in request.GET}
    if given:
        request.session[FILTER_SESSION_KEY] = given
        return given
    return request.session.get(FILTER_SESSION_KEY, {})


def _filtered_payments(request):
    data = _filters(request)
    form = f.PaymentFilterForm(data or None, cohorts=_payment_cohorts(request.user))
    qs = payments_for(request.user).select_related(
        "application__partnership__lead_school__payee", "application__cohort__programme"
    )
    if form.is_bound:
        if not form.is_valid():
            request.session.pop(FILTER_SESSION_KEY, None)
            return form, None
        if form.cleaned_data["cohort"]:
            qs = qs.filter(application__cohort=form.cleaned_data["cohort"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
        start, end = form.cleaned_data.get("date_from"), form.cleaned_data.get("date_to")
        if start or end:
            qs = qs.filter(pk__in=_touched_in(start, end))
    return form, qs.order_by("application__reference", "sequence")


def _touched_in(start, end):
    """The instalments due, released, paid (a transfer's date) or closed between start and end."""

    def between(field):
        q = Q()
        if start:
            q &= Q(**{f"{field}__gte": start})
        if end:
            q &= Q(**{f"{field}__lte": end})
        return q

    return Payment.objects.filter(
        between("due_on")
        | between("released_at__date")
        | between("closed_at__date")
        | between("records__paid_on")
    ).values("pk")


@payments_required
def payment_list(request):
    form, qs = _filtered_payments(request)
    status = 200 if qs is not None else 400
    page = Paginator(qs if qs is not None else Payment.objects.none(), 50).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (form.data.items() if form.is_bound else []) if k in FILTER_FIELDS})
    return render(
        request,
        "grants/payment_list.html",
        {
            "form": form,
            "page": page,
            "finance": is_finance(request.user),
            "query": query,
            "cohort": form.cleaned_data.get("cohort") if form.is_bound and form.is_valid() else None,
            "programmes": programme_finance.programmes_for(request.user).only("pk", "name"),
        },
        status=status,
    )


def _export_columns(finance: bool) -> list[str]:
    header = [
        "payment_id",
        "application_reference",
        "programme",
        "cohort",
        "cost_code",
        "partnership",
        "lead_school_urn",
        "lead_school",
        "instalment",
        "status",
        "when",
        "amount_gbp",
        "paid_gbp",
        "reclaimed_gbp",
        "released_at",
        "paid_at",
        "payment_references",
        "payee_finance_contact",
        "payee_finance_email",
    ]
    if finance:
        header += ["bank_account_name", "bank_sort_code", "bank_account_number"]
    return header


AMOUNT_COLUMNS = ("amount_gbp", "paid_gbp", "reclaimed_gbp")


def _export_rows(qs, finance: bool):
    for p in qs.prefetch_related("records"):
        application = p.application
        school = application.partnership.lead_school
        payee = getattr(school, "payee", None)
        row = [
            p.pk,
            application.reference or "",
            application.cohort.programme.name,
            str(application.cohort),
            application.cohort.effective_cost_code,
            application.partnership.name,
            school.urn,
            school.name,
            p.sequence,
            p.get_status_display(),
            p.get_trigger_display() + (f" {p.due_on:%d %b %Y}" if p.due_on else ""),
            p.amount,
            p.paid_amount,
            p.reclaimed_amount,
            timezone.localtime(p.released_at) if p.released_at else None,
            timezone.localtime(p.paid_at) if p.paid_at else None,
            " ".join(r.reference for r in p.records.all()),
            payee.finance_contact_name if payee else "",
            payee.finance_contact_email if payee else "",
        ]
        if finance:
            row += (
                [payee.account_name, payee.sort_code_display, payee.account_number] if payee else ["", "", ""]
            )
        yield row


def _export(request, fmt: str):
    """Every payment of the chosen cohort, state and period (all when none is chosen), with the
    payee, the programme, cohort and cost code. The bank details are columns of the finance
    team's export only."""
    form, qs = _filtered_payments(request)
    if qs is None:
        return HttpResponse(
            "Bad filter: " + "; ".join(e for errs in form.errors.values() for e in errs),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    finance = is_finance(request.user)
    header = _export_columns(finance)
    if fmt == "xlsx":
        return xlsx_response(
            "payments.xlsx", "Payments", header, _export_rows(qs, finance), totals=AMOUNT_COLUMNS
        )
    return csv_response("payments.csv", header, _export_rows(qs, finance))


@payments_required
def payments_csv(request):
    return _export(request, "csv")


@payments_required
def payments_xlsx(request):
    return _export(request, "xlsx")


COMMITMENT_COLUMNS = [
    "application_reference",
    "programme",
    "cohort",
    "cost_code",
    "partnership",
    "lead_school_urn",
    "lead_school",
    "status",
    "awarded_gbp",
    "paid_gbp",
    "reclaimed_gbp",
    "cancelled_gbp",
    "released_to_pay_gbp",
    "scheduled_to_pay_gbp",
    "still_to_pay_gbp",
]


@payments_required
def commitments_export(request, cohort_pk, fmt):
    """Per cohort, for the funder's accounts: each awarded grant's award, what was paid, and what
    is still to pay (released and scheduled instalments, less what is part paid)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404("Commitments download as .csv or .xlsx.")
    cohort = get_object_or_404(_payment_cohorts(request.user), pk=cohort_pk)
    rows = [
        [
            c.application.reference or "",
            cohort.programme.name,
            str(cohort),
            cohort.effective_cost_code,
            c.application.partnership.name,
            c.application.partnership.lead_school.urn,
            c.application.partnership.lead_school.name,
            c.application.get_status_display(),
            c.awarded,
            c.paid,
            c.reclaimed,
            c.cancelled,
            c.released_to_pay,
            c.scheduled_to_pay,
            c.still_to_pay,
        ]
        for c in payments.commitments(cohort)
    ]
    name = f"commitments-{cohort.programme.slug}-{cohort.pk}"
    totals = tuple(COMMITMENT_COLUMNS[8:])  # every money column
    if fmt == "xlsx":
        return xlsx_response(f"{name}.xlsx", "Commitments", COMMITMENT_COLUMNS, rows, totals=totals)
    return csv_response(f"{name}.csv", COMMITMENT_COLUMNS, rows)


# --- One instalment -------------------------------------------------------------------------------


def _payment(request, payment_pk) -> Payment:
    return get_object_or_404(
        payments_for(request.user).select_related(
            "application__partnership__lead_school__payee", "application__cohort__programme"
        ),
        pk=payment_pk,
    )


@payments_required
def payment_detail(request, payment_pk, *, bound=None, status=200):
    payment = _payment(request, payment_pk)
    finance = is_finance(request.user)
    bound = bound or {}
    context = {
        "payment": payment,
        "application": payment.application,
        "payee": getattr(payment.application.partnership.lead_school, "payee", None),
        "finance": finance,
        "records": payment.records.select_related("recorded_by"),
        "blocker": payments.release_blocker(payment) if payment.status == Payment.Status.SCHEDULED else "",
        "failed_form": next(iter(bound.values()), None),
    }
    if finance:
        outstanding = payment.amount - payment.paid_amount
        context.update(
            {
                "record_form": bound.get("record")
                or ff.RecordPaymentForm(
                    initial={"amount": f"{outstanding:.2f}", "paid_on": timezone.localdate()}, prefix="record"
                ),
                "cancel_form": bound.get("cancel") or ff.ReasonForm(prefix="cancel"),
                "reclaim_form": bound.get("reclaim")
                or ff.ReclaimForm(initial={"amount": f"{payment.paid_amount:.2f}"}, prefix="reclaim"),
            }
        )
    return render(request, "grants/payment_detail.html", context, status=status)


def _finance_post(request, payment_pk, form_class, prefix, call, done):
    payment = _payment(request, payment_pk)
    form = form_class(request.POST, prefix=prefix) if form_class else None
    if form is not None and not form.is_valid():
        return payment_detail.__wrapped__(request, payment_pk, bound={prefix: form}, status=400)
    try:
        call(payment, form.cleaned_data if form is not None else {})
    except ValidationError as exc:
        if form is None:
            messages.error(request, " ".join(exc.messages))
            return redirect("grants:payment_detail", payment_pk=payment.pk)
        _add_errors(form, exc)
        return payment_detail.__wrapped__(request, payment_pk, bound={prefix: form}, status=400)
    messages.success(request, done(payment))
    return redirect("grants:payment_detail", payment_pk=payment.pk)


@finance_required
@require_POST
def payment_release(request, payment_pk):
    return _finance_post(
        request,
        payment_pk,
        None,
        "release",
        lambda p, _: payments.payment_release(payment_id=p.pk, by=request.user),
        lambda p: f"Instalment {p.sequence} released.",
    )


@finance_required
@require_POST
def payment_mark_paid(request, payment_pk):
    """Record a transfer: the amount (all or part of what is outstanding), the date, the reference."""
    return _finance_post(
        request,
        payment_pk,
        ff.RecordPaymentForm,
        "record",
        lambda p, d: payments.payment_record(
            payment_id=p.pk,
            by=request.user,
            amount=d["amount"],
            paid_on=d["paid_on"],
            reference=d["reference"],
        ),
        lambda p: (
            f"Payment recorded on instalment {p.sequence}; the lead school has been sent a remittance notice."
        ),
    )


@finance_required
@require_POST
def payment_cancel(request, payment_pk):
    return _finance_post(
        request,
        payment_pk,
        ff.ReasonForm,
        "cancel",
        lambda p, d: payments.payment_cancel(payment_id=p.pk, by=request.user, reason=d["reason"]),
        lambda p: f"Instalment {p.sequence} cancelled.",
    )


@finance_required
@require_POST
def payment_reclaim(request, payment_pk):
    return _finance_post(
        request,
        payment_pk,
        ff.ReclaimForm,
        "reclaim",
        lambda p, d: payments.payment_reclaim(
            payment_id=p.pk, by=request.user, amount=d["amount"], reason=d["reason"]
        ),
        lambda p: f"Reclaim of instalment {p.sequence} recorded.",
    )


# --- One grant's schedule -------------------------------------------------------------------------


@finance_required
def schedule_edit(request, pk):
    application = get_object_or_404(
        Application.objects.filter(status=Application.Status.APPROVED).select_related("partnership"), pk=pk
    )
    existing = list(application.payments.order_by("sequence"))
    open_rows = [p for p in existing if p.status == Payment.Status.SCHEDULED]
    status = 200
    if request.method == "POST":
        formset = ff.InstalmentFormSet(request.POST, prefix="i")
        reason_form = ff.ScheduleReasonForm(request.POST)
        formset_ok, reason_ok = formset.is_valid(), reason_form.is_valid()
        if not formset_ok:
            reason_form.add_error(
                None,
                "Check the instalments: "
                + "; ".join(
                    e for form_errors in formset.errors for errs in form_errors.values() for e in errs
                )
                or "; ".join(formset.non_form_errors())
                or "Check the instalments.",
            )
        if formset_ok and reason_ok:
            rows = [
                {"amount": d["amount"], "trigger": d["trigger"], "due_on": d.get("due_on")}
                for d in formset.cleaned_data
                if d and (d.get("amount") or d.get("trigger"))
            ]
            try:
                payments.schedule_change(
                    application_id=application.pk,
                    by=request.user,
                    instalments=rows,
                    reason=reason_form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                _add_errors(reason_form, exc)
            else:
                messages.success(request, "The payment schedule was changed.")
                return redirect("grants:award_letter", pk=application.pk)
        status = 400
    else:
        formset = ff.InstalmentFormSet(
            prefix="i",
            initial=[
                {"amount": f"{p.amount:.2f}", "trigger": p.trigger, "due_on": p.due_on} for p in open_rows
            ]
            + [{}],
        )
        reason_form = ff.ScheduleReasonForm()
    return render(
        request,
        "grants/schedule_edit.html",
        {
            "application": application,
            "kept": [p for p in existing if p.status != Payment.Status.SCHEDULED],
            "formset": formset,
            "reason_form": reason_form,
        },
        status=status,
    )


# --- The award letter and the agreement -----------------------------------------------------------


def _awarded(request, pk) -> Application:
    scope = Application.objects.all() if is_finance(request.user) else applications_for(request.user)
    application = get_object_or_404(
        scope.filter(status__in=AWARDED_STATES).select_related(
            "partnership__lead_school", "cohort__programme"
        ),
        pk=pk,
    )
    return application


def _verified_lead(user, application) -> bool:
    return (
        is_lead_of(user, application.partnership)
        and SchoolLead.objects.filter(
            user=user, school_id=application.partnership.lead_school_id, verified_at__isnull=False
        ).exists()
    )


@login_required
def award_letter(request, pk, *, bound=None, status=200):
    application = _awarded(request, pk)
    agreement = GrantAgreement.objects.filter(application=application).select_related("responded_by").first()
    may_respond = (
        agreement is not None
        and agreement.status == GrantAgreement.Status.OFFERED
        and _verified_lead(request.user, application)
    )
    bound = bound or {}
    context = {
        "application": application,
        "agreement": agreement,
        "payments": application.payments.prefetch_related("records").order_by("sequence"),
        "budget_lines": application.budget_lines.all(),
        "may_respond": may_respond,
        "may_reoffer": agreement is not None
        and agreement.status in (GrantAgreement.Status.LAPSED, GrantAgreement.Status.DECLINED)
        and application.status == Application.Status.APPROVED
        and agreements.may_reoffer(request.user, application),
        "finance": is_finance(request.user),
        "report_due": application.cohort.ends_on,
        "today": timezone.localdate(),
        "failed_form": next(iter(bound.values()), None),
    }
    if may_respond:
        context["accept_form"] = bound.get("accept") or ff.AcceptAgreementForm(
            initial={"terms_version": agreement.terms_version}, prefix="accept"
        )
        context["decline_form"] = bound.get("decline") or ff.DeclineAgreementForm(prefix="decline")
    return render(request, "grants/award_letter.html", context, status=status)


@login_required
@require_POST
def agreement_respond(request, pk):
    application = _awarded(request, pk)
    if not _verified_lead(request.user, application):
        raise PermissionDenied("Only a verified lead of the lead school can respond to the grant agreement.")
    accepting = "decline" not in request.POST
    prefix = "accept" if accepting else "decline"
    form = (ff.AcceptAgreementForm if accepting else ff.DeclineAgreementForm)(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            if accepting:
                agreements.agreement_accept(
                    application_id=application.pk, by=request.user, **form.cleaned_data
                )
            else:
                agreements.agreement_decline(
                    application_id=application.pk, by=request.user, reason=form.cleaned_data["decline_reason"]
                )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                "Thank you: the grant agreement is accepted. The finance team can now release the first "
                "instalment."
                if accepting
                else "The programme has been told that the school declines the grant.",
            )
            return redirect("grants:award_letter", pk=application.pk)
    return award_letter.__wrapped__(request, pk, bound={prefix: form}, status=400)


@login_required
@require_POST
def agreement_reoffer(request, pk):
    """Staff of the programme or finance offer a lapsed or declined agreement again."""
    application = _awarded(request, pk)
    if not agreements.may_reoffer(request.user, application):
        raise PermissionDenied(
            "Only the programme's staff or the finance team can offer the agreement again."
        )
    try:
        agreement = agreements.agreement_reoffer(application_id=application.pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"The agreement is offered again, to accept by {agreement.respond_by:%d %B %Y}. The lead school "
            "has been told.",
        )
    return redirect("grants:award_letter", pk=application.pk)


# --- Payee details --------------------------------------------------------------------------------


def _payee_school(request, school_pk) -> School:
    school = get_object_or_404(School, pk=school_pk)
    if is_finance(request.user):
        return school
    if role_of(request.user) == Role.LEAD:
        if SchoolLead.objects.filter(user=request.user, school=school, verified_at__isnull=False).exists():
            return school
        raise Http404
    raise PermissionDenied("Payee (bank) details are for the school's verified leads and the finance team.")


@login_required
def payee_edit(request, school_pk):
    school = _payee_school(request, school_pk)
    payee = PayeeDetails.objects.filter(school=school).first()
    status = 200
    if request.method == "POST":
        form = ff.PayeeForm(request.POST)
        if form.is_valid():
            try:
                payees.payee_save(school_id=school.pk, by=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(
                    request,
                    "Payee details saved. The school's verified leads have been e-mailed about the change.",
                )
                return redirect("grants:payee_edit", school_pk=school.pk)
        status = 400
    else:
        # The form starts empty of bank numbers for everyone: they are typed again in full to change.
        form = ff.PayeeForm(
            initial={
                "finance_contact_name": payee.finance_contact_name,
                "finance_contact_email": payee.finance_contact_email,
                "account_name": payee.account_name,
            }
            if payee
            else None
        )
    return render(
        request,
        "grants/payee_edit.html",
        {
            "school": school,
            "payee": payee,
            "form": form,
            "full": payees.may_see_full(request.user),
            "changes": PayeeChange.objects.filter(school=school).select_related("changed_by")[:20],
        },
        status=status,
    )
