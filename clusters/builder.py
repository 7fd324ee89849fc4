"""The cluster builder: proposes groups of the programme's cluster size from the eligible schools
of a cohort that are in no cluster yet, by distance (GIAS Easting/Northing, metres) and phase mix.

Proposals are suggestions only: staff accept one (which calls `services.cluster_build`, the same
rules as every other way in), adjust it, or reject it. Nothing here writes.

The algorithm is greedy and deterministic, so a page shows the same proposals on every load:
take the schools with a location in a fixed order (west to east); for each school not yet
proposed, gather the others within `max_span_m` of it and add, one at a time, the candidate
that keeps every pair within `max_span_m`, preferring a phase the group does not have yet and
then the nearest to the group's centre. A group that cannot reach the cluster size within the
bound is not proposed (its schools stay free for another group). A group staff rejected is
skipped.
"""

import math
from dataclasses import dataclass, field

from clusters.models import ClusterMembership
from partnerships.eligibility import eligible_schools_q
from partnerships.models import Cohort, School

DEFAULT_MAX_SPAN_M = 20_000  # every pair of schools in a proposal lies within 20 km


@dataclass
class Proposal:
    schools: list[School]
    span_m: float  # the largest distance between two of its schools
    phases: list[str] = field(default_factory=list)

    @property
    def school_ids(self) -> list[int]:
        return sorted(school.pk for school in self.schools)

    @property
    def span_km(self) -> float:
        return round(self.span_m / 1000, 1)


def distance_m(a: School, b: School) -> float:
    return math.hypot(a.easting - b.easting, a.northing - b.northing)


def span_m(schools) -> float:
    return max((distance_m(a, b) for i, a in enumerate(schools) for b in schools[i + 1 :]), default=0.0)


def unclustered_eligible_schools(cohort: Cohort):
    """Eligible schools of the cohort's programme that are in no cluster of the cohort."""
    taken = ClusterMembership.objects.filter(cohort=cohort).values("school_id")
    return School.objects.filter(eligible_schools_q(cohort.programme)).exclude(pk__in=taken)


def propose_clusters(
    cohort: Cohort, *, max_span_m: float = DEFAULT_MAX_SPAN_M, rejected: frozenset = frozenset()
) -> tuple[list[Proposal], list[School]]:
    """(proposals, schools without a location). `rejected` holds frozensets of school ids."""
    size = cohort.programme.cluster_size
    pool = list(unclustered_eligible_schools(cohort).order_by("easting", "northing", "urn"))
    unlocated = [s for s in pool if s.easting is None or s.northing is None]
    located = [s for s in pool if s.easting is not None and s.northing is not None]
    used: set[int] = set()
    proposals = []
    for seed in located:
        if seed.pk in used:
            continue
        group = _grow(seed, [s for s in located if s.pk not in used], size, max_span_m)
        if group is None or frozenset(s.pk for s in group) in rejected:
            continue
        used.update(s.pk for s in group)
        proposals.append(
            Proposal(schools=group, span_m=span_m(group), phases=sorted({s.phase for s in group}))
        )
    return proposals, unlocated


def _grow(seed: School, free: list[School], size: int, max_span_m: float) -> list[School] | None:
    group = [seed]
    candidates = [s for s in free if s.pk != seed.pk and distance_m(seed, s) <= max_span_m]
    while len(group) < size:
        fits = [c for c in candidates if all(distance_m(c, g) <= max_span_m for g in group)]
        if not fits:
            return None
        phases = {g.phase for g in group}
        cx = sum(g.easting for g in group) / len(group)
        cy = sum(g.northing for g in group) / len(group)
        best = min(
            fits, key=lambda c: (c.phase in phases, math.hypot(c.easting - cx, c.northing - cy), c.urn)
        )
        group.append(best)
        candidates.remove(best)
    return group
