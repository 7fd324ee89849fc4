"""URN lineage: which establishments came before and after a school, from the GIAS links file.

An academy conversion closes the old school and opens the academy under a new URN; GIAS links the
two ("Successor" on the old URN's row, "Predecessor" on the new one's). Both directions are read
from `SchoolLink.relation`, so a file that carries only one of the two rows still gives the edge.
"Merged - …" links are followed like successors (row's URN -> linked URN, or the other way when
the register shows the row's school open and the linked one closed).

Memberships follow: `partnerships.services.memberships_follow_successors` moves the memberships of
open partnerships from a closed school to the school it is now (audited as TrustEvents); those of
completed or withdrawn partnerships stay on the old URN as history, and the school page and the
evaluation read them through the lineage.

    predecessors(urn)  every URN before this one, nearest first (all generations)
    successors(urn)    every URN after it, nearest first
    current(urn)       the URN the school has now: successors followed while there is exactly one
                       (a split school has several: the chain stops there)

Chains are followed breadth-first with a visited set, so a cycle in the data (GIAS has a few
"A succeeds B succeeds A" pairs after reversed conversions) ends the walk instead of looping.
`Lineage.around(urns)` loads only the links near the given URNs (one query per generation);
`Lineage.everything()` loads the whole table, for the evaluation's panels.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q

from partnerships.models import School, SchoolLink

# No real chain is this long; the bound keeps a corrupt file from costing more than this many queries.
MAX_GENERATIONS = 20


class Lineage:
    def __init__(self, edges: Iterable[tuple[int, int]] = ()):
        self.after: dict[int, set[int]] = defaultdict(set)  # urn -> its direct successors
        self.before: dict[int, set[int]] = defaultdict(set)  # urn -> its direct predecessors
        for predecessor, successor in edges:
            self.add(predecessor, successor)

    def add(self, predecessor: int, successor: int) -> None:
        if predecessor != successor:
            self.after[predecessor].add(successor)
            self.before[successor].add(predecessor)

    @staticmethod
    def _edges(links) -> list[tuple[int, int]]:
        edges, merged = [], []
        for urn, linked, relation in links.values_list("urn", "linked_urn", "relation"):
            if relation == SchoolLink.Relation.SUCCESSOR:
                edges.append((urn, linked))
            elif relation == SchoolLink.Relation.PREDECESSOR:
                edges.append((linked, urn))
            elif relation == SchoolLink.Relation.MERGED:
                merged.append((urn, linked))
        if merged:
            # "Merged - …" gives no direction: the linked URN is taken as the successor (GIAS puts
            # the row on the school that closed), unless the register says the row's own school
            # is the one still open and the linked one closed. One query, only when there are any.
            open_by_urn = dict(
                School.objects.filter(urn__in={u for pair in merged for u in pair}).values_list(
                    "urn", "is_open"
                )
            )
            for urn, linked in merged:
                reverse = open_by_urn.get(urn) is True and open_by_urn.get(linked) is False
                edges.append((linked, urn) if reverse else (urn, linked))
        return edges

    @classmethod
    def everything(cls) -> "Lineage":
        return cls(cls._edges(SchoolLink.objects.exclude(relation=SchoolLink.Relation.OTHER)))

    @classmethod
    def around(cls, urns: Iterable[int]) -> "Lineage":
        """The links reachable from `urns` in either direction (one query per generation)."""
        lineage = cls()
        frontier, seen = set(urns), set()
        for _ in range(MAX_GENERATIONS):
            frontier -= seen
            if not frontier:
                break
            seen |= frontier
            links = SchoolLink.objects.exclude(relation=SchoolLink.Relation.OTHER).filter(
                Q(urn__in=frontier) | Q(linked_urn__in=frontier)
            )
            found = set()
            for predecessor, successor in cls._edges(links):
                lineage.add(predecessor, successor)
                found |= {predecessor, successor}
            frontier = found
        return lineage

    def _walk(self, urn: int, step: dict[int, set[int]]) -> list[int]:
        order, seen, frontier = [], {urn}, [urn]
        while frontier:
            following = []
            for node in frontier:
                for nxt in sorted(step.get(node, ())):
                    if nxt not in seen:
                        seen.add(nxt)
                        order.append(nxt)
                        following.append(nxt)
            frontier = following
        return order

    def predecessors(self, urn: int) -> list[int]:
        return self._walk(urn, self.before)

    def successors(self, urn: int) -> list[int]:
        return self._walk(urn, self.after)

    def chain(self, urn: int) -> list[int]:
        """The URNs the school has had since `urn`, oldest first, while each has one successor.
        A line that loops back on itself says nothing certain: empty."""
        path, seen = [], {urn}
        while len(self.after.get(urn, ())) == 1:
            (nxt,) = self.after[urn]
            if nxt in seen:
                return []
            seen.add(nxt)
            path.append(nxt)
            urn = nxt
        return path

    def current(self, urn: int) -> int:
        path = self.chain(urn)
        return path[-1] if path else urn

    def chains(self) -> dict[int, list[int]]:
        """Every URN with a single line of successors -> that line (see `chain`)."""
        return {urn: path for urn in list(self.after) if (path := self.chain(urn))}


def predecessors(urn: int) -> list[int]:
    return Lineage.around([urn]).predecessors(urn)


def successors(urn: int) -> list[int]:
    return Lineage.around([urn]).successors(urn)


def current(urn: int) -> int:
    return Lineage.around([urn]).current(urn)


def links_of(urn: int):
    """The school's links as GIAS lists them (both the rows on its URN and those pointing at it)."""
    return SchoolLink.objects.filter(Q(urn=urn) | Q(linked_urn=urn)).order_by("established_on", "pk")
