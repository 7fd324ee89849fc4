"""The backup and restore procedure of docs/operations.md, tried on PostgreSQL."""

import subprocess
from pathlib import Path

import pytest
from django.db import connection

from grants.models import Application, AuditEvent, BudgetLine
from partnerships.models import Membership, School
from tests.factories import ApplicationFactory, BudgetLineFactory

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
TABLES = [School, Membership, Application, BudgetLine, AuditEvent]


def _url(name: str) -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_into_an_empty_database_keeps_every_row(tmp_path, staff_carol):
    application = ApplicationFactory()
    BudgetLineFactory(application=application)
    AuditEvent.record(
        application, by=staff_carol, action="submitted", from_status="draft", to_status="submitted"
    )
    counts = {model: model.objects.count() for model in TABLES}
    source = connection.settings_dict["NAME"]
    restored = f"{source}_restored"
    dump = tmp_path / "portal.dump"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            [SCRIPTS / "backup.sh", _url(source), dump], check=True, capture_output=True, timeout=120
        )
        subprocess.run(
            [SCRIPTS / "restore.sh", dump, _url(restored)], check=True, capture_output=True, timeout=120
        )

        for model, expected in counts.items():
            query = f"SELECT count(*) FROM {model._meta.db_table}"
            out = subprocess.run(
                ["psql", _url(restored), "-tAc", query], check=True, capture_output=True, text=True
            )
            assert int(out.stdout) == expected, model.__name__
        assert counts[Application] == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
