"""The public front door (issue 21): what the programmes are, who may apply and when, and an
eligibility checker over the schools register — no account needed, nothing personal shown (the
register is public data; no lead, partnership or application is named)."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from partnerships import eligibility, ratelimit, selectors
from partnerships.forms import SchoolSearchForm
from partnerships.models import Cohort, Funding, Programme

CHECK_PAGE_SIZE = 10


def programme_rules(programme: Programme) -> list[str]:
    """The programme's rules in plain words, as the checker applies them."""
    rules = []
    if programme.eligible_phases:
        rules.append(f"Open to {eligibility.phase_list(programme.eligible_phases)} schools.")
    else:
        rules.append("Open to schools of every phase.")
    if programme.state_funded_only:
        rules.append(f"{Funding.STATE.label} schools only: independent schools cannot take part.")
    if programme.eligible_ofsted_ratings:
        rules.append(eligibility.judgement_rule(programme))
    if programme.opportunity_areas_only:
        rules.append("Only schools in an Opportunity Area.")
    rules.append("The school must be open (in the register of open schools).")
    if programme.kind == Programme.Kind.CLUSTERS:
        rules.append(f"Schools work in clusters of {programme.cluster_size}.")
    else:
        rules.append(f"A partnership needs at least {programme.min_schools} confirmed eligible schools.")
    return rules


def _open_programmes():
    now = timezone.now()
    cohorts = (
        Cohort.objects.filter(applications_close_at__gte=now)
        .select_related("programme")
        .order_by("applications_open_at", "pk")
    )
    programmes: dict[int, dict] = {}
    for cohort in cohorts:
        entry = programmes.setdefault(
            cohort.programme_id,
            {"programme": cohort.programme, "rules": programme_rules(cohort.programme), "cohorts": []},
        )
        entry["cohorts"].append({"cohort": cohort, "open_now": cohort.applications_open_at <= now})
    return list(programmes.values())


def open_programmes() -> list[Programme]:
    """The programmes with a cohort still taking (or about to take) applications."""
    return [entry["programme"] for entry in _open_programmes()]


def school_verdicts(school, programmes) -> list[dict]:
    """For each programme: the reasons, in words, why the school cannot take part (none: it can)."""
    return [{"programme": p, "reasons": eligibility.ineligibility_reasons(school, p)} for p in programmes]


def mark_eligibility(schools, programmes=None) -> None:
    """Set `verdicts` and `eligible_somewhere` on each school of a search page (the sign-up's own
    school search tells an ineligible school before anyone signs up, issue 21)."""
    programmes = open_programmes() if programmes is None else programmes
    for school in schools:
        school.verdicts = school_verdicts(school, programmes)
        school.eligible_somewhere = any(not v["reasons"] for v in school.verdicts)


@require_GET
def front_door(request):
    return render(request, "partnerships/front_door.html", {"programmes": _open_programmes()})


@require_GET
def eligibility_check(request):
    form = SchoolSearchForm(request.GET if "q" in request.GET else None)
    page, results = None, []
    if form.is_bound:
        if verdict := ratelimit.hit("eligibility", ratelimit.client_ip(request)):
            return ratelimit.too_many(
                request,
                "Too many searches from your network in the last hour. Please try again later.",
                verdict,
            )
        if form.is_valid():
            programmes = open_programmes()
            schools = selectors.search_schools(form.cleaned_data["q"])
            page = Paginator(schools, CHECK_PAGE_SIZE).get_page(request.GET.get("page"))
            for school in page:
                verdicts = school_verdicts(school, programmes)
                results.append(
                    {
                        "school": school,
                        "verdicts": verdicts,
                        "eligible_somewhere": any(not v["reasons"] for v in verdicts),
                    }
                )
    return render(
        request,
        "partnerships/eligibility_check.html",
        {
            "search_form": form,
            "page": page,
            "results": results,
            "query": urlencode({"q": request.GET.get("q", "")}),
        },
    )
