"""Screens for school leads (their partnerships, invitations, finding partners) and programme
staff (every partnership of their programmes). Objects come only through the selectors, so
another school's partnership or invitation is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from messaging import delivery
from partnerships import invitations, lineage, onboarding, selectors, services
from partnerships.eligibility import confirmed_eligible_memberships, ineligibility_reasons
from partnerships.forms import (
    PartnershipForm,
    SchoolSearchForm,
    StaffPartnershipFilterForm,
    add_service_errors,
)
from partnerships.models import Membership, School, SchoolLead
from portal.decorators import lead_required, staff_required
from portal.http import bad_request
from portal.pagecache import page_cache
from portal.roles import Role, role_of

PAGE_SIZE = 25


@page_cache
@login_required
def lead_home(request):
    partnerships = (
        selectors.partnerships_for(request.user)
        .select_related("cohort__programme", "lead_school")
        .annotate(confirmed=Count("memberships", filter=Q(memberships__status=Membership.Status.CONFIRMED)))
        .order_by("-cohort__starts_on", "name")
    )
    invitations = selectors.invitations_for(request.user).select_related(
        "partnership__lead_school", "partnership__cohort__programme", "school"
    )
    is_lead = role_of(request.user) == Role.LEAD
    return render(
        request,
        "partnerships/lead_home.html",
        {
            "partnerships": partnerships,
            "invitations": invitations,
            "schools": selectors.lead_schools(request.user),
            "is_lead": is_lead,
            "can_start": is_lead and selectors.open_partnership_cohorts().exists(),
            "pending_links": onboarding.unverified_links(request.user),
        },
    )


@lead_required
def partnership_create(request):
    schools = selectors.lead_schools(request.user)
    form = PartnershipForm(
        request.POST if request.method == "POST" else None,
        cohorts=selectors.open_partnership_cohorts(),
        schools=schools,
    )
    if request.method == "POST" and form.is_valid():
        try:
            partnership = services.partnership_create(**form.cleaned_data, by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"“{partnership.name}” is started. Now find and invite partner schools."
            )
            return redirect("partnerships:partnership_detail", pk=partnership.pk)
    return render(
        request, "partnerships/partnership_form.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def partnership_detail(request, pk):
    partnership = get_object_or_404(
        selectors.partnerships_for(request.user).select_related("cohort__programme", "lead_school"), pk=pk
    )
    programme = partnership.cohort.programme
    memberships = list(partnership.memberships.select_related("school").order_by("role", "school__name"))
    for membership in memberships:
        membership.reasons = ineligibility_reasons(membership.school, programme)
    confirmed_eligible = confirmed_eligible_memberships(partnership).count()
    my_school_ids = set(selectors.lead_schools(request.user).values_list("pk", flat=True))
    is_lead = partnership.lead_school_id in my_school_ids
    return render(
        request,
        "partnerships/partnership_detail.html",
        {
            "partnership": partnership,
            "programme": programme,
            "memberships": memberships,
            "confirmed_eligible": confirmed_eligible,
            "needed": max(0, programme.min_schools - confirmed_eligible),
            "is_lead": is_lead,
            "my_school_ids": my_school_ids,
            "pending_links": onboarding.unverified_links(request.user),
            "email_invitations": invitations.email_invitations_for_lead(request.user, partnership)
            if is_lead
            else [],
            "can_invite_by_email": is_lead and services.acts_for(request.user, partnership.lead_school),
        },
    )


@lead_required
def school_search(request, pk):
    partnership = get_object_or_404(
        selectors.led_partnerships_for(request.user).select_related("cohort__programme"), pk=pk
    )
    form = SchoolSearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        page = Paginator(selectors.search_schools(form.cleaned_data["q"]), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        taken = {
            m.school_id: m
            for m in Membership.objects.filter(
                school__in=[s.pk for s in page], cohort=partnership.cohort, status__in=Membership.HOLDS_PLACE
            ).select_related("partnership")
        }
        with_contact = set(
            SchoolLead.objects.filter(
                school__in=[s.pk for s in page], verified_at__isnull=False, user__is_active=True
            ).values_list("school_id", flat=True)
        )
        for school in page:
            school.reasons = ineligibility_reasons(school, partnership.cohort.programme)
            school.membership = taken.get(school.pk)
            school.has_contact = school.pk in with_contact
    return render(
        request,
        "partnerships/school_search.html",
        {
            "partnership": partnership,
            "form": form,
            "page": page,
            "query": urlencode({"q": request.GET.get("q", "")}),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@lead_required
def membership_invite(request, pk):
    partnership = get_object_or_404(selectors.led_partnerships_for(request.user), pk=pk)
    school_id = request.POST.get("school", "")
    if not school_id.isdigit():
        return bad_request(request, "Choose a school to invite.")
    school = get_object_or_404(School, pk=int(school_id))
    try:
        services.membership_invite(partnership=partnership, school=school, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{school.name} is invited. Their lead will be asked to confirm.")
    back = reverse("partnerships:school_search", args=[partnership.pk])
    query = request.POST.get("q", "").strip()
    return redirect(f"{back}?{urlencode({'q': query})}" if query else back)


@require_POST
@lead_required
def membership_remove(request, pk):
    membership = get_object_or_404(
        selectors.led_memberships_for(request.user).select_related("school"), pk=pk
    )
    try:
        services.membership_remove(membership=membership, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{membership.school.name} is no longer in the partnership.")
    return redirect("partnerships:partnership_detail", pk=membership.partnership_id)


@require_POST
@lead_required
def membership_respond(request, pk):
    membership = get_object_or_404(
        Membership.objects.filter(
            school__in=selectors.verified_schools(request.user), role=Membership.Role.PARTNER
        ).select_related("partnership", "school"),
        pk=pk,
    )
    answer = request.POST.get("answer")
    if answer not in ("confirm", "decline"):
        return bad_request(request, "Answer confirm or decline.")
    try:
        services.membership_respond(membership=membership, accept=answer == "confirm", by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("partnerships:lead_home")
    if answer == "confirm":
        messages.success(request, f"{membership.school.name} has joined “{membership.partnership.name}”.")
        return redirect("partnerships:partnership_detail", pk=membership.partnership_id)
    messages.info(request, f"You declined the invitation to “{membership.partnership.name}”.")
    return redirect("partnerships:lead_home")


@staff_required
def staff_partnership_list(request):
    cohorts = selectors.cohorts_for(request.user)
    regions = School.objects.exclude(region="").order_by("region").values_list("region", flat=True).distinct()
    form = StaffPartnershipFilterForm(request.GET or None, cohorts=cohorts, regions=list(regions))
    partnerships = (
        selectors.partnerships_for(request.user)
        .select_related("cohort__programme", "lead_school")
        .annotate(
            confirmed=Count("memberships", filter=Q(memberships__status=Membership.Status.CONFIRMED)),
            invited=Count("memberships", filter=Q(memberships__status=Membership.Status.INVITED)),
        )
        .order_by("-cohort__starts_on", "name")
    )
    pending_verifications = (
        onboarding.verification_requests_for(request.user).filter(status="pending").count()
    )
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "partnerships/staff_partnership_list.html",
            {"form": form, "page": None, "pending_verifications": pending_verifications},
            status=400,
        )
    filters = form.cleaned_data if form.is_bound else {}
    if filters.get("cohort"):
        partnerships = partnerships.filter(cohort=filters["cohort"])
    if filters.get("status"):
        partnerships = partnerships.filter(status=filters["status"])
    if filters.get("region"):
        partnerships = partnerships.filter(lead_school__region=filters["region"])
    if filters.get("phase"):
        with_phase = Membership.objects.filter(
            status=Membership.Status.CONFIRMED, school__phase=filters["phase"]
        ).values("partnership_id")
        partnerships = partnerships.filter(pk__in=with_phase)
    page = Paginator(partnerships, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "partnerships/staff_partnership_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "pending_verifications": pending_verifications,
        },
    )


@staff_required
def programme_messages(request):
    """Programme staff mute their programme's e-mails during bulk changes (and unmute them)."""
    programmes = selectors.programmes_for(request.user).order_by("name")
    if request.method == "POST":
        chosen = request.POST.get("programme", "")
        programme = get_object_or_404(programmes, pk=int(chosen) if chosen.isdigit() else 0)
        if request.POST.get("mute") == "1":
            delivery.mute_programme(programme.pk, by=request.user)
            messages.success(request, f"{programme.name}: e-mails are muted (decisions still go).")
        else:
            delivery.unmute_programme(programme.pk)
            messages.success(request, f"{programme.name}: e-mails are sent again.")
        return redirect("partnerships:programme_messages")
    rows = [{"programme": p, "muted": delivery.programme_muted(p.pk)} for p in programmes]
    return render(request, "partnerships/programme_messages.html", {"rows": rows})


@staff_required
def school_detail(request, urn):
    """A school in the register, with its URN lineage (GIAS links) and its memberships, those under
    earlier URNs included (a converter is the same school)."""
    school = get_object_or_404(School, urn=urn)
    family = lineage.Lineage.around([urn])
    before, after = family.predecessors(urn), family.successors(urn)
    known = {s.urn: s for s in School.objects.filter(urn__in=[*before, *after])}
    links = list(lineage.links_of(urn))
    memberships = (
        Membership.objects.filter(
            school__urn__in=[urn, *before], partnership__in=selectors.partnerships_for(request.user)
        )
        .select_related("partnership__cohort__programme", "school")
        .order_by("-cohort__starts_on")
    )
    return render(
        request,
        "partnerships/school_detail.html",
        {
            "school": school,
            "predecessors": [(u, known.get(u)) for u in before],
            "successors": [(u, known.get(u)) for u in after],
            "current": family.current(urn),
            "links": links,
            "memberships": memberships,
        },
    )
