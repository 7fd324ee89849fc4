"""Blind review (issue 17): what a reviewer reads of an application when its programme reviews
blind. The pages leave out the partnership's and schools' names; the applicant's own free text
may still name them, so every free-text field shown to a blind reviewer passes through
`redactor(application)`: the partnership's name, each school's name (lead school and members,
whatever their status), its name without a closing "School"/"Academy"-like word, its trust's and
federation's names, and its URN are replaced, whole words only and whatever the letter case; so are
the people the portal knows at those schools (their leads and contacts: full name, and surname after
a title, "Mrs Okafor"), and every e-mail address (a school's domain names it). A bare surname is
kept ("Green", "Wood" are ordinary words too). What cannot be caught (a head teacher the portal does
not know, a street) stays: blind review hides what the portal knows, not everything a person may
write."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User

from partnerships.models import Membership

NAME_WITHHELD = "[name withheld]"
URN_WITHHELD = "[URN withheld]"
EMAIL_WITHHELD = "[e-mail withheld]"
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Dame")
# Closing words people drop when they write a school's name ("Alder Primary" for Alder Primary School).
GENERIC_ENDINGS = re.compile(
    r"\s+(?:(?:C\.?\s?of\s?E\.?|CE|RC|Catholic|Church of England)\s+)?"
    r"(?:Primary School|Infant School|Junior School|Secondary School|High School|School|Academy|College)$",
    re.IGNORECASE,
)
LAST_WORD = re.compile(r"\s+(?:School|Academy|College)$", re.IGNORECASE)
MIN_VARIANT = 5  # a shorter leftover ("St") would redact ordinary words


def _variants(name: str) -> set[str]:
    name = (name or "").strip()
    if not name:
        return set()
    found = {name}
    for ending in (LAST_WORD, GENERIC_ENDINGS):  # "Oak Primary School" → "Oak Primary" (→ "Oak": too short)
        shorter = ending.sub("", name).strip()
        if len(shorter) >= MIN_VARIANT and shorter.lower() != name.lower():
            found.add(shorter)
    return found


def _words(names) -> re.Pattern | None:
    names = sorted(
        {n for n in names if n}, key=len, reverse=True
    )  # longest first: "Alder Primary School" before "Alder Primary"
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)


def _people(school_ids) -> set[str]:
    """The names of the people who act for these schools, as they may be written."""
    names = set()
    rows = (
        User.objects.filter(school_links__school_id__in=school_ids)
        .values_list("first_name", "last_name")
        .distinct()
    )
    for first, last in rows:
        first, last = (first or "").strip(), (last or "").strip()
        if first and last:
            names.add(f"{first} {last}")
        if last:
            names |= {f"{title} {last}" for title in TITLES}
            names |= {f"{title}. {last}" for title in TITLES}
    return names


def redactor(application) -> Callable[[str], str]:
    """A function that blanks the application's own names, people, e-mail addresses and URNs out
    of a text (two queries)."""
    schools = [
        m.school
        for m in Membership.objects.filter(partnership_id=application.partnership_id).select_related("school")
    ]
    lead = application.partnership.lead_school
    if all(s.pk != lead.pk for s in schools):
        schools.append(lead)
    names: set[str] = set(_variants(application.partnership.name))
    urns = set()
    for school in schools:
        names |= _variants(school.name)
        for group in (school.trust_name, school.federation_name):
            names |= _variants(group)
        if school.urn:
            urns.add(str(school.urn))
    names |= _people([school.pk for school in schools])
    name_pattern = _words(names)
    urn_pattern = re.compile(r"(?<!\d)(?:" + "|".join(sorted(urns)) + r")(?!\d)") if urns else None

    def redact(text: str) -> str:
        text = EMAIL.sub(EMAIL_WITHHELD, text or "")
        if name_pattern is not None:
            text = name_pattern.sub(NAME_WITHHELD, text)
        if urn_pattern is not None:
            text = urn_pattern.sub(URN_WITHHELD, text)
        return text

    return redact


TEXT_FIELDS = ("aims", "local_stem_issue", "planned_teacher_cpd", "planned_student_activities", "timeline")


@dataclass(frozen=True)
class Line:
    """A budget line as the review page shows it (its note redacted under blind review)."""

    get_category_display: str
    note: str
    amount: object


def texts_for_reviewer(application, *, blind: bool) -> tuple[dict, list[Line]]:
    """The application's free-text answers and budget lines as a reviewer reads them."""
    redact = redactor(application) if blind else (lambda text: text)
    texts = {f: redact(getattr(application, f)) for f in TEXT_FIELDS}
    lines = [
        Line(line.get_category_display(), redact(line.note), line.amount)
        for line in application.budget_lines.all()
    ]
    return texts, lines
