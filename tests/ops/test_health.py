"""Health and readiness: database, migrations, broker and production model, through Django,
through the gunicorn-side probe wrapper, and from `manage.py health`."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from allreview.celery import app as celery_app
from allreview.ops import health
from allreview.wsgi import with_probes

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_broker(monkeypatch):
    # Nothing listens on port 1: the broker check must fail, quickly.
    dead = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(celery_app, "connection_for_write", lambda: celery_app.connection(dead))


def test_liveness_touches_nothing_and_is_ok(client, broken_broker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_ready_without_model_warns_but_serves(client):
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "ok",
        "migrations": "ok",
        "broker": "ok",
        "model": "warn",
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_ready_says_the_model_is_available_without_naming_it(client, production_model):
    response = client.get("/readyz")
    body = response.json()
    assert body["checks"]["model"]["status"] == "ok"
    assert body["checks"]["model"]["detail"] == "production model available"
    assert production_model.name not in response.content.decode()


def test_the_health_command_names_the_model_for_the_operator(production_model):
    assert health.readiness(["model"]).checks[0].detail == f"{production_model.name} loadable"


def test_model_check_can_load_it(production_model, settings):
    settings.MODEL_DEVICE = "cpu"
    result = health.check_model(load=True)
    assert result.detail == f"{production_model.name} loaded"


def test_missing_checkpoint_makes_it_not_ready(client, production_model):
    default_storage.delete(production_model.checkpoint.name)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["model"]["detail"] == "production model not available"
    assert production_model.name not in response.content.decode()


def test_broker_down_makes_it_not_ready_and_names_only_the_error_type(client, broken_broker):
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "fail"
    assert "127.0.0.1" not in broker["detail"] and broker["detail"]


def test_unapplied_migrations_make_it_not_ready(monkeypatch):
    monkeypatch.setattr(health, "_migrated", set())
    monkeypatch.setattr(
        health.MigrationExecutor, "migration_plan", lambda self, targets: [("x", False)]
    )
    result = health.run_check("migrations", health.check_migrations)
    assert result.status == "fail" and "1 unapplied" in result.detail


def call_wsgi(app, path: str, host: str = "allreview.lab.example") -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        seen["status"] = status

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": host,
        "SERVER_PORT": "8000",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    body = b"".join(app(environ, start_response))
    return seen["status"], body


def test_wsgi_probes_answer_before_host_and_tls_checks(settings, monkeypatch):
    from django.core.wsgi import get_wsgi_application

    # As Django's test client does: closing connections would end the test's transaction.
    monkeypatch.setattr("allreview.wsgi.close_old_connections", lambda: None)
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["allreview.lab.example"]
    app = with_probes(get_wsgi_application())
    status, body = call_wsgi(app, "/readyz", host="127.0.0.1")
    assert status == "200 OK"
    assert json.loads(body)["checks"]["database"]["status"] == "ok"
    # Every other path still meets Django's checks: an unknown host is refused...
    assert call_wsgi(app, "/login/", host="127.0.0.1")[0].startswith("400")
    # ...and plain http is sent to https.
    assert call_wsgi(app, "/login/")[0].startswith("301")


def test_health_command_prints_report_and_fails_on_a_broken_check(broken_broker):
    out = io.StringIO()
    call_command("health", "--check", "database", stdout=out)
    assert json.loads(out.getvalue())["checks"]["database"]["status"] == "ok"
    with pytest.raises(CommandError):
        call_command("health", "--check", "broker", stdout=io.StringIO())


def test_migrate_locked_is_a_no_op_on_a_migrated_database():
    out = io.StringIO()
    call_command("migrate_locked", stdout=out)
    assert "No migrations to apply" in out.getvalue()


def test_admin_ensure_creates_once_and_prints_a_generated_password(monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    first = io.StringIO()
    call_command("admin_ensure", "--username", "root", stdout=first)
    password = first.getvalue().split("store it now): ")[1].strip()
    user = get_user_model().objects.get(username="root")
    assert user.is_superuser and user.check_password(password)
    again = io.StringIO()
    call_command("admin_ensure", "--username", "root", stdout=again)
    assert "left unchanged" in again.getvalue() and password not in again.getvalue()


def test_admin_ensure_takes_the_password_from_the_environment(monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-chosen-password-42")
    out = io.StringIO()
    call_command("admin_ensure", "--username", "lead", stdout=out)
    assert "a-long-chosen" not in out.getvalue()
    assert get_user_model().objects.get(username="lead").check_password("a-long-chosen-password-42")
