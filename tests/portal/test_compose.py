"""docker-compose.yml cannot run here (no Docker engine); keep it parseable and consistent."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_five_services_with_health_checks():
    services = compose()["services"]

    assert set(services) == {"web", "worker", "beat", "db", "redis"}
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    for name in ("db", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert "pgdata" in compose()["volumes"]


def test_web_and_worker_wait_for_healthy_db_and_redis():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_every_compose_variable_is_one_the_settings_read():
    # gunicorn's own variables (processes, threads) are read by gunicorn.conf.py
    source = (ROOT / "portal" / "settings.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    for name in compose()["services"]["web"]["environment"]:
        assert f'"{name}"' in source, (
            f"{name} is set in compose but never read by settings or gunicorn.conf.py"
        )


def test_web_migrates_and_collects_static_on_start():
    command = compose()["services"]["web"]["command"]
    assert "migrate --noinput" in command
    assert "collectstatic --noinput" in command
    assert "gunicorn -c gunicorn.conf.py portal.wsgi:application" in command
