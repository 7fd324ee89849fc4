"""A versioned per-user cache of whole rendered pages (issue 21: capacity).

    @page_cache                                  # outermost, above @login_required / @staff_required
    @staff_required
    def review_queue(request): ...

A logged-in GET whose response is a plain 200 is stored in the Django cache (Redis in production)
for at most TTL seconds (a random lifetime between TTL/2 and TTL, so that pages first drawn
together are not all drawn again together), and a repeat view answers from it without rendering.
Docs: docs/architecture.md, "Page cache".

Keyed by: the user (id and the fields of their row the middleware loaded before the view ran), a
hash of the session key, the session's contents and the CSRF secret, the full path with its query
string, the local date, the second-factor state, the language, and the *versions of every table
the render read*.

Versions. Every database connection runs statements through `_execute` (installed by the
connection_created signal). It reads the table names out of each statement. During a render it
records the tables read, taking each table's version from the cache *before* the first statement
that reads it. A statement that writes (INSERT, UPDATE, DELETE, TRUNCATE, COPY, MERGE; raw SQL,
queryset .update() and Celery tasks included: they all go through a connection) gives each
written table a new random version, at once and again when its transaction commits, so a render
that ran beside an uncommitted write is never taken as fresh. DDL, or a write whose table is not
known, changes the version `ALL` that every page depends on. The versions live in the shared
cache, so a write in one process (a Celery worker) invalidates pages cached by another.

Not cached (rendered every time, as before): non-GET/HEAD, anonymous users, responses other than
200, streaming or file responses, responses with cookies, Cache-Control no-cache/no-store/private
or an unusual Vary, pages with a meta refresh (task progress), pages rendered while the request
had pending messages or that queued one, renders that wrote to the database or changed the session
(beyond the keys a view declares replayable), and renders inside a transaction.
"""

import hashlib
import json
import logging
import random
import re
import secrets
import time
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

log = logging.getLogger(__name__)

TTL = (
    settings.PAGE_CACHE_SECONDS
)  # a page's lifetime: bounds staleness from what no table records (the clock, Redis outages)
PREFIX = "pagecache:"
ALL = "*"  # the version every page depends on

# PostgreSQL triggers that write to a table other than their own: writing the key also changes the
# versions of the values. Audit of */migrations (2026-12-02): every trigger there checks and raises
# (minimum schools, finance, budget variations, extensions, agreement terms, conflicts, cluster
# size); none writes another table. A new trigger that does must be added here.
TRIGGER_WRITES: dict[str, tuple[str, ...]] = {}

# Tables read outside the render whose content is already in the key (the session row, the user's
# row, their second-factor device): not recorded, so a log-in elsewhere does not invalidate pages.
NOT_RECORDED = frozenset({"django_session"})

_WRITE_WORDS = frozenset({"insert", "update", "delete", "truncate", "copy", "merge"})
_DDL_WORDS = frozenset({"create", "alter", "drop", "comment", "grant", "revoke", "reindex", "cluster"})
_FIRST_WORD = re.compile(r"^\s*\(?\s*(\w+)")
_WRITE_TARGET = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from|copy|merge\s+into)\s+(?:only\s+)?"
    r"(?:(?:\"[^\"]+\"|\w+)\.)?(\"[^\"]+\"|\w+)",
    re.IGNORECASE,
)
_NAMES = re.compile(r"\"([^\"]+)\"|\b([A-Za-z_][A-Za-z0-9_]*)\b")
_VARY_OK = frozenset({"cookie", "accept-encoding"})
_MISSING = "\x00missing"

_recording: ContextVar = ContextVar("pagecache_recording", default=None)
_parsed: dict[str, tuple[frozenset, frozenset]] = {}
_known: frozenset | None = None
_outage_until = 0.0


def lifetime() -> float:
    """How long one stored page lives: at most TTL (the staleness bound), and spread over its
    second half. Pages drawn in the same few seconds (everyone's first views after a deploy, or a
    write that many pages read) would otherwise all expire, and be drawn again, in the same few
    seconds: the load benchmark's 100 users did just that, and the re-render burst took its p95
    from 110 ms to 1.2 s (docs/performance.md, "Capacity for 100 users")."""
    return TTL * (0.5 + random.random() / 2)


def enabled() -> bool:
    return getattr(settings, "PAGE_CACHE", False) and time.monotonic() >= _outage_until


# --- Which tables a statement reads and writes -----------------------------------------


def known_tables() -> frozenset:
    global _known
    if _known is None:
        from django.apps import apps

        _known = frozenset(m._meta.db_table.lower() for m in apps.get_models(include_auto_created=True))
    return _known


def parse(sql: str) -> tuple[frozenset, frozenset]:
    """(tables read, tables written) by one statement; written may hold ALL."""
    hit = _parsed.get(sql)
    if hit is not None:
        return hit
    known = known_tables()
    names = {(quoted or bare).lower() for quoted, bare in _NAMES.findall(sql)}
    tables = frozenset(names & known)
    match = _FIRST_WORD.match(sql)
    first = match.group(1).lower() if match else ""
    written: set[str] = set()
    if first in _DDL_WORDS:
        written = {ALL, *tables}
    elif first == "truncate":
        written = set(tables) or {ALL}
    elif first in _WRITE_WORDS or first == "with":
        targets = {name.strip('"').lower() for name in _WRITE_TARGET.findall(sql)}
        written = targets & known
        if first in _WRITE_WORDS and not written:
            written = {ALL}  # a write to a table we cannot name: everything may be stale
    for table in list(written):
        written.update(TRIGGER_WRITES.get(table, ()))
    result = (tables - NOT_RECORDED, frozenset(written - NOT_RECORDED))
    if len(_parsed) > 5000:
        _parsed.clear()
    _parsed[sql] = result
    return result


# --- Versions ----------------------------------------------------------------------------


def _vkey(table: str) -> str:
    return f"{PREFIX}v:{table}"


def bump(tables) -> None:
    """Give each table a new version (every page that read one of them is stale)."""
    global _outage_until
    if not tables:
        return
    cache.set_many({_vkey(t): secrets.token_hex(8) for t in tables}, timeout=None)
    is_down = getattr(cache, "is_down", None)
    if is_down is not None and is_down():
        # The new versions may be lost: pages cached before the outage may be stale, so none is
        # served by this process until they have all expired.
        _outage_until = time.monotonic() + TTL


def versions(tables) -> dict[str, str]:
    """The current version of each table, giving one to a table that has none yet."""
    keys = {_vkey(t): t for t in tables}
    found = cache.get_many(list(keys))
    missing = [k for k in keys if k not in found]
    for key in missing:
        cache.add(key, secrets.token_hex(8), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    return {keys[k]: v for k, v in found.items()}


def _in_real_transaction(connection) -> bool:
    """Inside an atomic block that is not a test case's own (those never commit)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _after_write(connection, written) -> None:
    bump(written)
    if not connection.in_atomic_block:
        return
    pending = getattr(connection, "_pagecache_pending", None)
    registered = pending is not None and any(
        entry[1] is pending["callback"] for entry in connection.run_on_commit
    )
    if registered:
        pending["tables"].update(written)
        return
    tables = set(written)

    def on_commit():
        bump(tables)

    connection._pagecache_pending = {"tables": tables, "callback": on_commit}
    connection.on_commit(on_commit, robust=True)


def _execute(execute, sql, params, many, context):
    read, written = parse(sql) if isinstance(sql, str) else (frozenset(), frozenset({ALL}))
    render = _recording.get()
    if render is not None:
        if written:
            render.wrote = True
        elif read:
            render.before_read(read)
    result = execute(sql, params, many, context)
    if written:
        _after_write(context["connection"], written)
    return result


def install(connection, **kwargs) -> None:
    if _execute not in connection.execute_wrappers:
        connection.execute_wrappers.append(_execute)


def connect_signals() -> None:
    connection_created.connect(install, dispatch_uid="portal.pagecache.install")
    for connection in connections.all(initialized_only=True):
        install(connection)


# --- One render ---------------------------------------------------------------------------


class _Render:
    def __init__(self, known: dict[str, str]):
        self.versions = dict(known)
        self.read: set[str] = set()
        self.wrote = False

    def before_read(self, tables) -> None:
        new = tables - self.read
        if not new:
            return
        self.read |= new
        unknown = [t for t in new if t not in self.versions]
        if unknown:
            token = _recording.set(None)  # the cache is not a table of this render
            try:
                self.versions.update(versions(unknown))
            finally:
                _recording.reset(token)


def _plain(value):
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    meta = getattr(value, "_meta", None)
    if meta is not None and hasattr(value, "pk"):  # a model instance (the second-factor device)
        return f"{meta.label}:{value.pk}"
    return str(value)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=_plain, sort_keys=True).encode()).hexdigest()


def _session_data(request, replayed) -> dict:
    session = getattr(request, "session", None)
    if session is None:
        return {}
    return {k: v for k, v in session.items() if k not in replayed}


def _base_key(request, replayed) -> str:
    user = request.user
    is_verified = getattr(user, "is_verified", None)
    # The user's row and whatever the middleware worked out and kept on it before the view ran
    # (their group names, their second-factor device): read outside the render, so in the key.
    row = {k: v for k, v in vars(user).items() if k != "_state" and not callable(v)}
    session = getattr(request, "session", None)
    return (
        PREFIX
        + "p:"
        + _digest(
            row,
            getattr(session, "session_key", None),
            _session_data(request, replayed),
            request.META.get("CSRF_COOKIE"),
            request.get_full_path(),
            timezone.localdate(),
            bool(is_verified()) if callable(is_verified) else None,
            getattr(request, "LANGUAGE_CODE", None),
            request.headers.get("HX-Request"),
        )
    )


def _has_messages(request) -> bool:
    storage = getattr(request, "_messages", None)
    if storage is None:
        return False
    return bool(storage._queued_messages or storage._loaded_messages)


def _storable(request, response) -> bool:
    if response.status_code != 200 or isinstance(response, StreamingHttpResponse) or response.streaming:
        return False
    if response.cookies:
        return False
    control = response.get("Cache-Control", "").lower()
    if any(word in control for word in ("no-cache", "no-store", "private")):
        return False
    vary = {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}
    if vary - _VARY_OK:
        return False
    if re.search(rb"http-equiv\s*=\s*[\"']?refresh", response.content, re.IGNORECASE):
        return False
    storage = getattr(request, "_messages", None)
    return not (storage is not None and storage._queued_messages)


def _session_changes(request, before, replayed):
    """The values the render left the replayed session keys at ({key: value or _MISSING}), or
    None if it changed another key (or the session key): such a page is not stored."""
    session = getattr(request, "session", None)
    if session is None:
        return {}
    after = dict(session.items())
    if session.modified:
        if session.session_key != before["key"]:
            return None
        changed = {
            k
            for k in set(before["data"]) | set(after)
            if before["data"].get(k, _MISSING) != after.get(k, _MISSING)
        }
        if changed - replayed:
            return None
    return {k: after.get(k, _MISSING) for k in replayed}


def _replay(request, changes) -> None:
    for key, value in changes.items():
        if value == _MISSING:
            request.session.pop(key, None)
        elif request.session.get(key, _MISSING) != value:
            request.session[key] = value


def _from_entry(entry) -> HttpResponse:
    response = HttpResponse(entry["content"], status=200)
    for name, value in entry["headers"]:
        response[name] = value
    response["X-Page-Cache"] = "hit"
    return response


def page_cache(view=None, *, session_keys=()):
    """Cache the view's rendered page per user and session (module docstring). `session_keys`:
    session keys the view may set on a GET whose value follows from the request alone (the review
    queue's kept filters): the page is still cached, and a hit sets them again."""
    replayed = frozenset(session_keys)

    def decorate(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            if (
                not enabled()
                or request.method not in ("GET", "HEAD")
                or not request.user.is_authenticated
                or _has_messages(request)
            ):
                return func(request, *args, **kwargs)
            connection = connections["default"]
            if _in_real_transaction(connection):
                return func(request, *args, **kwargs)
            key = _base_key(request, replayed)
            entry = cache.get(key)
            known = {}
            if entry is not None:
                known = versions(entry["versions"])
                if known == entry["versions"]:
                    _replay(request, entry["session"])
                    if entry["csrf"]:
                        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
                    return _from_entry(entry)
            if ALL not in known:
                known.update(versions([ALL]))
            session = getattr(request, "session", None)
            before = {
                "key": getattr(session, "session_key", None),
                "data": dict(session.items()) if session else {},
            }
            csrf_secret = request.META.get("CSRF_COOKIE")
            render = _Render(known)
            token = _recording.set(render)
            try:
                response = func(request, *args, **kwargs)
                if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
                    response.render()
            finally:
                _recording.reset(token)
            if (
                render.wrote
                or request.META.get("CSRF_COOKIE") != csrf_secret  # a new secret: its cookie goes out
                or not _storable(request, response)
            ):
                return response
            changes = _session_changes(request, before, replayed)
            if changes is None:
                return response
            entry = {
                "versions": {t: render.versions[t] for t in render.read | {ALL} if t in render.versions},
                "content": response.content,
                "headers": [(k, v) for k, v in response.items() if k.lower() != "content-length"],
                "session": changes,
                # Django sends the CSRF cookie again whenever a page uses it (renewing its expiry)
                "csrf": bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE")),
            }
            cache.set(key, entry, lifetime())
            response["X-Page-Cache"] = "miss"
            return response

        return wrapper

    return decorate(view) if view is not None else decorate
