"""Which schools may take part in a programme, and why not.

One function answers for every screen and service: `ineligibility_reasons(school, programme)`
returns the reasons a school cannot count (empty when it can).
"""

from django.db.models import Q, QuerySet

from partnerships.models import Funding, Membership, OfstedRating, Partnership, Phase, Programme, School


def ineligibility_reasons(school: School, programme: Programme) -> list[str]:
    reasons = []
    if not school.is_open:
        reasons.append("The school is closed.")
    if programme.state_funded_only and school.funding != Funding.STATE:
        reasons.append("The programme is for state-funded schools; this school is independent.")
    if programme.eligible_phases and school.phase not in programme.eligible_phases:
        allowed = ", ".join(Phase(p).label.lower() for p in programme.eligible_phases)
        reasons.append(
            f"The programme is for {allowed} schools; this school is {school.get_phase_display().lower()}."
        )
    if programme.eligible_ofsted_ratings and school.ofsted_rating not in programme.eligible_ofsted_ratings:
        allowed = " or ".join(OfstedRating(r).label for r in programme.eligible_ofsted_ratings)
        rating = school.get_ofsted_rating_display()
        reasons.append(f"The programme is for schools rated {allowed}; this school is rated {rating}.")
    if programme.opportunity_areas_only and not school.opportunity_area:
        reasons.append("The programme is for schools in Opportunity Areas; this school is outside them.")
    return reasons


def is_eligible(school: School, programme: Programme) -> bool:
    return not ineligibility_reasons(school, programme)


def eligible_schools_q(programme: Programme, prefix: str = "") -> Q:
    """The same rules as `ineligibility_reasons`, as a filter (for counting in the database)."""
    q = Q(**{f"{prefix}is_open": True})
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
