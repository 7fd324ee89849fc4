"""Words, not codes: the one place that turns a stored state, action or code into its label,
and formats numbers and intervals one way (issue 21).

Pages (`{{ value|label }}`, `{{ x|num:2 }}`, `{% interval low high %}` in `portal_labels`),
CSVs (`portal.csvexport`), e-mails and charts all go through `label()`.

Where the labels come from:
- every model field with `choices` (every `TextChoices` stored in a row), collected from the app
  registry the first time a label is asked for — portal imports no higher app to do it;
- groups registered by the app that owns the codes, from its `AppConfig.ready`
  (`register("audit_action", {...})`: grants' audit actions are not a choices field);
- `register_choices(SomeTextChoices)` for an enum that is not on a model field.

A code no group knows is still never shown raw: `humanise("below_minimum")` → "Below minimum".
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_GROUPS: dict[str, dict[str, str]] = {}
_ANY: dict[str, str] = {}
_collected = False
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
MINUS = "-"  # ASCII: CSVs and existing readers parse it


def register(group: str, labels: dict[str, str]) -> None:
    """Add labels for `group` (e.g. "audit_action"); later registrations win for the same code."""
    _GROUPS.setdefault(group, {}).update({str(k): str(v) for k, v in labels.items()})
    for code, text in labels.items():
        _ANY.setdefault(str(code), str(text))


def register_choices(choices, group: str | None = None) -> None:
    """Register a `TextChoices` (or any Django choices enum) under `group` (default: its name)."""
    register(group or choices.__qualname__, {str(value): str(text) for value, text in choices.choices})


def _collect() -> None:
    global _collected
    if _collected:
        return
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.get_fields():
            flat = getattr(field, "flatchoices", None)
            if not flat or getattr(field, "is_relation", False):
                continue
            group = f"{model._meta.label_lower}.{field.name}"
            register(group, {str(k): str(v) for k, v in flat if isinstance(k, str | int)})
    _collected = True


def groups() -> dict[str, dict[str, str]]:
    """Every group and its labels (the words test walks them all)."""
    _collect()
    return _GROUPS


def humanise(code: str) -> str:
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def label(value, group: str | None = None) -> str:
    """The label for a stored code: from `group` when given, else from any group that knows it,
    else the code made into words. Empty values become an em dash."""
    if value is None or value == "":
        return "—"
    _collect()
    code = str(value)
    if group and code in _GROUPS.get(group, {}):
        return _GROUPS[group][code]
    if code in _ANY:
        return _ANY[code]
    return humanise(code) if SNAKE_CASE.fullmatch(code) else code


# --- Numbers and intervals: one format everywhere ----------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        value = repr(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def num(value, places: int = 2, *, signed: bool = False) -> str:
    """A number with `places` decimals, thousands separated, a true minus sign, and never "-0.00"
    (a value that rounds to zero reads 0.00, in the table and the text alike). None → "—".
    `signed` puts "+" before a positive value (a change: "+0.07")."""
    d = _decimal(value)
    if d is None:
        return "—"
    places = max(int(places), 0)
    rounded = round(d, places)
    if rounded == 0:
        rounded = abs(rounded)
    text = f"{abs(rounded):,.{places}f}"
    if rounded < 0:
        return f"{MINUS}{text}"
    return f"+{text}" if signed and rounded > 0 else text


def interval(low, high, places: int = 2) -> str:
    """ "0.00 to 0.07"; a missing end reads "unbounded"."""
    if _decimal(low) is None and _decimal(high) is None:
        return "—"
    ends = [num(v, places) if _decimal(v) is not None else "unbounded" for v in (low, high)]
    return f"{ends[0]} to {ends[1]}"
