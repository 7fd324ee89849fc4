"""Screens for e-mail invitations: the inviting lead sends, resends and withdraws them; the
invited person opens the signed link, signs up if they need to, and confirms or declines."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from partnerships import invitations, ratelimit, selectors, services
from partnerships.forms import add_service_errors
from partnerships.models import EmailInvitation, Membership
from partnerships.onboarding import LinkProblem, user_by_email
from partnerships.onboarding_forms import EmailInviteForm, InvitationCodeForm, InvitationSignupForm
from partnerships.onboarding_views import MODEL_BACKEND, chosen_school, link_problem, school_choice
from portal.decorators import lead_required
from portal.http import bad_request

TOO_MANY_INVITATIONS = (
    "You have sent a lot of invitations in the last hour. Please wait a while and try again."
)


@lead_required
def email_invite(request, pk):
    partnership = get_object_or_404(
        selectors.led_partnerships_for(request.user).select_related("cohort__programme", "lead_school"), pk=pk
    )
    verified = services.acts_for(request.user, partnership.lead_school)
    source = request.POST if request.method == "POST" else request.GET
    school = chosen_school(source.get("school"), open_only=False)
    if school is False:
        return bad_request(request, "That school is not in the register: search for it again.")
    search_form, page, query = school_choice(request, open_only=False)
    form = None
    if request.method == "POST" and verified:
        if school is None:
            return bad_request(request, "Choose the school to invite: search the register for it first.")
        if verdict := ratelimit.hit("invite", f"user:{request.user.pk}"):
            return ratelimit.too_many(request, TOO_MANY_INVITATIONS, verdict)
        form = EmailInviteForm(request.POST)
        if form.is_valid():
            try:
                invitation = invitations.invitation_send(
                    partnership=partnership,
                    school=form.cleaned_data["school"],
                    email=form.cleaned_data["email"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Invitation for {invitation.school.name} sent to {invitation.email}."
                )
                return redirect("partnerships:partnership_detail", pk=partnership.pk)
    elif request.method == "POST":
        return bad_request(
            request, "You can invite partners by e-mail once programme staff have verified you."
        )
    elif school and verified:
        form = EmailInviteForm(initial={"school": school.pk})
    return render(
        request,
        "partnerships/email_invite.html",
        {
            "partnership": partnership,
            "verified": verified,
            "school": school or None,
            "form": form,
            "search_form": search_form,
            "page": page,
            "query": query,
        },
        status=400 if (form is not None and form.errors) or search_form.errors else 200,
    )


def _led_invitation(request, pk) -> EmailInvitation:
    return get_object_or_404(
        EmailInvitation.objects.filter(partnership__in=selectors.led_partnerships_for(request.user)), pk=pk
    )


@require_POST
@lead_required
def invitation_resend(request, pk):
    invitation = _led_invitation(request, pk)
    if verdict := ratelimit.hit("invite", f"user:{request.user.pk}"):
        return ratelimit.too_many(request, TOO_MANY_INVITATIONS, verdict)
    try:
        invitation = invitations.invitation_resend(invitation_id=invitation.pk, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, f"Invitation sent again to {invitation.email}; the earlier link no longer works."
        )
    return redirect("partnerships:partnership_detail", pk=invitation.partnership_id)


@require_POST
@lead_required
def invitation_withdraw(request, pk):
    invitation = _led_invitation(request, pk)
    try:
        invitations.invitation_withdraw(invitation_id=invitation.pk, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, f"The invitation sent to {invitation.email} is withdrawn; its link no longer works."
        )
    return redirect("partnerships:partnership_detail", pk=invitation.partnership_id)


@never_cache
def invitation_open(request, token):
    try:
        invitation = invitations.invitation_open(token=token, by=request.user)
    except LinkProblem as problem:
        return link_problem(request, problem)
    return render(
        request,
        "partnerships/invitation.html",
        {
            "invitation": invitation,
            "token": token,
            "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        },
    )


@never_cache
def invitation_signup(request, token):
    if request.user.is_authenticated:
        return redirect("partnerships:invitation_open", token=token)
    try:
        invitation = invitations.read_invitation(token)
        invitations.ensure_answerable(invitation)
    except LinkProblem as problem:
        return link_problem(request, problem)
    context = {
        "invitation": invitation,
        "token": token,
        "login_url": reverse("login")
        + "?"
        + urlencode({"next": reverse("partnerships:invitation_open", args=[token])}),
    }
    # Whoever holds this link was sent it at the invited address, so telling them that the
    # address has an account reveals nothing to a stranger.
    if user_by_email(invitation.email) is not None:
        return render(request, "partnerships/invitation_signup.html", {**context, "has_account": True})
    form = InvitationSignupForm(request.POST if request.method == "POST" else None, email=invitation.email)
    if request.method == "POST":
        if verdict := ratelimit.hit("signup", ratelimit.client_ip(request)):
            return ratelimit.too_many(
                request,
                "Too many sign-ups from your network in the last hour. Please try again later.",
                verdict,
            )
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = invitations.invitation_signup(
                    token=token,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role_at_school=data["role_at_school"],
                    password=data["password1"],
                )
            except LinkProblem as problem:
                return link_problem(request, problem)
            except invitations.AccountExists:
                return render(
                    request, "partnerships/invitation_signup.html", {**context, "has_account": True}
                )
            login(request, user, backend=MODEL_BACKEND)
            messages.success(
                request,
                f"Your account is ready. Now confirm whether {invitation.school.name} joins "
                f"“{invitation.partnership.name}”.",
            )
            return redirect("partnerships:invitation_open", token=token)
    return render(
        request,
        "partnerships/invitation_signup.html",
        {**context, "form": form},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
def invitation_answer(request, token):
    answer = request.POST.get("answer")
    if answer not in ("confirm", "decline"):
        return bad_request(request, "Answer confirm or decline.")
    try:
        invitation = invitations.invitation_answer(token=token, accept=answer == "confirm", by=request.user)
    except LinkProblem as problem:
        return link_problem(request, problem)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("partnerships:lead_home")
    return _answered(request, invitation, answer)


def _answered(request, invitation, answer):
    if answer != "confirm":
        messages.info(request, f"You declined the invitation to “{invitation.partnership.name}”.")
        return redirect("partnerships:lead_home")
    membership = Membership.objects.filter(pk=invitation.membership_id).first()  # as it is now
    if membership is not None and membership.status == Membership.Status.CONFIRMED:
        messages.success(request, f"{invitation.school.name} has joined “{invitation.partnership.name}”.")
    else:
        messages.info(
            request,
            f"Thank you: your acceptance for {invitation.school.name} is recorded. It counts once programme "
            "staff confirm that you work at the school (usually within two working days); we will "
            "e-mail you.",
        )
    if selectors.partnerships_for(request.user).filter(pk=invitation.partnership_id).exists():
        return redirect("partnerships:partnership_detail", pk=invitation.partnership_id)
    return redirect("partnerships:lead_home")


def _login_then(token: str) -> str:
    return f"{reverse('login')}?{urlencode({'next': reverse('partnerships:invitation_open', args=[token])})}"


TOO_MANY_CODES = "Too many codes asked for or tried in the last hour. Please wait a while and try again."


@require_POST
@never_cache
def invitation_code_send(request, token):
    """E-mail a one-time code to the invited address; the holder of the link enters it next."""
    if request.user.is_authenticated:
        return redirect("partnerships:invitation_open", token=token)
    if verdict := ratelimit.hit("code", f"ip:{ratelimit.client_ip(request)}") or ratelimit.hit(
        "code", f"link:{token[:40]}"
    ):
        return ratelimit.too_many(request, TOO_MANY_CODES, verdict)
    try:
        invitations.invitation_code_send(token=token)
    except LinkProblem as problem:
        return link_problem(request, problem)
    except invitations.AccountExists:
        messages.info(request, "This address already has an account: log in to answer the invitation.")
        return redirect(
            f"{reverse('login')}?{urlencode({'next': reverse('partnerships:invitation_open', args=[token])})}"
        )
    return redirect("partnerships:invitation_code_answer", token=token)


@never_cache
def invitation_code_answer(request, token):
    """Enter the code (and your name, the first time) and confirm or decline."""
    if request.user.is_authenticated:
        return redirect("partnerships:invitation_open", token=token)
    try:
        invitation = invitations.read_invitation(token)
        invitations.ensure_answerable(invitation)
    except LinkProblem as problem:
        return link_problem(request, problem)
    has_account = user_by_email(invitation.email) is not None
    form = InvitationCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if verdict := ratelimit.hit("code", f"ip:{ratelimit.client_ip(request)}"):
            return ratelimit.too_many(request, TOO_MANY_CODES, verdict)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, invitation = invitations.invitation_code_accept(
                    token=token,
                    code=data["code"],
                    accept=data["answer"] == "confirm",
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    role_at_school=data["role_at_school"],
                )
            except LinkProblem as problem:
                return link_problem(request, problem)
            except invitations.CodeProblem as problem:
                form.add_error("code", str(problem))
            except invitations.AccountExists:
                return redirect(_login_then(token))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if user is None:  # declined without an account
                    messages.info(request, f"You declined the invitation to “{invitation.partnership.name}”.")
                    return redirect("login")
                login(request, user, backend=MODEL_BACKEND)
                return _answered(request, invitation, data["answer"])
    return render(
        request,
        "partnerships/invitation_code.html",
        {"invitation": invitation, "token": token, "form": form, "has_account": has_account},
        status=400 if form.errors else 200,
    )


@login_required
def password_set(request):
    """An account made with a one-time code has no password: set one here (optional)."""
    if request.user.has_usable_password():
        return redirect("password_change")
    form = SetPasswordForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your password is set: you can now log in with it.")
        return redirect("account")
    return render(
        request, "registration/password_set.html", {"form": form}, status=400 if form.errors else 200
    )
