"""Which schools may take part in a programme, and why not.

One function answers for every screen and service: `ineligibility_reasons(school, programme)`
returns the reasons a school cannot count (empty when it can).
"""

from django.db.models import Q, QuerySet

from partnerships.models import Funding, Membership, OfstedRating, Partnership, Phase, Programme, School


def ineligibility_reasons(school: School, programme: Programme) -> list[str]:
    reasons = []
    if school.is_synthetic:
        reasons.append("This is a synthetic demo record, not a real school: it can never take part.")
    if not school.is_open:
        reasons.append("The school is closed.")
    if programme.state_funded_only and school.funding != Funding.STATE:
        reasons.append("The programme is for state-funded schools; this school is independent.")
    if programme.eligible_phases and school.phase not in programme.eligible_phases:
        allowed = phase_list(programme.eligible_phases)
        phase = phase_word(school.phase)
        article = "an" if phase[:1] in "aeiou" or phase.startswith("FE") else "a"
        reasons.append(f"The programme is for {allowed} schools; this is {article} {phase} school.")
    if programme.eligible_ofsted_ratings and school.ofsted_rating not in programme.eligible_ofsted_ratings:
        reasons.append(_judgement_reason(school, programme))
    if programme.opportunity_areas_only and not school.opportunity_area:
        reasons.append("The programme is for schools in Opportunity Areas; this school is outside them.")
    return reasons


def phase_word(phase: str) -> str:
    """A phase's label for the middle of a sentence: "all-through", "16 plus", "FE college"."""
    text = Phase(phase).label
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def phase_list(phases) -> str:
    """ "primary, secondary and FE college" (issue 21: the old list read "primary, secondary, fe college")."""
    words = [phase_word(p) for p in phases]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# Which judgement the Ofsted rule reads (shown with the rule on screens and in reasons).
JUDGEMENT_USED = (
    "the overall effectiveness of the school's latest graded Ofsted inspection "
    "(Ofsted's management information for state-funded schools)"
)


def judgement_rule(programme: Programme) -> str:
    """The programme's Ofsted rule in words, saying which judgement it uses ("" when it has none)."""
    if not programme.eligible_ofsted_ratings:
        return ""
    allowed = " or ".join(OfstedRating(r).label for r in programme.eligible_ofsted_ratings)
    return f"Schools rated {allowed}, by {JUDGEMENT_USED}."


def _judgement_reason(school: School, programme: Programme) -> str:
    allowed = " or ".join(OfstedRating(r).label for r in programme.eligible_ofsted_ratings)
    on = f"{school.ofsted_inspected_on:%-d %B %Y}" if school.ofsted_inspected_on else ""
    if school.ofsted_rating == OfstedRating.NOT_JUDGED:
        since = f" since its inspection of {on}" if on else ""
        return (
            f"The programme is for schools rated {allowed}; this school has no graded judgement{since}: "
            "Ofsted no longer gives state-funded schools an overall effectiveness grade. "
            "Programme staff can decide on the school's latest report."
        )
    if school.ofsted_rating == OfstedRating.NOT_RATED:
        return (
            f"The programme is for schools rated {allowed}; this school has not yet been inspected "
            "(no graded Ofsted judgement)."
        )
    rating = school.get_ofsted_rating_display()
    inspected = f" at its inspection of {on}" if on else ""
    return f"The programme is for schools rated {allowed}; this school was rated {rating}{inspected}."


def is_eligible(school: School, programme: Programme) -> bool:
    return not ineligibility_reasons(school, programme)


def eligible_schools_q(programme: Programme, prefix: str = "") -> Q:
    """The same rules as `ineligibility_reasons`, as a filter (for counting in the database)."""
    q = Q(**{f"{prefix}is_open": True, f"{prefix}is_synthetic": False})
    if programme.state_funded_only:
        q &= Q(**{f"{prefix}funding": Funding.STATE})
    if programme.eligible_phases:
        q &= Q(**{f"{prefix}phase__in": programme.eligible_phases})
    if programme.eligible_ofsted_ratings:
        q &= Q(**{f"{prefix}ofsted_rating__in": programme.eligible_ofsted_ratings})
    if programme.opportunity_areas_only:
        q &= ~Q(**{f"{prefix}opportunity_area": ""})
    return q


def confirmed_eligible_memberships(partnership: Partnership) -> QuerySet[Membership]:
    """Memberships that count towards the programme's minimum: confirmed and eligible."""
    programme = partnership.cohort.programme
    return partnership.memberships.filter(
        eligible_schools_q(programme, prefix="school__"), status=Membership.Status.CONFIRMED
    )


def shortfall(partnership: Partnership) -> int:
    """How many more confirmed eligible schools the partnership needs (0 when it has enough)."""
    needed = partnership.cohort.programme.min_schools
    return max(0, needed - confirmed_eligible_memberships(partnership).count())
