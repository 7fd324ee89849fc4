"""Where higher apps plug their rules into partnership changes (partnerships never imports them).

- `register_membership_guard(fn)`: `fn(partnership, *, change, membership, by)` is called, inside
  the transaction and after the partnership row is locked, before a membership is invited,
  confirmed or removed (`change` is "invite", "confirm" or "remove"). It raises ValidationError
  with the reason to refuse. grants registers the minimum-schools rule for submitted and
  approved applications and the read-only rule for completed grants.
- `partnership_withdrawn`: sent (on the same transaction) when a partnership is withdrawn because
  its lead's claim to the school was refused; grants withdraws the application with an audit event.
- `minimum_at_risk`: sent when schools stopped counting (closed or no longer eligible in the
  register); grants re-checks the applications of the partnerships named.
"""

from collections.abc import Callable

from django.dispatch import Signal

partnership_withdrawn = Signal()  # kwargs: partnership, by, reason
minimum_at_risk = Signal()  # kwargs: partnership_ids, reason

_membership_guards: list[Callable] = []


def register_membership_guard(guard: Callable) -> Callable:
    if guard not in _membership_guards:
        _membership_guards.append(guard)
    return guard


def check_membership_guards(partnership, *, change: str, membership, by) -> None:
    for guard in _membership_guards:
        guard(partnership, change=change, membership=membership, by=by)
