"""Settings come from the environment, and a malformed value stops start-up naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-secret-for-the-check-deploy-test-only-0123456789",
    "ALLOWED_HOSTS": "portal.example.org",
    "DATABASE_URL": "postgres://portal@db:5432/portal",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "TEST_DATABASE"))}
    base.update({"DJANGO_SETTINGS_MODULE": "portal.settings", **env})
    for key in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS", "EMAIL_URL"):
        if key not in env:
            base.pop(key, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "banana"),
        ("DATABASE_URL", "mysql://root@localhost/portal"),
        ("CELERY_BROKER_URL", "http://localhost:6379"),
        ("CONN_MAX_AGE", "sixty"),
        ("ALLOWED_HOSTS", "a.example,,b.example"),
        ("EMAIL_URL", "pigeon://loft"),
        ("CACHE_URL", "memcached://127.0.0.1:11211"),
    ],
)
def test_malformed_setting_stops_start_up_naming_the_variable(variable, value):
    result = run_manage("check", **{variable: value})

    assert result.returncode != 0
    assert variable in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_requires_a_secret_key():
    result = run_manage("check", DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_runs_tasks_eagerly_on_sqlite():
    result = run_manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "False"),  # the embedded default: per-process memory, which a worker's writes never reach
        ({"CACHE_URL": "redis://127.0.0.1:6379/9"}, "True"),  # shared by every process
        ({"CACHE_URL": "redis://127.0.0.1:6379/9", "PAGE_CACHE": "false"}, "False"),
    ],
)
def test_the_page_cache_is_on_only_where_every_process_shares_the_cache(env, expected):
    result = run_manage(
        "shell", "-v", "0", "-c", "from django.conf import settings as s; print(s.PAGE_CACHE)", **env
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected]


def test_collectstatic_succeeds_with_production_settings(tmp_path):
    """The compose web service runs collectstatic with the manifest storage, which refuses
    files that reference missing ones (e.g. a vendored file's sourceMappingURL)."""
    result = run_manage("collectstatic", "--noinput", STATIC_ROOT=str(tmp_path), **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()
