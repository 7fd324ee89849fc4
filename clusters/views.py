"""Cluster screens for programme staff, and the CPD activity and feedback screens of
partnerships and clusters. Objects come only through the selectors: another school's
partnership, cluster or activity is a 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clusters import services
from clusters.builder import DEFAULT_MAX_SPAN_M, propose_clusters, unclustered_eligible_schools
from clusters.forms import (
    ActivityForm,
    ClusterBuildForm,
    FeedbackForm,
    NeedsQuestionnaireForm,
    NeedsReviewForm,
    PlanItemForm,
)
from clusters.models import (
    Cluster,
    ClusterMembership,
    ClusterReport,
    CommentTheme,
    Feedback,
    FocusArea,
    NeedsAnalysis,
    NeedsQuestionnaire,
)
from clusters.selectors import activities_for, clusters_for, managed_activities_for
from partnerships.eligibility import ineligibility_reasons
from partnerships.forms import add_service_errors
from partnerships.models import Phase, Programme, School
from partnerships.selectors import cohorts_for, led_partnerships_for, partnerships_for, verified_schools
from portal.ajax import json_endpoint
from portal.decorators import lead_required, staff_required

PAGE_SIZE = 25


class ClusterFilterForm(forms.Form):
    cohort = forms.ModelChoiceField(queryset=None, required=False, empty_label="All cohorts")
    status = forms.ChoiceField(choices=[("", "Any status"), *Cluster.Status.choices], required=False)
    region = forms.ChoiceField(choices=[], required=False, label="Region (any school)")
    phase = forms.ChoiceField(
        choices=[("", "Any phase"), *Phase.choices], required=False, label="Phase (any school)"
    )

    def __init__(self, *args, cohorts, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cohort"].queryset = cohorts
        self.fields["region"].choices = [("", "Any region"), *((r, r) for r in regions)]


@staff_required
def cluster_list(request):
    regions = School.objects.exclude(region="").order_by("region").values_list("region", flat=True).distinct()
    form = ClusterFilterForm(request.GET or None, cohorts=cohorts_for(request.user), regions=list(regions))
    if form.is_bound and not form.is_valid():
        return render(request, "clusters/cluster_list.html", {"form": form, "page": None}, status=400)
    clusters = (
        clusters_for(request.user)
        .select_related("cohort__programme")
        .annotate(school_count=Count("memberships"))
        .order_by("-cohort__starts_on", "name")
    )
    filters = form.cleaned_data if form.is_bound else {}
    if filters.get("cohort"):
        clusters = clusters.filter(cohort=filters["cohort"])
    if filters.get("status"):
        clusters = clusters.filter(status=filters["status"])
    for key in ("region", "phase"):
        if filters.get(key):
            ids = ClusterMembership.objects.filter(**{f"school__{key}": filters[key]}).values("cluster_id")
            clusters = clusters.filter(pk__in=ids)
    page = Paginator(clusters, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    build_cohorts = cohorts_for(request.user).filter(programme__kind=Programme.Kind.CLUSTERS)
    return render(
        request,
        "clusters/cluster_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "build_cohorts": build_cohorts},
    )


class ClusterReportForm(forms.Form):
    summary = forms.CharField(
        label="What the cluster delivered and learned",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=services.REPORT_LIMIT,
        help_text="Programme staff accept it; accepting it completes the cluster.",
    )


@login_required
def cluster_detail(request, pk, report_form=None):
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    programme = cluster.cohort.programme
    schools = [m.school for m in cluster.memberships.select_related("school").order_by("school__name")]
    scores = {(n.school_id, n.focus_area): n for n in cluster.needs.all()}
    staff = services.runs_programme(request.user, programme)
    report = ClusterReport.objects.filter(cluster=cluster).first()
    own = set() if staff else set(verified_schools(request.user).values_list("pk", flat=True))
    for school in schools:
        school.reasons = ineligibility_reasons(school, programme)
        # A school's needs analysis is its own: other schools' leads in the cluster do not see it.
        school.may_see_needs = staff or school.pk in own
        school.needs = [
            scores.get((school.pk, area)) if school.may_see_needs else None for area in FocusArea.values
        ]
    may_write_report = services.may_write_cluster_report(request.user, cluster)
    return render(
        request,
        "clusters/cluster_detail.html",
        {
            "cluster": cluster,
            "programme": programme,
            "schools": schools,
            "needed": max(0, programme.cluster_size - len(schools)),
            "focus_areas": FocusArea.choices,
            "plan_items": cluster.plan_items.all(),
            "activities": cluster.activities.all(),
            "may_manage": services.runs_programme(request.user, programme),
            "report": report,
            "report_form": report_form
            or ClusterReportForm(initial={"summary": report.summary if report else ""}),
            "may_write_report": may_write_report,
            # the form shows only where a report can still be sent; elsewhere its errors stand alone
            "show_report_form": may_write_report
            and cluster.status == Cluster.Status.ACTIVE
            and not (report and report.accepted_at),
        },
        status=400 if report_form is not None and report_form.errors else 200,
    )


@require_POST
@login_required
def cluster_report_submit(request, pk):
    cluster = get_object_or_404(clusters_for(request.user), pk=pk)
    if not services.may_write_cluster_report(request.user, cluster):
        raise PermissionDenied(
            "Only programme staff or a lead of a cluster school may write its final report."
        )
    form = ClusterReportForm(request.POST)
    if cluster.status != Cluster.Status.ACTIVE:
        form.is_valid()
        form.add_error(
            None,
            f"This cluster is {cluster.get_status_display().lower()}: only an active cluster "
            "(its plan or delivery begun) sends a final report.",
        )
    elif form.is_valid():
        try:
            services.cluster_report_submit(
                cluster=cluster, summary=form.cleaned_data["summary"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "The final report is sent to programme staff.")
            return redirect("clusters:cluster_detail", pk=cluster.pk)
    return cluster_detail(request, pk, report_form=form)


@require_POST
@login_required
def cluster_report_accept(request, pk):
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    try:
        services.cluster_report_accept(cluster=cluster, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("clusters:cluster_detail", pk=cluster.pk)
    messages.success(request, "Final report accepted: the cluster is completed.")
    return redirect("clusters:cluster_detail", pk=cluster.pk)


@login_required
def partnership_activities(request, pk):
    partnership = get_object_or_404(partnerships_for(request.user).select_related("cohort__programme"), pk=pk)
    activities = (
        activities_for(request.user)
        .filter(partnership=partnership)
        .prefetch_related("schools")
        .annotate(feedback_count=Count("feedback"))
    )
    return render(
        request,
        "clusters/activity_list.html",
        {
            "partnership": partnership,
            "activities": activities,
            "may_manage": services.may_manage_activities(request.user, partnership=partnership),
        },
    )


def _activity_form(request, *, partnership=None, cluster=None, activity=None):
    members = services.member_schools(partnership=partnership, cluster=cluster).order_by("name")
    form = ActivityForm(
        request.POST if request.method == "POST" else None, instance=activity, member_schools=members
    )
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in services.ACTIVITY_FIELDS}
        try:
            if activity is None:
                activity = services.activity_create(
                    partnership=partnership,
                    cluster=cluster,
                    schools=form.cleaned_data["schools"],
                    by=request.user,
                    **values,
                )
            else:
                services.activity_update(
                    activity=activity, schools=form.cleaned_data["schools"], by=request.user, **values
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved “{activity.title}”.")
            return _parent_redirect(activity)
    return render(
        request,
        "clusters/activity_form.html",
        {"form": form, "partnership": partnership, "cluster": cluster, "activity": activity},
        status=400 if form.errors else 200,
    )


def _parent_redirect(activity):
    if activity.partnership_id:
        return redirect("clusters:partnership_activities", pk=activity.partnership_id)
    return redirect("clusters:cluster_detail", pk=activity.cluster_id)


@lead_required
def partnership_activity_create(request, pk):
    partnership = get_object_or_404(led_partnerships_for(request.user), pk=pk)
    return _activity_form(request, partnership=partnership)


@staff_required
def cluster_activity_create(request, pk):
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    return _activity_form(request, cluster=cluster)


@login_required
def activity_edit(request, pk):
    activity = get_object_or_404(
        managed_activities_for(request.user).select_related("partnership", "cluster__cohort__programme"),
        pk=pk,
    )
    return _activity_form(
        request, partnership=activity.partnership, cluster=activity.cluster, activity=activity
    )


@require_POST
@login_required
def activity_delete(request, pk):
    activity = get_object_or_404(managed_activities_for(request.user), pk=pk)
    try:
        services.activity_delete(activity=activity, by=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Deleted “{activity.title}”.")
    return _parent_redirect(activity)


@login_required
def feedback_create(request, pk):
    activity = get_object_or_404(
        activities_for(request.user).select_related(
            "partnership__cohort__programme", "cluster__cohort__programme"
        ),
        pk=pk,
    )
    if not services.may_give_feedback(request.user, activity):
        raise PermissionDenied("Only the schools taking part and programme staff may give feedback.")
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_submit(activity=activity, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Thank you: the feedback is saved. You can enter another teacher's below."
            )
            return redirect("clusters:feedback_create", pk=activity.pk)
    return render(
        request,
        "clusters/feedback_form.html",
        {"form": form, "activity": activity},
        status=400 if form.errors else 200,
    )


# --- Building clusters (programme staff) ----------------------------------------------------


def _clusters_cohort(request, cohort_pk):
    """A cohort of a clusters programme the user runs; 404 otherwise."""
    cohort = get_object_or_404(
        cohorts_for(request.user).filter(programme__kind=Programme.Kind.CLUSTERS), pk=cohort_pk
    )
    if not services.runs_programme(request.user, cohort.programme):
        raise PermissionDenied(f"Only {cohort.programme.name} staff may build its clusters.")
    return cohort


def _rejected_key(cohort) -> str:
    return f"cluster_builder_rejected_{cohort.pk}"


def _rejected(request, cohort) -> frozenset:
    return frozenset(frozenset(ids) for ids in request.session.get(_rejected_key(cohort), []))


@staff_required
def cluster_build(request, cohort_pk):
    """Create a cluster of exactly the programme's size, from scratch or from a proposal."""
    cohort = _clusters_cohort(request, cohort_pk)
    size = cohort.programme.cluster_size
    candidates = list(
        unclustered_eligible_schools(cohort).order_by("opportunity_area", "local_authority", "name")
    )
    if request.method == "POST":
        form = ClusterBuildForm(request.POST, candidates=candidates, size=size)
    else:
        chosen = [value for value in request.GET.getlist("schools") if value.isdigit()]
        form = ClusterBuildForm(
            initial={"schools": chosen, "name": request.GET.get("name", "")[:200]},
            candidates=candidates,
            size=size,
        )
    if request.method == "POST" and form.is_valid():
        try:
            cluster = services.cluster_build(
                cohort=cohort,
                name=form.cleaned_data["name"],
                schools=form.cleaned_data["schools"],
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created {cluster.name} with {size} schools.")
            return redirect("clusters:cluster_detail", pk=cluster.pk)
    return render(
        request,
        "clusters/cluster_build.html",
        {"form": form, "cohort": cohort, "size": size, "candidate_count": len(candidates)},
        status=400 if form.errors else 200,
    )


@staff_required
def cluster_builder(request, cohort_pk):
    """Proposed clusters for staff to accept (goes to the build form's POST), adjust (opens the
    build form with the proposal ticked) or reject (remembered for this session)."""
    cohort = _clusters_cohort(request, cohort_pk)
    if request.method == "POST":
        if request.POST.get("action") == "reset":
            request.session.pop(_rejected_key(cohort), None)
            messages.success(request, "Rejected proposals are proposed again.")
        else:
            ids = sorted({int(v) for v in request.POST.getlist("schools") if v.isdigit()})
            if ids:
                rejected = request.session.get(_rejected_key(cohort), [])
                request.session[_rejected_key(cohort)] = [*rejected, ids]
                messages.success(request, "Proposal rejected; its schools stay free for other clusters.")
        return redirect("clusters:cluster_builder", cohort_pk=cohort.pk)
    proposals, unlocated = propose_clusters(cohort, rejected=_rejected(request, cohort))
    taken = set(Cluster.objects.filter(cohort=cohort).values_list("name", flat=True))
    number = 1
    for proposal in proposals:
        area = proposal.schools[0].opportunity_area or proposal.schools[0].local_authority
        while f"{area} cluster {number}" in taken:
            number += 1
        proposal.name = f"{area} cluster {number}"
        taken.add(proposal.name)
    return render(
        request,
        "clusters/cluster_builder.html",
        {
            "cohort": cohort,
            "size": cohort.programme.cluster_size,
            "proposals": proposals,
            "unlocated": unlocated,
            "max_span_km": DEFAULT_MAX_SPAN_M // 1000,
            "rejected_count": len(_rejected(request, cohort)),
        },
    )


# --- Needs analysis questionnaire and the bespoke CPD plan (issue 18) ------------------------


def _cluster_school(request, pk, urn):
    """The cluster (through the user's scope) and one of its schools the user may see the needs
    analysis of: its verified lead or the programme's staff; anyone else gets a 404."""
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    school = get_object_or_404(School.objects.filter(cluster_memberships__cluster=cluster), urn=urn)
    if not services.may_see_needs(request.user, cluster, school):
        raise Http404("No such needs analysis.")
    return cluster, school


def _needs_initial(cluster, school) -> dict:
    initial = {}
    for needs in NeedsAnalysis.objects.filter(cluster=cluster, school=school):
        initial[f"{needs.focus_area}_score"] = str(needs.score or "")
        initial[f"{needs.focus_area}_notes"] = needs.notes
    return initial


@login_required
def needs_questionnaire(request, pk, urn):
    cluster, school = _cluster_school(request, pk, urn)
    questionnaire = services.needs_questionnaire(cluster, school)
    staff = services.runs_programme(request.user, cluster.cohort.programme)
    editable = questionnaire is None or questionnaire.status == NeedsQuestionnaire.Status.DRAFT
    form = NeedsQuestionnaireForm(
        request.POST if request.method == "POST" else None, initial=_needs_initial(cluster, school)
    )
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        try:
            services.needs_questionnaire_save(
                cluster=cluster, school=school, answers=form.answers(), by=request.user, submit=submit
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Submitted: programme staff will review it." if submit else "Saved as a draft."
            )
            return redirect("clusters:needs_questionnaire", pk=cluster.pk, urn=school.urn)
    return render(
        request,
        "clusters/needs_questionnaire.html",
        {
            "cluster": cluster,
            "school": school,
            "questionnaire": questionnaire,
            "form": form,
            "editable": editable,
            "staff": staff,
            "review_form": NeedsReviewForm() if staff else None,
            "autosave_url": reverse("clusters:needs_autosave", args=[cluster.pk, school.urn]),
        },
        status=400 if form.errors else 200,
    )


@json_endpoint
@require_POST
@login_required
def needs_autosave(request, pk, urn):
    """The autosave script's endpoint: saves the partial answers as a draft, answers JSON."""
    cluster, school = _cluster_school(request, pk, urn)
    form = NeedsQuestionnaireForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"saved": False, "errors": form.errors.get_json_data()}, status=400)
    try:
        questionnaire = services.needs_questionnaire_save(
            cluster=cluster, school=school, answers=form.answers(), by=request.user
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return JsonResponse({"saved": False, "errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(
        {
            "saved": True,
            "saved_at": questionnaire.saved_at.isoformat(),
            "saved_at_display": timezone.localtime(questionnaire.saved_at).strftime("%H:%M:%S"),
        }
    )


@require_POST
@staff_required
def needs_review(request, pk, urn):
    cluster, school = _cluster_school(request, pk, urn)
    form = NeedsReviewForm(request.POST)
    if form.is_valid():
        try:
            services.needs_questionnaire_review(
                cluster=cluster,
                school=school,
                by=request.user,
                comment=form.cleaned_data["comment"],
                accept=form.cleaned_data["decision"] == "accept",
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, f"{school.name}'s needs analysis: saved your review.")
            return redirect("clusters:cluster_plan", pk=cluster.pk)
    else:
        messages.error(request, "Choose whether the needs analysis is reviewed or goes back to the school.")
    return redirect("clusters:needs_questionnaire", pk=cluster.pk, urn=school.urn)


def _plan_schools(request, cluster):
    """Staff see every school of the cluster; a lead only the schools they verifiably act for."""
    schools = School.objects.filter(cluster_memberships__cluster=cluster).order_by("name")
    if services.runs_programme(request.user, cluster.cohort.programme):
        return schools
    return schools.filter(pk__in=verified_schools(request.user).values("pk"))


@login_required
def cluster_plan(request, pk, form=None):
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    schools = list(_plan_schools(request, cluster))
    staff = services.runs_programme(request.user, cluster.cohort.programme)
    questionnaires = {q.school_id: q for q in NeedsQuestionnaire.objects.filter(cluster=cluster)}
    for school in schools:
        school.questionnaire = questionnaires.get(school.pk)
    items = (
        cluster.plan_items.filter(Q(school__isnull=True) | Q(school__in=[s.pk for s in schools]))
        .select_related("school")
        .order_by("planned_on", "title")
    )
    if staff and form is None:
        form = PlanItemForm(
            schools=School.objects.filter(cluster_memberships__cluster=cluster).order_by("name")
        )
    return render(
        request,
        "clusters/cluster_plan.html",
        {
            "cluster": cluster,
            "schools": schools,
            "items": items,
            "progress": services.plan_progress(cluster, schools),
            "form": form if staff else None,
        },
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@staff_required
def plan_item_add(request, pk):
    cluster = get_object_or_404(clusters_for(request.user).select_related("cohort__programme"), pk=pk)
    form = PlanItemForm(
        request.POST, schools=School.objects.filter(cluster_memberships__cluster=cluster).order_by("name")
    )
    if form.is_valid():
        try:
            item = services.cpd_plan_item_add(cluster=cluster, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added “{item.title}” to the plan.")
            return redirect("clusters:cluster_plan", pk=cluster.pk)
    return cluster_plan(request, pk, form=form)


# --- Themes of teachers' comments -------------------------------------------------------


class ThemeForm(forms.Form):
    kind = forms.ChoiceField(label="Barrier or facilitator", choices=CommentTheme.Kind.choices)
    name = forms.CharField(label="Theme", max_length=80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["list"] = "theme-names"


def _comments(cohort):
    return (
        Feedback.objects.filter(Q(activity__partnership__cohort=cohort) | Q(activity__cluster__cohort=cohort))
        .exclude(comments="")
        .select_related("activity__partnership", "activity__cluster")
        .prefetch_related("themes")
        .order_by("-submitted_at", "pk")
    )


@staff_required
def comment_themes(request, cohort_pk, failed=None):
    """Teachers' survey comments of a cohort, for programme staff to theme as barriers and
    facilitators (the process evaluation groups them by theme)."""
    cohort = get_object_or_404(cohorts_for(request.user), pk=cohort_pk)
    comments = _comments(cohort)
    unthemed = request.GET.get("unthemed") == "1"
    if unthemed:
        comments = comments.filter(themes__isnull=True)
    page = Paginator(comments, 50).get_page(request.GET.get("page"))
    for feedback in page:
        feedback.parent = feedback.activity.partnership or feedback.activity.cluster
        feedback.form = (
            failed[1]
            if failed and failed[0] == feedback.pk
            else ThemeForm(auto_id=f"theme-{feedback.pk}-%s", initial={"kind": CommentTheme.Kind.BARRIER})
        )
    return render(
        request,
        "clusters/comment_themes.html",
        {
            "cohort": cohort,
            "page": page,
            "unthemed": unthemed,
            "themes": CommentTheme.objects.filter(programme=cohort.programme_id),
        },
        status=400 if failed else 200,
    )


def _staff_feedback(request, pk):
    feedback = get_object_or_404(
        Feedback.objects.filter(activity__in=activities_for(request.user)).select_related(
            "activity__partnership__cohort__programme", "activity__cluster__cohort__programme"
        ),
        pk=pk,
    )
    return feedback, (feedback.activity.partnership or feedback.activity.cluster).cohort


@require_POST
@staff_required
def comment_theme_add(request, pk):
    feedback, cohort = _staff_feedback(request, pk)
    form = ThemeForm(request.POST, auto_id=f"theme-{feedback.pk}-%s")
    if form.is_valid():
        try:
            theme = services.comment_theme_assign(feedback=feedback, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Themed “{theme.name}” ({theme.get_kind_display().lower()}).")
            back = reverse("clusters:comment_themes", args=[cohort.pk])
            return redirect(f"{back}?{request.GET.urlencode()}#comment-{feedback.pk}")
    return comment_themes(request, cohort.pk, failed=(feedback.pk, form))


@require_POST
@staff_required
def comment_theme_remove(request, pk, theme_pk):
    feedback, cohort = _staff_feedback(request, pk)
    theme = get_object_or_404(CommentTheme.objects.filter(programme=cohort.programme_id), pk=theme_pk)
    services.comment_theme_remove(feedback=feedback, theme=theme, by=request.user)
    messages.success(request, f"Removed the theme “{theme.name}”.")
    return redirect(reverse("clusters:comment_themes", args=[cohort.pk]) + f"#comment-{feedback.pk}")
