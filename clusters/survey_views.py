"""Teacher surveys by link: the sending page (staff and leads of schools taking part) and the
public pages teachers answer on without an account. A forged or expired link, an answered
one-time link and an unknown code each get a page saying so with a 4xx status, never a 500."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from clusters import services, surveys
from clusters.forms import FeedbackForm
from clusters.selectors import activities_for
from partnerships.forms import add_service_errors
from portal import throttle


class InviteForm(forms.Form):
    count = forms.IntegerField(label="How many teachers", min_value=1, max_value=surveys.MAX_INVITATIONS)
    school = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any school taking part")

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


class EmailForm(forms.Form):
    addresses = forms.CharField(
        label="Teachers' e-mail addresses",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=(
            "One per line (or separated by commas). Each teacher gets their own link that takes one "
            "answer; the addresses are not kept."
        ),
        max_length=50_000,
    )
    school = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any school taking part")

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        self.fields["school"].label = "Their school"


class RoomCodeForm(forms.Form):
    code = forms.CharField(label="Survey code", max_length=20)


def _activity(request, pk):
    activity = get_object_or_404(
        activities_for(request.user).select_related(
            "partnership__cohort__programme", "cluster__cohort__programme"
        ),
        pk=pk,
    )
    if not services.may_give_feedback(request.user, activity):
        raise PermissionDenied("Only programme staff and leads of schools taking part may send this survey.")
    return activity


def _schools(activity):
    return activity.schools.order_by("name")


@login_required
def survey_send(request, pk, form=None, email_form=None):
    activity = _activity(request, pk)
    invitations = activity.survey_invitations.select_related("school").order_by("-created_at", "pk")[:200]
    links = [
        (
            invitation,
            request.build_absolute_uri(
                reverse("clusters:survey_answer", args=[surveys.token_for(invitation)])
            ),
        )
        for invitation in invitations
    ]
    answered = set(
        activity.feedback.filter(invitation__in=[i.pk for i in invitations]).values_list(
            "invitation_id", flat=True
        )
    )
    per_activity, per_school = surveys.response_rates([activity])
    return render(
        request,
        "clusters/survey_send.html",
        {
            "activity": activity,
            "form": form or InviteForm(schools=_schools(activity)),
            "email_form": email_form or EmailForm(schools=_schools(activity), auto_id="email_%s"),
            "links": links,
            "answered": answered,
            "rooms": activity.survey_rooms.order_by("-created_at"),
            "rate": per_activity[0],
            "per_school": per_school,
            "room_url": request.build_absolute_uri(reverse("clusters:survey_room")),
        },
        status=400 if any(f is not None and f.errors for f in (form, email_form)) else 200,
    )


@require_POST
@login_required
def survey_invite(request, pk):
    activity = _activity(request, pk)
    form = InviteForm(request.POST, schools=_schools(activity))
    if form.is_valid():
        try:
            made = surveys.invitations_create(activity=activity, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"{len(made)} survey link{'s' if len(made) != 1 else ''} ready to send."
            )
            return redirect("clusters:survey_send", pk=activity.pk)
    return survey_send(request, pk, form=form)


@require_POST
@login_required
def survey_email(request, pk):
    activity = _activity(request, pk)
    form = EmailForm(request.POST, schools=_schools(activity), auto_id="email_%s")
    if form.is_valid():
        try:
            sent = surveys.invitations_email(activity=activity, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Sent {sent} survey invitation{'s' if sent != 1 else ''} by e-mail.")
            return redirect("clusters:survey_send", pk=activity.pk)
    return survey_send(request, pk, email_form=form)


@require_POST
@login_required
def survey_room_open(request, pk):
    activity = _activity(request, pk)
    try:
        room = surveys.room_open(activity=activity, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Room code {room.code} is open for {surveys.LINK_DAYS} days.")
    return redirect("clusters:survey_send", pk=activity.pk)


def _refused(request, refused: surveys.SurveyRefused):
    return render(
        request, "clusters/survey_refused.html", {"message": refused.message}, status=refused.status
    )


def _throttled(request):
    verdict = throttle.hit("survey", throttle.limit_key_for_ip(throttle.client_ip(request)))
    if verdict:
        response = render(
            request,
            "clusters/survey_refused.html",
            {"message": "Too many answers from this network just now. Please try again in a while."},
            status=429,
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response
    return None


def _answer_page(request, *, invitation=None, room=None):
    activity = (invitation or room).activity
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        throttled = _throttled(request)
        if throttled:
            return throttled
        if form.is_valid():
            data = form.cleaned_data
            ratings = {name: data[name] for name in services.RATING_FIELDS}
            try:
                surveys.answer(
                    invitation=invitation,
                    room=room,
                    ratings=ratings,
                    expects_more_cpd=data["expects_more_cpd"],
                    comments=data["comments"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except surveys.SurveyRefused as refused:
                return _refused(request, refused)
            else:
                return render(request, "clusters/survey_thanks.html", {"activity": activity})
    return render(
        request,
        "clusters/survey_answer.html",
        {"activity": activity, "form": form, "room": room},
        status=400 if form.errors else 200,
    )


def survey_answer(request, token):
    try:
        invitation = surveys.invitation_from_token(token)
    except surveys.SurveyRefused as refused:
        return _refused(request, refused)
    return _answer_page(request, invitation=invitation)


def survey_room(request):
    form = RoomCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        throttled = _throttled(request)
        if throttled:
            return throttled
        if form.is_valid():
            try:
                room = surveys.room_from_code(form.cleaned_data["code"])
            except surveys.SurveyRefused as refused:
                form.add_error("code", refused.message)
            else:
                return redirect("clusters:survey_room_answer", code=room.code)
    return render(request, "clusters/survey_room.html", {"form": form}, status=400 if form.errors else 200)


def survey_room_answer(request, code):
    try:
        room = surveys.room_from_code(code)
    except surveys.SurveyRefused as refused:
        return _refused(request, refused)
    return _answer_page(request, room=room)
