from tests import factories
from tests.matrix import LOGIN, STAFF_ONLY_GET, Row, expect, expect_all


def cluster_with_alices_school(w):
    """A cluster in a cohort of programme P (Carol's), with Alice's school in it."""
    cluster = factories.ClusterFactory(cohort=factories.CohortFactory(programme=w.programme))
    factories.ClusterMembershipFactory(cluster=cluster, school=w.school_a)
    return cluster


def alices_needs(w):
    """Alice's school's needs analysis in a cluster that also holds Bob's school."""
    cluster = cluster_with_alices_school(w)
    factories.ClusterMembershipFactory(cluster=cluster, school=w.school_b)
    return [cluster.pk, w.school_a.urn]


def survey_token(w):
    from clusters import surveys

    activity = factories.CPDActivityFactory(partnership=w.partnership)
    return [surveys.token_for(surveys.invitations_create(activity=activity, by=w.users["admin"], count=1)[0])]


def survey_room_code(w):
    from clusters import surveys

    activity = factories.CPDActivityFactory(partnership=w.partnership)
    return [surveys.room_open(activity=activity, by=w.users["admin"]).code]


def clusters_cohort(w):
    """A cohort of a clusters programme that Carol (the world's staff) runs."""
    programme = factories.ProgrammeFactory(kind="clusters")
    programme.staff.add(w.users["staff"])
    return [factories.CohortFactory(programme=programme).pk]


BUILD_CLUSTERS = expect(
    anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200
)


def partnership_activity(w):
    return [factories.CPDActivityFactory(partnership=w.partnership).pk]


def themed_comment(w):
    """A teacher's comment on an activity of the world's partnership (programme P), with a theme."""
    from clusters.models import CommentTheme

    feedback = factories.FeedbackFactory(activity__partnership=w.partnership, comments="Supply cover.")
    theme = CommentTheme.objects.create(programme=w.programme, kind="barrier", name="Supply cover")
    feedback.themes.add(theme)
    return [feedback.pk, theme.pk]


def cluster_activity(w):
    return [factories.CPDActivityFactory(partnership=None, cluster=cluster_with_alices_school(w)).pk]


VISIBLE_TO_MEMBERS_AND_STAFF = expect(
    anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=404, staff=200, admin=200
)
LEAD_ONLY = {"anonymous": LOGIN, "other_staff": 403, "staff": 403, "admin": 403}

ROWS = [
    Row("clusters:cluster_list", STAFF_ONLY_GET),
    Row("clusters:cluster_build", BUILD_CLUSTERS, args=clusters_cohort),
    Row(
        "clusters:cluster_build",
        # Nothing chosen: the form answers 400 with the reasons; only the programme's staff get that far.
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=400, admin=400),
        args=clusters_cohort,
        method="post",
        note="empty form",
    ),
    Row("clusters:cluster_builder", BUILD_CLUSTERS, args=clusters_cohort),
    Row(
        "clusters:cluster_builder",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302),
        args=clusters_cohort,
        method="post",
        note="reject",
    ),
    Row(
        "clusters:cluster_detail",
        VISIBLE_TO_MEMBERS_AND_STAFF,
        args=lambda w: [cluster_with_alices_school(w).pk],
    ),
    Row(
        "clusters:cluster_activity_create",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200),
        args=lambda w: [cluster_with_alices_school(w).pk],
    ),
    Row(
        "clusters:partnership_activities",
        VISIBLE_TO_MEMBERS_AND_STAFF,
        args=lambda w: [w.partnership.pk],
    ),
    Row(
        "clusters:partnership_activity_create",
        expect(owner_lead=200, other_lead=404, **LEAD_ONLY),
        args=lambda w: [w.partnership.pk],
    ),
    Row(
        "clusters:activity_edit",
        # A partnership's activities are kept by its lead school only.
        expect(anonymous=LOGIN, owner_lead=200, other_lead=404, other_staff=404, staff=404, admin=404),
        args=partnership_activity,
    ),
    Row(
        "clusters:activity_edit",
        # A cluster's activities are kept by the programme's staff.
        expect(anonymous=LOGIN, owner_lead=404, other_lead=404, other_staff=404, staff=200, admin=200),
        args=cluster_activity,
        note="cluster activity",
    ),
    Row(
        "clusters:activity_delete",
        expect(anonymous=LOGIN, owner_lead=302, other_lead=404, other_staff=404, staff=404, admin=404),
        args=partnership_activity,
        method="post",
    ),
    Row("clusters:feedback_create", VISIBLE_TO_MEMBERS_AND_STAFF, args=partnership_activity),
    # Needs analysis and CPD plan (issue 18): a school's questionnaire is its verified lead's and
    # the programme's staff's; another school's lead (even in the same cluster) gets a 404.
    Row(
        "clusters:cluster_plan",
        VISIBLE_TO_MEMBERS_AND_STAFF,
        args=lambda w: [cluster_with_alices_school(w).pk],
    ),
    Row(
        "clusters:plan_item_add",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=400, admin=400),
        args=lambda w: [cluster_with_alices_school(w).pk],
        method="post",
        note="empty form",
    ),
    # The cluster's final report (issue 18): written by staff or a lead of a cluster school, accepted by
    # staff (which completes the cluster). The forming cluster cannot report yet: a form error.
    Row(
        "clusters:cluster_report_submit",
        expect(anonymous=LOGIN, owner_lead=400, other_lead=404, other_staff=404, staff=400, admin=400),
        args=lambda w: [cluster_with_alices_school(w).pk],
        method="post",
        note="empty form",
    ),
    Row(
        "clusters:cluster_report_accept",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=404, other_staff=404, staff=302, admin=302),
        args=lambda w: [cluster_with_alices_school(w).pk],
        method="post",
        note="no report yet: a message",
    ),
    Row("clusters:needs_questionnaire", VISIBLE_TO_MEMBERS_AND_STAFF, args=alices_needs),
    Row(
        "clusters:needs_questionnaire",
        expect(anonymous=LOGIN, owner_lead=302, other_lead=404, other_staff=404, staff=302, admin=302),
        args=alices_needs,
        method="post",
        note="save an empty draft",
    ),
    Row("clusters:needs_autosave", VISIBLE_TO_MEMBERS_AND_STAFF, args=alices_needs, method="post"),
    Row(
        "clusters:needs_review",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302),
        args=alices_needs,
        method="post",
    ),
    # Teacher surveys by link (issue 18): sent by staff and leads of member schools; answered by anyone
    # holding the link or the room code, without an account.
    Row("clusters:survey_send", VISIBLE_TO_MEMBERS_AND_STAFF, args=partnership_activity),
    Row(
        "clusters:survey_invite",
        expect(anonymous=LOGIN, owner_lead=400, other_lead=404, other_staff=404, staff=400, admin=400),
        args=partnership_activity,
        method="post",
        note="empty form",
    ),
    Row(
        "clusters:survey_email",
        expect(anonymous=LOGIN, owner_lead=400, other_lead=404, other_staff=404, staff=400, admin=400),
        args=partnership_activity,
        method="post",
        note="empty form",
    ),
    # Themes of teachers' comments (issue 18): the programme's staff only.
    Row(
        "clusters:comment_themes",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=200, admin=200),
        args=lambda w: [w.partnership.cohort_id],
    ),
    Row(
        "clusters:comment_theme_add",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=400, admin=400),
        args=lambda w: themed_comment(w)[:1],
        method="post",
        note="empty form",
    ),
    Row(
        "clusters:comment_theme_remove",
        expect(anonymous=LOGIN, owner_lead=403, other_lead=403, other_staff=404, staff=302, admin=302),
        args=themed_comment,
        method="post",
    ),
    Row(
        "clusters:survey_room_open",
        expect(anonymous=LOGIN, owner_lead=302, other_lead=404, other_staff=404, staff=302, admin=302),
        args=partnership_activity,
        method="post",
    ),
    Row("clusters:survey_room", expect_all(200)),
    Row("clusters:survey_room", expect_all(400), method="post", note="no code"),
    Row("clusters:survey_room_answer", expect_all(200), args=survey_room_code),
    Row("clusters:survey_answer", expect_all(200), args=survey_token),
    Row("clusters:survey_answer", expect_all(400), args=survey_token, method="post", note="no ratings"),
]
