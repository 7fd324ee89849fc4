"""Screens for signing up, confirming an e-mail address, programme staff verifying leads,
notifications, and a user's personal data."""

import json

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partnerships import onboarding, privacy, public_views, ratelimit, selectors, trust
from partnerships.forms import SchoolSearchForm, add_service_errors
from partnerships.models import LeadVerificationRequest, School
from partnerships.onboarding import LinkProblem
from partnerships.onboarding_forms import (
    CloseAccountForm,
    ConfirmEmailForm,
    SignupForm,
    VerificationDecisionForm,
)
from portal.decorators import lead_required, staff_required
from portal.http import bad_request

PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 20
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def link_problem(request, problem: LinkProblem):
    """The clear page for a link that cannot be used: what happened, what to do; nothing changed."""
    return render(request, "partnerships/link_problem.html", {"problem": problem}, status=problem.status)


def school_choice(request, *, open_only: bool = True):
    """The school search of the sign-up and invitation screens: (form, page of schools, query)."""
    form = SchoolSearchForm(request.GET if "q" in request.GET else None)
    page = None
    if form.is_bound and form.is_valid():
        schools = selectors.search_schools(form.cleaned_data["q"])
        if open_only:
            schools = schools.filter(is_open=True)
        page = Paginator(schools, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
    return form, page, urlencode({"q": request.GET.get("q", "")})


def chosen_school(value, *, open_only: bool = True) -> School | bool | None:
    """The school an id names; None when no id was given; False when it names no school."""
    if value in (None, ""):
        return None
    if not str(value).isdigit() or len(str(value)) > 18:
        return False
    schools = School.objects.filter(is_open=True) if open_only else School.objects.all()
    return schools.filter(pk=int(value)).first() or False


# --- Sign-up and e-mail confirmation -------------------------------------------------------


@never_cache
def signup(request):
    if request.user.is_authenticated:
        messages.info(request, "You are logged in already: log out first to create another account.")
        return redirect("home")
    school = chosen_school(
        request.POST.get("school") if request.method == "POST" else request.GET.get("school")
    )
    if school is False:
        return bad_request(
            request, "That school is not in the register of open schools: search for it again."
        )
    search_form, page, query = school_choice(request)
    # Which open programme each found (or chosen) school may apply to, with the reasons in words.
    programmes = public_views.open_programmes()
    if page is not None:
        public_views.mark_eligibility(page, programmes)
    if school:
        public_views.mark_eligibility([school], programmes)
    form = None
    if request.method == "POST":
        if verdict := ratelimit.hit("signup", ratelimit.client_ip(request)):
            return ratelimit.too_many(
                request,
                "Too many sign-ups from your network in the last hour. Please try again later.",
                verdict,
            )
        form = SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            onboarding.lead_signup(
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                role_at_school=data["role_at_school"],
                school=data["school"],
                password=data["password1"],
            )
            return redirect("partnerships:signup_done")
    elif school:
        form = SignupForm(initial={"school": school.pk})
    return render(
        request,
        "partnerships/signup.html",
        {
            "form": form,
            "school": school or None,
            "search_form": search_form,
            "page": page,
            "query": query,
            "programmes": programmes,
        },
        status=400 if (form is not None and form.errors) or search_form.errors else 200,
    )


def signup_done(request):
    """The same page whether the address was new, known, or waiting for confirmation."""
    return render(request, "partnerships/signup_done.html")


@never_cache
def verify_email(request, token):
    try:
        user, _ = onboarding.read_verification_token(token)
        if request.user.is_authenticated and request.user.pk != user.pk:
            raise LinkProblem(
                "wrong_user",
                "This confirmation link is for another account. Log out, then open the link again.",
            )
    except LinkProblem as problem:
        return link_problem(request, problem)
    form = ConfirmEmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if verdict := ratelimit.hit("verify", ratelimit.client_ip(request)):
            return ratelimit.too_many(
                request, "Too many attempts in the last hour. Please try again later.", verdict
            )
        if form.is_valid():
            try:
                user = onboarding.email_confirm(
                    token=token, password=form.cleaned_data["password"], by=request.user
                )
            except LinkProblem as problem:
                return link_problem(request, problem)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                login(request, user, backend=MODEL_BACKEND)
                pending = onboarding.unverified_links(user)
                if pending:
                    names = ", ".join(p.school.name for p in pending)
                    messages.success(
                        request,
                        "Your e-mail address is confirmed. Programme staff will now confirm that you work at "
                        f"{names}; we will e-mail you. Until then you can start a partnership and draft an "
                        "application, but not submit it.",
                    )
                else:
                    messages.success(
                        request, "Your e-mail address is confirmed and you are verified for your school."
                    )
                return redirect("partnerships:lead_home")
    return render(
        request,
        "partnerships/verify_email.html",
        {"form": form, "person": user},
        status=400 if form.errors else 200,
    )


# --- Programme staff verify leads ----------------------------------------------------------


@staff_required
def verification_requests(request):
    requests = onboarding.verification_requests_for(request.user).select_related(
        "user", "school", "invitation__partnership__lead_school"
    )
    pending = Paginator(requests.filter(status=LeadVerificationRequest.Status.PENDING), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for item in pending:
        item.domain = trust.normalise_host(item.user.email)
        item.public_domain = bool(trust.public_provider_reason(item.domain))
    decided = requests.exclude(status=LeadVerificationRequest.Status.PENDING).select_related("decided_by")
    return render(
        request,
        "partnerships/verification_requests.html",
        {"page": pending, "decided": decided.order_by("-decided_at", "-pk")[:10]},
    )


@require_POST
@staff_required
def verification_decide(request, pk):
    verification = get_object_or_404(onboarding.verification_requests_for(request.user), pk=pk)
    form = VerificationDecisionForm(request.POST)
    if not form.is_valid():
        return bad_request(request, "Choose approve or reject (with a reason of at most 2,000 characters).")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        onboarding.verification_decide(
            request_id=verification.pk,
            approve=approve,
            by=request.user,
            reason=form.cleaned_data["reason"],
            trust_domain=approve and form.cleaned_data["trust_domain"],
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        who = (
            f"{verification.user.get_full_name() or verification.user.username} at {verification.school.name}"
        )
        messages.success(
            request, f"{'Approved' if approve else 'Rejected'}: {who}. They have been told by e-mail."
        )
    return redirect("partnerships:verification_requests")


# --- Personal data -------------------------------------------------------------------------


@login_required
def personal_data(request):
    return render(request, "partnerships/personal_data.html", {"form": CloseAccountForm()})


@never_cache
@login_required
def personal_data_download(request):
    body = json.dumps(privacy.personal_data(request.user), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{request.user.pk}.json"'
    return response


@require_POST
@lead_required
def account_close(request):
    form = CloseAccountForm(request.POST)
    if form.is_valid():
        try:
            privacy.account_close(user=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            logout(request)
            messages.success(
                request,
                "Your account is closed and your name and e-mail address have been removed. "
                "Your school's applications and grants are kept.",
            )
            return redirect("login")
    return render(request, "partnerships/personal_data.html", {"form": form}, status=400)
