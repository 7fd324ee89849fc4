"""Conflicts of interest, found from the schools register (issue 17).

A person linked to a school (`SchoolLead`, verified or not) is conflicted for an application
whose partnership includes (lead school, or a member not declined):
  - that school;
  - a school of the same academy trust (GIAS `Trusts (code)`) or federation (`Federations (code)`);
  - where the programme's review settings say so, a school in the same local authority.
A reviewer's own declaration (`ConflictDeclaration`) is a conflict too, and is never overridden.
Programme staff may override a register conflict with a reason (`ConflictOverride`, audited);
auto-assignment ignores overrides and never assigns anyone the register finds conflicted.

`is_conflicted(user, application)` is the small selector other code asks (messaging can use it to
skip conflicted staff); `conflicts_for_many` answers for many people and applications in a
fixed number of queries (auto-assignment, the assignment page).
"""

from collections import defaultdict
from dataclasses import dataclass

from grants.models import Application, ConflictDeclaration, ConflictOverride, ReviewSettings
from partnerships.models import Membership, SchoolLead

SCHOOL_FIELDS = (
    "id",
    "name",
    "urn",
    "trust_code",
    "trust_name",
    "federation_code",
    "federation_name",
    "la_code",
    "local_authority",
)


@dataclass(frozen=True)
class Conflict:
    kind: str  # "school", "trust", "federation", "local_authority", "declared"
    own_school: str = ""  # the reviewer's school (their own link)
    their_school: str = ""  # the partnership's school
    group: str = ""  # the trust, federation or local authority shared
    declared: str = ""  # the reviewer's own words
    overridable: bool = True

    def for_staff(self) -> str:
        if self.kind == "declared":
            return f"They declared a conflict: “{self.declared}”"
        if self.kind == "school":
            return f"They are linked to {self.own_school}, which is in this partnership."
        what = {"trust": "academy trust", "federation": "federation", "local_authority": "local authority"}[
            self.kind
        ]
        return (
            f"They are linked to {self.own_school}, in the same {what} ({self.group}) as "
            f"{self.their_school}, which is in this partnership."
        )

    def for_reviewer(self) -> str:
        """Told to the reviewer: their own school only (under blind review they must not learn
        the applicant's schools from it)."""
        if self.kind == "declared":
            return f"You declared a conflict: “{self.declared}”"
        if self.kind == "school":
            return f"You are linked to {self.own_school}, which is in this partnership."
        what = {"trust": "academy trust", "federation": "federation", "local_authority": "local authority"}[
            self.kind
        ]
        return (
            f"You are linked to {self.own_school}; a school of the same {what} ({self.group}) "
            "is in this partnership."
        )


def _schools_by_application(application_ids) -> dict[int, list[dict]]:
    """The schools of each application's partnership (lead school and members not declined): one query."""
    rows = (
        Membership.objects.filter(partnership__application__id__in=list(application_ids))
        .exclude(status=Membership.Status.DECLINED)
        .values("partnership__application__id", *(f"school__{f}" for f in SCHOOL_FIELDS))
    )
    lead_rows = Application.objects.filter(pk__in=list(application_ids)).values(
        "pk", *(f"partnership__lead_school__{f}" for f in SCHOOL_FIELDS)
    )
    out: dict[int, dict[int, dict]] = defaultdict(dict)
    for row in rows:
        school = {f: row[f"school__{f}"] for f in SCHOOL_FIELDS}
        out[row["partnership__application__id"]][school["id"]] = school
    for row in lead_rows:
        school = {f: row[f"partnership__lead_school__{f}"] for f in SCHOOL_FIELDS}
        out[row["pk"]][school["id"]] = school
    return {app_id: list(schools.values()) for app_id, schools in out.items()}


def _schools_by_user(user_ids) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for row in SchoolLead.objects.filter(user_id__in=list(user_ids)).values(
        "user_id", *(f"school__{f}" for f in SCHOOL_FIELDS)
    ):
        out[row["user_id"]].append({f: row[f"school__{f}"] for f in SCHOOL_FIELDS})
    return out


def _la(school) -> str:
    return (school["la_code"] or school["local_authority"] or "").strip().lower()


def _register_conflicts(own: list[dict], theirs: list[dict], *, same_la: bool) -> list[Conflict]:
    found = []
    their_ids = {s["id"] for s in theirs}
    for mine in own:
        if mine["id"] in their_ids:
            found.append(Conflict("school", own_school=mine["name"], their_school=mine["name"]))
            continue
        for other in theirs:
            if mine["trust_code"] and mine["trust_code"] == other["trust_code"]:
                found.append(
                    Conflict("trust", mine["name"], other["name"], mine["trust_name"] or mine["trust_code"])
                )
            elif mine["federation_code"] and mine["federation_code"] == other["federation_code"]:
                found.append(
                    Conflict(
                        "federation",
                        mine["name"],
                        other["name"],
                        mine["federation_name"] or mine["federation_code"],
                    )
                )
            elif same_la and _la(mine) and _la(mine) == _la(other):
                found.append(
                    Conflict(
                        "local_authority",
                        mine["name"],
                        other["name"],
                        mine["local_authority"] or mine["la_code"],
                    )
                )
    return found


def _same_la_programmes(programme_ids) -> set[int]:
    return set(
        ReviewSettings.objects.filter(
            programme_id__in=list(programme_ids), conflict_same_local_authority=True
        ).values_list("programme_id", flat=True)
    )


def conflicts_for_many(
    user_ids, applications, *, honour_overrides: bool = True
) -> dict[tuple[int, int], list[Conflict]]:
    """{(user_id, application_id): [Conflict, ...]} for every pair that has one. Six queries
    whatever the numbers of people and applications; two when none of the people is linked to a
    school. `applications` need `cohort__programme_id`
    loaded (`cohort.programme_id`)."""
    applications = list(applications)
    user_ids = list(user_ids)
    app_ids = [a.pk for a in applications]
    if not app_ids or not user_ids:
        return {}
    own = _schools_by_user(user_ids)
    # A register conflict needs a school of one's own: without any (most staff), only a
    # declaration can make one, and the partnership's schools, settings and overrides are not read.
    theirs = _schools_by_application(app_ids) if own else {}
    same_la = _same_la_programmes({a.cohort.programme_id for a in applications}) if own else set()
    overridden = set()
    if honour_overrides and own:
        overridden = set(
            ConflictOverride.objects.filter(application_id__in=app_ids, reviewer_id__in=user_ids).values_list(
                "reviewer_id", "application_id"
            )
        )
    declared = defaultdict(list)
    for d in ConflictDeclaration.objects.filter(application_id__in=app_ids, reviewer_id__in=user_ids):
        declared[(d.reviewer_id, d.application_id)].append(
            Conflict("declared", declared=d.reason, overridable=False)
        )
    out = {}
    for application in applications:
        for user_id in user_ids:
            key = (user_id, application.pk)
            found = []
            if key not in overridden and own.get(user_id):
                found = _register_conflicts(
                    own[user_id],
                    theirs.get(application.pk, []),
                    same_la=application.cohort.programme_id in same_la,
                )
            found += declared.get(key, [])
            if found:
                out[key] = found
    return out


def conflicts(user, application, *, honour_overrides: bool = True) -> list[Conflict]:
    if not getattr(user, "is_authenticated", False):
        return []
    return conflicts_for_many([user.pk], [application], honour_overrides=honour_overrides).get(
        (user.pk, application.pk), []
    )


def is_conflicted(user, application, *, honour_overrides: bool = True) -> bool:
    """Whether `user` has a conflict of interest for `application` (register or declared)."""
    return bool(conflicts(user, application, honour_overrides=honour_overrides))


def conflicted_user_ids(application, user_ids) -> set[int]:
    """Which of `user_ids` are conflicted for `application` (for messaging: skip these staff)."""
    return {uid for (uid, _), found in conflicts_for_many(user_ids, [application]).items() if found}
