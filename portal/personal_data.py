"""The personal-data registry: each app registers its own section of a user's data export and
what it erases when an account is closed or purged (as pretix's data shredders do), from its
AppConfig.ready. partnerships/privacy.py runs them; it never imports the apps' models.

    register("notifications", export=lambda user: [...], shred=lambda user, *, old_email: ...)

A section may also give `purge(*, days, dry_run) -> list[str]`: its own retention rule, run by
`manage.py purge_personal_data` (grants deletes files never submitted with an application that
ended, withdrawn or rejected, more than `days` ago); it returns a line per thing removed.

`export(user)` returns what goes under the section's key in the JSON download; `shred(user, *,
old_email)` runs inside the anonymising transaction (after the user row lost its names) and
erases or blanks what names the person. Sections are exported in the order they register.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable
    shred: Callable | None = None
    purge: Callable | None = None


_sections: dict[str, Section] = {}


def register(
    name: str, *, export: Callable, shred: Callable | None = None, purge: Callable | None = None
) -> None:
    _sections[name] = Section(name, export, shred, purge)


def sections() -> list[Section]:
    return list(_sections.values())


def export(user) -> dict:
    return {section.name: section.export(user) for section in sections()}


def shred(user, *, old_email: str) -> None:
    for section in sections():
        if section.shred is not None:
            section.shred(user, old_email=old_email)


def purge(*, days: int, dry_run: bool) -> list[str]:
    lines = []
    for section in sections():
        if section.purge is not None:
            lines += section.purge(days=days, dry_run=dry_run)
    return lines
