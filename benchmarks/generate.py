"""Generate the benchmark data on PostgreSQL: national scale, and the same shapes small.

    python benchmarks/generate.py            # build what is missing, reuse what is there
    python benchmarks/generate.py --fresh    # rebuild both data sets from scratch
    python benchmarks/generate.py --dataset national

National scale (`bench_national` schema of BENCH_DATABASE_URL): a 50,000-row GIAS-format CSV
(latin-1, written to benchmarks/data/, imported with import_gias), 10 cohorts (8 ENTHUSE
Partnerships, 2 Aspire to STEM), 2,000 partnerships of 5–8 schools, 20 clusters of 5,
100,000 CPD activities (with the schools taking part), 200,000 feedback rows, and 2,000
applications over every state with budget lines, audit events, scores, payments and
end-of-grant reports; leads, programme staff and admins who can log in with BENCH_PASSWORD.
The small data set (`bench_small`) has the same shapes at about 1/100 of the size.

Deterministic: one seeded random generator, fixed dates. The big tables are written with
PostgreSQL COPY. A data set is reused when its `bench_meta` row says it was built by this
version of the generator; `--fresh` drops its schema and builds it again.
"""

import argparse
import csv
import io
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_PASSWORD, DATA_DIR, ROOT, SCHEMAS, base_url, server_env, setup_django

GENERATOR_VERSION = 4
SEED = 20_260_401


@dataclass(frozen=True)
class Scale:
    schools: int
    partnerships: int
    clusters: int
    activities: int
    feedback: int


SCALES = {
    "national": Scale(schools=50_000, partnerships=2_000, clusters=20, activities=100_000, feedback=200_000),
    "small": Scale(schools=1_000, partnerships=20, clusters=2, activities=1_000, feedback=2_000),
}


def csv_path(dataset: str) -> Path:
    return DATA_DIR / f"gias_{dataset}_v{GENERATOR_VERSION}.csv"


# --- The GIAS-format CSV ------------------------------------------------------------------

GIAS_COLUMNS = [
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentNumber",
    "EstablishmentName",
    "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (name)",
    "OpenDate",
    "CloseDate",
    "PhaseOfEducation (name)",
    "StatutoryLowAge",
    "StatutoryHighAge",
    "Gender (name)",
    "ReligiousCharacter (name)",
    "SchoolCapacity",
    "NumberOfPupils",
    "NumberOfBoys",
    "NumberOfGirls",
    "PercentageFSM",
    "OfstedRating (name)",
    "OfstedLastInsp",
    "Street",
    "Locality",
    "Town",
    "Postcode",
    "GOR (name)",
    "DistrictAdministrative (name)",
    "ParliamentaryConstituency (name)",
    "UrbanRural (name)",
    "UKPRN",
    "Easting",
    "Northing",
]

# Region -> local authorities; each LA has a few districts. The Opportunity Area districts
# (partnerships/data/opportunity_areas.json) appear under their LA so that about one school
# in twenty is in an Opportunity Area, as in the real register.
REGIONS = {
    "North East": ["Durham", "Newcastle upon Tyne", "Sunderland", "Northumberland", "Gateshead"],
    "North West": ["Blackpool", "Oldham", "Manchester", "Liverpool", "Lancashire", "Cumbria", "Wigan"],
    "Yorkshire and the Humber": ["Bradford", "Doncaster", "Leeds", "Sheffield", "North Yorkshire", "Hull"],
    "East Midlands": ["Derby", "Nottingham", "Leicestershire", "Lincolnshire", "Northamptonshire"],
    "West Midlands": ["Stoke-on-Trent", "Birmingham", "Coventry", "Staffordshire", "Shropshire"],
    "East of England": ["Norfolk", "Suffolk", "Cambridgeshire", "Essex", "Hertfordshire"],
    "London": ["Camden", "Hackney", "Newham", "Croydon", "Barnet", "Tower Hamlets", "Southwark"],
    "South East": ["East Sussex", "Kent", "Surrey", "Hampshire", "Oxfordshire", "Buckinghamshire"],
    "South West": ["Somerset", "Cornwall", "Devon", "Bristol, City of", "Gloucestershire", "Dorset"],
}
OA_DISTRICTS = {
    "Blackpool": ["Blackpool"],
    "Oldham": ["Oldham"],
    "Bradford": ["Bradford"],
    "Doncaster": ["Doncaster"],
    "Derby": ["Derby"],
    "Stoke-on-Trent": ["Stoke-on-Trent"],
    "Norfolk": ["Norwich", "Breckland", "Broadland"],
    "Suffolk": ["Ipswich", "Babergh", "Mid Suffolk"],
    "Cambridgeshire": ["Fenland", "East Cambridgeshire", "Cambridge", "Huntingdonshire"],
    "East Sussex": ["Hastings", "Lewes", "Wealden"],
    "North Yorkshire": ["Scarborough", "Harrogate", "Selby"],
    "Somerset": ["West Somerset", "Taunton Deane", "Mendip"],
}
TYPES = [  # (name, code, group, weight, phase names it may have)
    ("Community school", 1, "Local authority maintained schools", 30, ("Primary", "Secondary")),
    ("Voluntary aided school", 2, "Local authority maintained schools", 8, ("Primary", "Secondary")),
    ("Voluntary controlled school", 3, "Local authority maintained schools", 6, ("Primary",)),
    ("Foundation school", 5, "Local authority maintained schools", 4, ("Primary", "Secondary")),
    ("Academy converter", 28, "Academies", 22, ("Primary", "Secondary", "All-through")),
    ("Academy sponsor led", 27, "Academies", 9, ("Primary", "Secondary", "Middle deemed secondary")),
    ("Free schools", 35, "Free Schools", 3, ("Primary", "Secondary", "All-through", "16 plus")),
    ("Community special school", 7, "Special schools", 3, ("Not applicable",)),
    ("Academy 16-19 converter", 46, "Academies", 1, ("16 plus",)),
    ("Further education", 18, "Colleges", 1, ("16 plus",)),
    ("Local authority nursery school", 15, "Local authority maintained schools", 1, ("Nursery",)),
    ("Other independent school", 11, "Independent schools", 9, ("Primary", "Secondary", "Not applicable")),
    ("Other independent special school", 10, "Independent schools", 2, ("Not applicable",)),
]
STATUSES = [("Open", 82), ("Closed", 14), ("Open, but proposed to close", 2), ("Proposed to open", 2)]
OFSTED = [
    ("Good", 55),
    ("Outstanding", 17),
    ("Requires improvement", 13),
    ("Inadequate", 3),
    ("Serious Weaknesses", 1),
    ("Special Measures", 1),
    ("", 10),
]
NAME_STEMS = [
    "Alder", "Ash", "Beech", "Birch", "Cedar", "Elm", "Hazel", "Holly", "Larch", "Maple", "Oak", "Rowan",
    "Willow", "Yew", "Hawthorn", "Chestnut", "Linden", "Poplar", "Sycamore", "Juniper", "Brook", "Meadow",
    "Hill", "Valley", "Park", "Green", "Castle", "Abbey", "Bridge", "Riverside", "Kingsway", "Queensway",
    "St Mary's", "St John's", "St Peter's", "Holy Trinity", "St Thérèse's", "Brontë", "Zoë Wanamaker",
    "Crèche Lane", "Ménière", "Ørsted",
]  # fmt: skip
NAME_TAILS = {
    "Primary": [
        "Primary School",
        "C of E Primary School",
        "Catholic Primary School",
        "Infant and Junior School",
    ],
    "Secondary": ["Academy", "High School", "School", "Community College", "Grammar School"],
    "All-through": ["All-through School", "Academy"],
    "16 plus": ["Sixth Form College", "College"],
    "Middle deemed secondary": ["Middle School"],
    "Not applicable": ["Special School", "School", "Learning Centre"],
    "Nursery": ["Nursery School"],
}
AGES = {
    "Primary": (4, 11),
    "Secondary": (11, 18),
    "All-through": (4, 18),
    "16 plus": (16, 19),
    "Middle deemed secondary": (9, 13),
    "Not applicable": (3, 19),
    "Nursery": (2, 5),
}


def _weighted(rng: random.Random, choices):
    return rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]


def gias_rows(count: int, rng: random.Random):
    """`count` GIAS-like rows (lists of strings), a few of them deliberately malformed."""
    las = []
    for region, names in REGIONS.items():
        for la_code, name in enumerate(names, start=len(las) * 7 + 201):
            districts = OA_DISTRICTS.get(name) or [name, f"{name} North", f"{name} South"]
            las.append((region, name, la_code, districts))
    urn = 100_000
    for index in range(count):
        urn += rng.randint(1, 3)
        region, la_name, la_code, districts = rng.choice(las)
        district = rng.choice(districts)
        type_name, type_code, group, _w, phases = rng.choices(TYPES, weights=[t[3] for t in TYPES])[0]
        phase = rng.choice(phases)
        status = _weighted(rng, STATUSES)
        low, high = AGES[phase]
        if phase == "Primary":
            pupils = rng.randint(40, 700)
        elif phase in ("Secondary", "All-through"):
            pupils = rng.randint(300, 2000)
        else:
            pupils = rng.randint(20, 400)
        pupils_text = "" if status != "Open" and rng.random() < 0.5 else str(pupils)
        fsm = rng.random()
        fsm_text = f"{min(fsm * fsm * 80, 100):.1f}" if rng.random() > 0.04 else rng.choice(["SUPP", ""])
        if index % 997 == 500:  # about one row in a thousand has a malformed figure: rejected
            fsm_text = "12,5"
        middle = rng.choice(["", "Park", "Vale", "Road"])
        name = " ".join(f"{rng.choice(NAME_STEMS)} {middle} {rng.choice(NAME_TAILS[phase])}".split())
        town = district.split(" ")[0]
        letters = "".join(rng.choices("ABDEFGHJLNPQRSTUWXYZ", k=2))
        postcode = f"{la_name[:2].upper()}{rng.randint(1, 40)} {rng.randint(1, 9)}{letters}"
        boys = pupils // 2 if pupils_text else ""
        yield [
            str(urn),
            str(la_code),
            la_name,
            str(2000 + index % 8000),
            name,
            str(type_code),
            type_name,
            group,
            status,
            f"01-09-{rng.randint(1950, 2022)}",
            f"31-08-{rng.randint(2005, 2025)}" if status == "Closed" else "",
            phase,
            str(low),
            str(high),
            rng.choice(["Mixed"] * 9 + ["Girls", "Boys"]),
            rng.choice(["Does not apply"] * 6 + ["Church of England", "Roman Catholic"]),
            str(pupils + rng.randint(0, 200)),
            pupils_text,
            str(boys),
            str(pupils - boys) if pupils_text else "",
            fsm_text,
            _weighted(rng, OFSTED),
            f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(2012, 2025)}",
            f"{rng.randint(1, 250)} {rng.choice(['High Street', 'Church Lane', 'School Road', 'Mill Lane'])}",
            "",
            town,
            postcode,
            region,
            district,
            f"{la_name} {rng.choice(['Central', 'East', 'West'])}",
            rng.choice(["Urban city and town", "Urban major conurbation", "Rural town and fringe"]),
            str(10_000_000 + urn),
            str(rng.randint(100_000, 650_000)),
            str(rng.randint(50_000, 650_000)),
        ]
        if index % 9973 == 1234:  # a rare duplicate URN, reported and skipped by import_gias
            yield [str(urn), *[""] * 3, "Duplicate entry", *[""] * (len(GIAS_COLUMNS) - 5)]


def write_gias_csv(dataset: str) -> Path:
    """Write the data set's GIAS file once (latin-1, as published); reuse it afterwards."""
    path = csv_path(dataset)
    if path.exists():
        return path
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{SEED}-gias-{dataset}")
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="latin-1", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(GIAS_COLUMNS)
        writer.writerows(gias_rows(SCALES[dataset].schools, rng))
    partial.rename(path)
    return path


# --- The database -------------------------------------------------------------------------


def _connect(dbname: str | None = None):
    import psycopg2

    parts = urlsplit(base_url())
    return psycopg2.connect(
        dbname=dbname or parts.path.lstrip("/"),
        user=parts.username or "postgres",
        password=parts.password or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )


def ensure_database() -> None:
    import psycopg2

    try:
        _connect().close()
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise SystemExit(f"Cannot connect to the bench database ({base_url()}): {exc}") from None
        name = urlsplit(base_url()).path.lstrip("/")
        admin = _connect("postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        print(f"Created database {name}.")


def built_meta(dataset: str) -> dict | None:
    """The data set's bench_meta, or None if it is missing or from another generator version."""
    conn = _connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = 'bench_meta'",
                [SCHEMAS[dataset]],
            )
            if not cursor.fetchone():
                return None
            cursor.execute(f"SELECT value FROM {SCHEMAS[dataset]}.bench_meta WHERE key = 'meta'")
            row = cursor.fetchone()
    finally:
        conn.close()
    if not row or row[0].get("version") != GENERATOR_VERSION:
        return None
    return row[0]


def drop_schema(dataset: str) -> None:
    conn = _connect()
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMAS[dataset]} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SCHEMAS[dataset]}")
    conn.close()


def ensure(dataset: str, *, fresh: bool = False) -> dict:
    """Make sure the data set exists (building it if needed) and return its meta."""
    ensure_database()
    write_gias_csv(dataset)
    meta = None if fresh else built_meta(dataset)
    if meta:
        print(f"[{dataset}] data present (generator v{GENERATOR_VERSION}, built {meta['built_at']}): reused.")
        # The code may have gained migrations (an index, say) since the data was built:
        # measure the schema the code expects.
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "--verbosity", "1"],
            check=True,
            cwd=ROOT,
            env=server_env(dataset),
        )
        return meta
    print(f"[{dataset}] building the data set from scratch ...", flush=True)
    drop_schema(dataset)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--build", dataset],
        check=True,
        cwd=ROOT,
    )
    meta = built_meta(dataset)
    if not meta:
        raise SystemExit(f"[{dataset}] the build finished without writing bench_meta.")
    print(f"[{dataset}] built in {time.perf_counter() - started:.0f} s.")
    return meta


# --- Building one data set (in a child process, Django set up on its schema) ---------------


class Copier:
    """Write rows to a model's table with COPY, with explicit ids."""

    def __init__(self, connection):
        self.connection = connection

    def copy(self, table: str, columns: list[str], rows) -> int:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        count = 0
        for row in rows:
            writer.writerow(["\\N" if value is None else _pg(value) for value in row])
            count += 1
        buffer.seek(0)
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        with self.connection.cursor() as cursor:
            cursor.cursor.copy_expert(sql, buffer)
        return count

    def copy_model(self, model, fields: list[str], rows) -> int:
        """COPY does not apply Django's defaults: every other concrete field with a default (one
        added since the generator was written, say) is written with it, so a NOT NULL column
        never receives NULL."""
        extra = [
            f
            for f in model._meta.concrete_fields
            if f.name not in fields and f.attname not in fields and f.has_default() and not f.primary_key
        ]
        columns = [model._meta.get_field(name).column for name in fields] + [f.column for f in extra]
        if extra:
            defaults = tuple(f.get_default() for f in extra)
            rows = (tuple(row) + defaults for row in rows)
        return self.copy(model._meta.db_table, columns, rows)


def _pg(value):
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


LOREM = (
    "Pupils in our partner schools have few chances to meet working scientists, and fewer than "
    "one in five of our primary teachers has a science background. We will build teachers' confidence "
    "in practical science through sustained CPD, shared resources and visits to local employers. "
)


def build(dataset: str) -> None:
    setup_django(dataset)
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from clusters.models import Cluster, ClusterMembership, CPDActivity, Feedback
    from grants.models import (
        Application,
        AuditEvent,
        BudgetLine,
        EndOfGrantReport,
        Payment,
        Review,
        ReviewerAssignment,
        Rubric,
        Score,
    )
    from partnerships.gias import import_gias
    from partnerships.models import Cohort, Membership, Partnership, Programme, School, SchoolLead
    from portal.roles import ADMINS_GROUP, LEADS_GROUP, STAFF_GROUP

    scale = SCALES[dataset]
    rng = random.Random(f"{SEED}-{dataset}")
    tick = time.perf_counter()

    def step(message):
        nonlocal tick
        now = time.perf_counter()
        print(f"[{dataset}]   {message} ({now - tick:.1f} s)", flush=True)
        tick = now

    call_command("migrate", verbosity=0, interactive=False)
    step("migrated")
    report = import_gias(csv_path(dataset))
    step(f"schools imported with import_gias: {report.summary()}")

    copier = Copier(connection)
    base = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with transaction.atomic():
        # --- Programmes and cohorts ---------------------------------------------------
        enthuse = Programme.objects.create(
            name="ENTHUSE Partnerships",
            slug="enthuse-partnerships",
            kind=Programme.Kind.PARTNERSHIPS,
            eligible_phases=["primary", "secondary", "all_through", "16_plus", "fe_college"],
        )
        aspire = Programme.objects.create(
            name="Aspire to STEM",
            slug="aspire-to-stem",
            kind=Programme.Kind.CLUSTERS,
            opportunity_areas_only=True,
        )
        cohorts = []
        years = list(range(2019, 2027))
        for year in years:
            cohorts.append(
                Cohort(
                    programme=enthuse,
                    name=f"{year}–{(year + 2) % 100:02d}",
                    starts_on=date(year, 9, 1),
                    ends_on=date(year + 2, 8, 31),
                    applications_open_at=datetime(year, 1, 10, 9, tzinfo=UTC),
                    applications_close_at=datetime(year, 5, 31, 17, tzinfo=UTC)
                    if year < 2026
                    else datetime(2026, 8, 31, 17, tzinfo=UTC),
                    budget=Decimal(0),
                )
            )
        for year in (2024, 2025):
            cohorts.append(
                Cohort(
                    programme=aspire,
                    name=f"Aspire {year}",
                    starts_on=date(year, 9, 1),
                    ends_on=date(year + 2, 8, 31),
                    applications_open_at=datetime(year, 1, 10, 9, tzinfo=UTC),
                    applications_close_at=datetime(year, 5, 31, 17, tzinfo=UTC),
                    budget=Decimal("250000.00"),
                )
            )
        cohorts = Cohort.objects.bulk_create(cohorts)
        enthuse_cohorts, aspire_cohorts = cohorts[:8], cohorts[8:]
        step("programmes and cohorts")

        # --- Users -----------------------------------------------------------------------
        password = make_password(BENCH_PASSWORD)
        groups = {g.name: g.pk for g in Group.objects.all()}
        user_rows, group_rows = [], []
        next_user = [1]

        def add_user(username, first, last, group, *, is_staff=False):
            pk = next_user[0]
            next_user[0] += 1
            user_rows.append(
                (
                    pk,
                    password,
                    False,
                    username,
                    first,
                    last,
                    f"{username}@bench.example.org",
                    is_staff,
                    True,
                    base,
                )
            )
            group_rows.append((pk, pk, groups[group]))
            return pk

        staff_ids = [add_user(f"staff_bench_{n}", "Staff", f"Member {n}", STAFF_GROUP) for n in range(1, 7)]
        [  # admins
            add_user(f"admin_bench_{n}", "Admin", f"User {n}", ADMINS_GROUP, is_staff=True)
            for n in range(1, 3)
        ]

        # --- Partnerships and memberships ---------------------------------------------------
        eligible = list(
            School.objects.filter(
                is_open=True, funding="state", phase__in=["primary", "secondary", "all_through", "16_plus"]
            )
            .order_by("urn")
            .values_list("pk", "urn", "name")
        )
        weights = [6, 8, 10, 12, 13, 14, 16, 21]
        per_cohort = [round(scale.partnerships * w / sum(weights)) for w in weights]
        per_cohort[-1] += scale.partnerships - sum(per_cohort)
        partnerships = []  # (pk, cohort, lead_school_pk, [school pks], status, app_status, year)
        membership_rows, lead_rows = [], []
        lead_user_by_school: dict[int, int] = {}
        partnership_rows = []
        pid = mid = 0
        statuses_by_age = {
            "old": [("completed", 55), ("rejected", 25), ("withdrawn", 10), ("approved", 10)],
            "mid": [("approved", 50), ("completed", 20), ("rejected", 20), ("withdrawn", 10)],
            "current": [
                ("draft", 15),
                ("submitted", 40),
                ("changes_requested", 15),
                ("approved", 15),
                ("rejected", 10),
                ("withdrawn", 5),
            ],
        }
        every_state = [
            "draft",
            "submitted",
            "changes_requested",
            "approved",
            "rejected",
            "withdrawn",
            "completed",
        ]
        for cohort, count, year in zip(enthuse_cohorts, per_cohort, years, strict=True):
            pool = eligible[:]
            rng.shuffle(pool)
            age = "old" if year <= 2022 else "mid" if year <= 2024 else "current"
            for index in range(count):
                size = rng.randint(5, 8)
                members, pool = pool[:size], pool[size:]
                pid += 1
                if year == years[-1] and index < len(every_state):
                    app_status = every_state[index]  # every state, whatever the scale
                else:
                    app_status = _weighted(rng, statuses_by_age[age])
                p_status = {
                    "completed": "completed",
                    "approved": "active",
                    "rejected": "withdrawn",
                    "withdrawn": "withdrawn",
                }.get(app_status, "forming")
                lead_pk, lead_urn, lead_name = members[0]
                if lead_pk not in lead_user_by_school:
                    user_pk = add_user(f"lead_{lead_urn}", "Lead", f"of {lead_urn}", LEADS_GROUP)
                    lead_user_by_school[lead_pk] = user_pk
                    lead_rows.append((user_pk, lead_pk, "Head of science", base))
                created_by = lead_user_by_school[lead_pk]
                created = datetime(year, 2, 1, tzinfo=UTC) + timedelta(hours=pid % 1000)
                partnership_rows.append(
                    (
                        pid,
                        cohort.pk,
                        f"{lead_name.split(' ')[0]} STEM Partnership {pid}",
                        lead_pk,
                        LOREM[: rng.randint(120, len(LOREM))],
                        p_status,
                        created_by,
                        created,
                        created,
                    )
                )
                school_pks = []
                for position, (school_pk, _urn, _name) in enumerate(members):
                    mid += 1
                    if position == 0:
                        role, status = "lead", "confirmed"
                    else:
                        role = "partner"
                        status = (
                            "confirmed"
                            if app_status != "draft"
                            else _weighted(rng, [("confirmed", 70), ("invited", 25), ("declined", 5)])
                        )
                        if app_status != "draft" and rng.random() < 0.02:
                            status = "declined"
                    if status != "declined":
                        school_pks.append(school_pk)
                    membership_rows.append(
                        (
                            mid,
                            pid,
                            school_pk,
                            cohort.pk,
                            role,
                            status,
                            created_by,
                            created,
                            created_by if status != "invited" else None,
                            created + timedelta(days=3) if status != "invited" else None,
                        )
                    )
                partnerships.append((pid, cohort, lead_pk, school_pks, p_status, app_status, year))

        copier.copy_model(
            User,
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
            user_rows,
        )
        copier.copy(User.groups.through._meta.db_table, ["id", "user_id", "group_id"], group_rows)
        enthuse.staff.set(staff_ids[:4])
        aspire.staff.set(staff_ids[4:])
        copier.copy_model(SchoolLead, ["user", "school", "role_at_school", "verified_at"], lead_rows)
        copier.copy_model(
            Partnership,
            [
                "id",
                "cohort",
                "name",
                "lead_school",
                "local_stem_issue",
                "status",
                "created_by",
                "created_at",
                "updated_at",
            ],
            partnership_rows,
        )
        copier.copy_model(
            Membership,
            [
                "id",
                "partnership",
                "school",
                "cohort",
                "role",
                "status",
                "invited_by",
                "invited_at",
                "responded_by",
                "responded_at",
            ],
            membership_rows,
        )
        step(
            f"{len(user_rows)} users, {len(partnership_rows)} partnerships, "
            f"{len(membership_rows)} memberships"
        )

        # --- Clusters (Aspire to STEM, Opportunity Areas) -------------------------------------
        oa_schools = list(
            School.objects.filter(is_open=True, funding="state")
            .exclude(opportunity_area="")
            .order_by("urn")
            .values_list("pk", flat=True)
        )
        clusters = []  # (pk, cohort, [school pks])
        cluster_rows, cluster_member_rows = [], []
        cmid = 0
        for cohort in aspire_cohorts:
            pool = oa_schools[:]
            rng.shuffle(pool)
            for _n in range(scale.clusters // len(aspire_cohorts)):
                members, pool = pool[:5], pool[5:]
                cpk = len(clusters) + 1
                cluster_rows.append((cpk, cohort.pk, f"Aspire cluster {cpk}", "active", base, base))
                for school_pk in members:
                    cmid += 1
                    cluster_member_rows.append((cmid, cpk, school_pk, cohort.pk, base))
                clusters.append((cpk, cohort, members))
        copier.copy_model(
            Cluster, ["id", "cohort", "name", "status", "created_at", "updated_at"], cluster_rows
        )
        copier.copy_model(
            ClusterMembership, ["id", "cluster", "school", "cohort", "joined_at"], cluster_member_rows
        )
        step(f"{len(cluster_rows)} clusters")

        # --- CPD activities, the schools taking part, feedback ----------------------------------
        kinds = [("teacher_cpd", 60), ("student_activity", 30), ("enrichment", 10)]
        focus = ["leadership", "great_teaching", "science_capital", "careers_guidance"]
        hours_choices = [Decimal(h) for h in ("1.0", "1.5", "2.0", "3.0", "6.0", "12.0")]
        activity_rows, activity_school_rows, teacher_cpd = [], [], []
        runs_activities = [p for p in partnerships if p[5] in ("approved", "completed", "submitted")]
        cluster_share = max(1, scale.activities // 25)
        asid = 0
        for apk in range(1, scale.activities + 1):
            if apk <= cluster_share:
                cpk, cohort, school_pks = clusters[apk % len(clusters)]
                parent = (None, cpk)
                area = rng.choice(focus)
            else:
                ppk, cohort, _lead, school_pks, *_rest = runs_activities[apk % len(runs_activities)]
                parent = (ppk, None)
                area = rng.choice(focus + [""] * 4)
            kind = _weighted(rng, kinds)
            held = cohort.starts_on + timedelta(days=rng.randint(0, 700))
            teachers = rng.randint(1, 30) if kind == "teacher_cpd" else rng.randint(0, 5)
            students = rng.randint(10, 250) if kind != "teacher_cpd" else 0
            stamp = datetime(held.year, held.month, held.day, 16, tzinfo=UTC)
            activity_rows.append(
                (
                    apk,
                    *parent,
                    kind,
                    f"{kind.replace('_', ' ').capitalize()} session {apk}",
                    "",
                    held,
                    rng.choice(hours_choices),
                    teachers,
                    students,
                    area,
                    None,
                    stamp,
                    stamp,
                )
            )
            for school_pk in rng.sample(school_pks, k=min(len(school_pks), rng.randint(1, 3))):
                asid += 1
                activity_school_rows.append((asid, apk, school_pk))
            if kind == "teacher_cpd":
                teacher_cpd.append((apk, stamp))
        copier.copy_model(
            CPDActivity,
            [
                "id",
                "partnership",
                "cluster",
                "kind",
                "title",
                "description",
                "held_on",
                "hours",
                "teachers_reached",
                "students_reached",
                "focus_area",
                "created_by",
                "created_at",
                "updated_at",
            ],
            activity_rows,
        )
        copier.copy(
            CPDActivity.schools.through._meta.db_table,
            ["id", "cpdactivity_id", "school_id"],
            activity_school_rows,
        )
        step(f"{len(activity_rows)} activities, {len(activity_school_rows)} activity schools")

        ratings = [(1, 3), (2, 7), (3, 20), (4, 40), (5, 30)]
        feedback_rows = []
        for fpk in range(1, scale.feedback + 1):
            apk, stamp = rng.choice(teacher_cpd)
            feedback_rows.append(
                (
                    fpk,
                    apk,
                    _weighted(rng, ratings),
                    _weighted(rng, ratings),
                    _weighted(rng, ratings),
                    _weighted(rng, ratings),
                    rng.random() < 0.7,
                    "" if rng.random() < 0.9 else "Very practical; I used it the next day.",
                    stamp + timedelta(days=rng.randint(0, 14)),
                )
            )
        copier.copy_model(
            Feedback,
            [
                "id",
                "activity",
                "engaging_ideas",
                "hands_on",
                "sharing_across_schools",
                "overall_usefulness",
                "expects_more_cpd",
                "comments",
                "submitted_at",
            ],
            feedback_rows,
        )
        step(f"{len(feedback_rows)} feedback rows")

        # --- Applications, budget, audit trail, scores, payments, reports ----------------------
        app_rows, line_rows, audit_rows, score_rows, payment_rows, report_rows = [], [], [], [], [], []
        categories = ["supply_cover", "travel", "resources", "external_provider", "other"]
        criteria = ["need", "partnership_strength", "cpd_quality", "value_for_money"]
        budgets: dict[int, Decimal] = {}
        line_id = audit_id = score_id = pay_id = 0
        # Issue 17's reviews: a rubric per programme, two current reviews (and two assignments) per
        # application past submission, drawn from their own generator so the other rows stay as they were.
        review_rng = random.Random(SEED + 17)
        rubrics: dict[int, int] = {}
        review_rows, assignment_rows = [], []
        for ppk, cohort, _lead, _schools, _p_status, app_status, year in partnerships:
            lead_user = lead_user_by_school[_lead]
            reviewer = staff_ids[ppk % 4]
            created = datetime(year, 2, 1, tzinfo=UTC) + timedelta(hours=ppk % 1000)
            submitted = None if app_status == "draft" else created + timedelta(days=rng.randint(10, 60))
            decided = (
                submitted + timedelta(days=rng.randint(20, 50))
                if app_status in ("approved", "rejected", "completed")
                else None
            )
            requested = Decimal(rng.randint(400, 1200) * 10)
            if app_status == "draft" and rng.random() < 0.3:
                requested = Decimal(0)
            awarded = None
            if app_status in ("approved", "completed"):
                awarded = (requested * Decimal(rng.choice(["1", "1", "0.9", "0.8"]))).quantize(
                    Decimal("1.00")
                )
                budgets[cohort.pk] = budgets.get(cohort.pk, Decimal(0)) + awarded
            reference = None if app_status == "draft" else f"ENT-{year}-{ppk:05d}"
            app_rows.append(
                (
                    ppk,
                    reference,
                    ppk,
                    cohort.pk,
                    app_status,
                    LOREM,
                    LOREM[:200],
                    LOREM[:300],
                    LOREM[:250],
                    "Autumn: audit and plan. Spring: CPD. Summer: student projects and review.",
                    app_status != "draft",
                    app_status != "draft",
                    app_status != "draft",
                    Decimal("12000.00"),
                    requested,
                    awarded,
                    5 if app_status != "draft" else rng.randint(1, 4),
                    lead_user,
                    created,
                    decided or submitted or created,
                    submitted,
                    decided,
                )
            )
            # Budget lines summing to the amount requested.
            remaining = requested
            n_lines = rng.randint(2, 5)
            for index in range(n_lines):
                line_id += 1
                amount = (
                    remaining
                    if index == n_lines - 1
                    else (remaining * Decimal(rng.randint(20, 50)) / 100).quantize(Decimal("1.00"))
                )
                remaining -= amount
                if amount > 0:  # budgetline_amount_gt_0 (an application asking for nothing has no lines)
                    line_rows.append((line_id, ppk, categories[index % 5], amount, f"Line {index + 1}"))

            def audit(action, from_status, to_status, by, at, comment="", ppk=ppk):
                nonlocal audit_id
                audit_id += 1
                audit_rows.append((audit_id, ppk, by, at, action, from_status, to_status, comment))

            audit(
                "created",
                "",
                "draft",
                lead_user,
                created,
            )
            if submitted:
                audit("submitted", "draft", "submitted", lead_user, submitted)
            if app_status == "changes_requested":
                audit(
                    "changes_requested",
                    "submitted",
                    "changes_requested",
                    reviewer,
                    submitted + timedelta(days=9),
                    "Please itemise the supply cover.",
                )
            if app_status == "withdrawn":
                audit(
                    "withdrawn",
                    "submitted" if submitted else "draft",
                    "withdrawn",
                    lead_user,
                    (submitted or created) + timedelta(days=5),
                )
            if submitted and app_status != "withdrawn":
                if cohort.programme_id not in rubrics:
                    rubrics[cohort.programme_id] = Rubric.objects.create(
                        programme_id=cohort.programme_id, version=1, scale_max=5
                    ).pk
                for n in range(2):
                    who = staff_ids[(ppk + n) % len(staff_ids)]
                    at = submitted + timedelta(days=3 + n)
                    assignment_rows.append((len(assignment_rows) + 1, ppk, who, "auto", True, at, None))
                    review_rows.append(
                        (
                            len(review_rows) + 1,
                            ppk,
                            who,
                            rubrics[cohort.programme_id],
                            review_rng.choice(["fund", "fund_with_changes", "do_not_fund"]),
                            "",
                            "",
                            Decimal(review_rng.randint(1000, 5000)) / 1000,
                            True,
                            at + timedelta(days=2),
                        )
                    )
            if decided:
                to = "rejected" if app_status == "rejected" else "approved"
                audit(to, "submitted", to, reviewer, decided)
                for criterion in criteria:
                    score_id += 1
                    score_rows.append((score_id, ppk, reviewer, criterion, rng.randint(2, 5), "", decided))
            if app_status in ("approved", "completed"):
                first = (awarded * Decimal("0.5")).quantize(Decimal("1.00"))
                pay_id += 1
                payment_rows.append(
                    (pay_id, ppk, 1, first, "on_approval", "paid", decided, decided + timedelta(days=7))
                )
                pay_id += 1
                done = app_status == "completed"
                final_at = decided + timedelta(days=600)
                payment_rows.append(
                    (
                        pay_id,
                        ppk,
                        2,
                        awarded - first,
                        "on_final_report",
                        "paid" if done else "scheduled",
                        final_at if done else None,
                        final_at + timedelta(days=7) if done else None,
                    )
                )
                if done:
                    audit("completed", "approved", "completed", reviewer, final_at)
                    report_rows.append(
                        (
                            len(report_rows) + 1,
                            ppk,
                            "accepted",
                            rng.randint(10, 80),
                            rng.randint(100, 900),
                            LOREM[:300],
                            json.dumps(["Supply cover was hard to find"]),
                            json.dumps(["A named lead in every school"]),
                            "",
                            final_at - timedelta(days=20),
                            final_at,
                            final_at,
                        )
                    )
        # Budget lines first: an awarded grant's lines are frozen (PG trigger
        # budgetline_frozen_after_award); the foreign key to the application is checked at commit.
        copier.copy_model(BudgetLine, ["id", "application", "category", "amount", "note"], line_rows)
        copier.copy_model(
            Application,
            [
                "id",
                "reference",
                "partnership",
                "cohort",
                "status",
                "aims",
                "local_stem_issue",
                "planned_teacher_cpd",
                "planned_student_activities",
                "timeline",
                "declaration_accurate",
                "declaration_state_funded",
                "declaration_data_sharing",
                "grant_cap",
                "requested",
                "awarded",
                "current_step",
                "created_by",
                "created_at",
                "updated_at",
                "submitted_at",
                "decided_at",
            ],
            app_rows,
        )
        copier.copy_model(
            AuditEvent,
            ["id", "application", "actor", "at", "action", "from_status", "to_status", "comment"],
            audit_rows,
        )
        copier.copy_model(
            Score, ["id", "application", "reviewer", "criterion", "score", "comment", "scored_at"], score_rows
        )
        copier.copy_model(
            ReviewerAssignment,
            ["id", "application", "reviewer", "how", "active", "assigned_at", "ended_at"],
            assignment_rows,
        )
        copier.copy_model(
            Review,
            [
                "id",
                "application",
                "reviewer",
                "rubric",
                "recommendation",
                "comment",
                "private_note",
                "weighted_score",
                "is_current",
                "submitted_at",
            ],
            review_rows,
        )
        copier.copy_model(
            Payment,
            [
                "id",
                "application",
                "sequence",
                "amount",
                "trigger",
                "status",
                "released_at",
                "paid_at",
                "paid_amount",
                "reclaimed_amount",
                "reason",
            ],
            # paid_amount (issue 19): a paid instalment was paid in full, a scheduled one not at all.
            [
                (*row, row[3] if row[5] == "paid" else Decimal("0.00"), Decimal("0.00"), "")
                for row in payment_rows
            ],
        )
        copier.copy_model(
            EndOfGrantReport,
            [
                "id",
                "application",
                "status",
                "teachers_reached",
                "students_reached",
                "outcomes",
                "barriers",
                "facilitators",
                "staff_comment",
                "submitted_at",
                "decided_at",
                "updated_at",
                "kind",
                "impact",
            ],
            [(*row, "final", "{}") for row in report_rows],  # kind and impact: later fields (issues 18, 19)
        )
        # Each ENTHUSE cohort's budget: what it awarded plus a fifth in hand.
        for cohort in enthuse_cohorts:
            awarded_total = budgets.get(cohort.pk, Decimal(0))
            cohort.budget = (awarded_total * Decimal("1.2") + Decimal("12000")).quantize(Decimal("1.00"))
        Cohort.objects.bulk_update(enthuse_cohorts, ["budget"])
        step(
            f"{len(app_rows)} applications, {len(line_rows)} budget lines, {len(audit_rows)} audit events, "
            f"{len(payment_rows)} payments, {len(report_rows)} end-of-grant reports, "
            f"{len(review_rows)} reviews"
        )

        models = [
            User,
            Group,
            SchoolLead,
            Partnership,
            Membership,
            Cluster,
            ClusterMembership,
            CPDActivity,
            Feedback,
            Application,
            BudgetLine,
            AuditEvent,
            Score,
            Payment,
            EndOfGrantReport,
            Rubric,
            Review,
            ReviewerAssignment,
        ]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)
            for through in (User.groups.through, CPDActivity.schools.through):
                table = through._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
                )

        # What the benchmarks need to know about the cast, and the proof this set is complete.
        sizes = {}
        for _ppk, cohort, *_rest in partnerships:
            sizes[cohort.pk] = sizes.get(cohort.pk, 0) + 1
        largest = max(sizes, key=lambda pk: (sizes[pk], pk))
        urn_of = dict(School.objects.filter(pk__in=lead_user_by_school).values_list("pk", "urn"))
        lead_apps = [
            {
                "username": f"lead_{urn_of[lead]}",
                "application": ppk,
                "status": app_status,
                "cohort": cohort.pk,
            }
            for ppk, cohort, lead, _s, _ps, app_status, _y in partnerships
        ]
        meta = {
            "version": GENERATOR_VERSION,
            "seed": SEED,
            "dataset": dataset,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "password": BENCH_PASSWORD,
            "cohorts": [c.pk for c in cohorts],
            "largest_cohort": largest,
            "largest_cohort_partnerships": sizes[largest],
            "enthuse_programme": enthuse.pk,
            "staff": [f"staff_bench_{n}" for n in range(1, 5)],
            "aspire_staff": [f"staff_bench_{n}" for n in range(5, 7)],
            "admins": ["admin_bench_1", "admin_bench_2"],
            "leads": lead_apps,
            "counts": {
                "schools": School.objects.count(),
                "cohorts": len(cohorts),
                "partnerships": len(partnership_rows),
                "memberships": len(membership_rows),
                "clusters": len(cluster_rows),
                "activities": len(activity_rows),
                "activity_schools": len(activity_school_rows),
                "feedback": len(feedback_rows),
                "applications": len(app_rows),
                "budget_lines": len(line_rows),
                "audit_events": len(audit_rows),
                "payments": len(payment_rows),
                "users": len(user_rows),
                "gias_rejected": len(report.rejected),
            },
        }
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
            cursor.execute("INSERT INTO bench_meta VALUES ('meta', %s)", [json.dumps(meta)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    step("sequences reset, analysed")
    print(f"[{dataset}] {json.dumps(meta['counts'])}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the data set(s)")
    parser.add_argument("--dataset", choices=[*SCALES, "all"], default="all")
    parser.add_argument("--build", choices=list(SCALES), help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.build:
        build(args.build)
        return
    for dataset in SCALES if args.dataset == "all" else [args.dataset]:
        ensure(dataset, fresh=args.fresh)


if __name__ == "__main__":
    main()
