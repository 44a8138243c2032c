"""Production mode without Docker: `check --deploy`, then gunicorn (with the compose file's
config), a Celery worker and beat on the real settings, PostgreSQL and Redis; a page and a
static file served, a case uploaded over HTTP and classified, logs in JSON without the patient."""

from __future__ import annotations

import json
import re
import sys

import pytest
from rest_framework.authtoken.models import Token

from allreview.cases.models import Case, CaseStatus, Prediction
from tests.ops.procs import (
    free_port,
    http,
    json_lines,
    manage,
    multipart,
    production_env,
    ready,
    running,
    wait_until,
    worker_args,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENT = "SMOKE-PATIENT-4711"


def test_check_deploy_is_clean_with_tls_settings(tmp_path, settings):
    # What a server runs with: the TLS redirect on (the servers below turn it off: no TLS here).
    env = production_env(tmp_path, settings.MEDIA_ROOT, SECURE_SSL_REDIRECT="true")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gunicorn_worker_and_beat_serve_and_classify(
    tmp_path, settings, production_model, alice, lab_a, cell_bytes
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = production_env(
        tmp_path,
        settings.MEDIA_ROOT,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        LOG_FORMAT="json",
        CLASSIFY_SWEEP_SECONDS="2",
    )
    collected = manage("collectstatic", "--noinput", env=env)
    assert collected.returncode == 0, collected.stderr
    token = Token.objects.create(user=alice).key
    specs = {
        "gunicorn": [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py",
                     "allreview.wsgi:application"],
        "worker": worker_args("smoke", "default,inference,training"),
        "beat": [sys.executable, "-m", "celery", "-A", "allreview", "beat", "--loglevel", "INFO",
                 "--schedule", str(tmp_path / "beat-schedule")],
    }  # fmt: skip
    with running(specs, env, tmp_path) as procs:
        wait_until("gunicorn readiness", lambda: ready(base), procs, timeout=90)

        status, _, page = http(f"{base}/login/")
        assert status == 200 and b"<form" in page
        css = re.search(rb'href="(/static/allreview\.[0-9a-f]+\.css)"', page)
        assert css, "the page links the hashed (manifest) stylesheet"
        status, headers, body = http(base + css.group(1).decode())
        assert status == 200 and len(body) > 100
        assert "immutable" in headers.get("Cache-Control", "")

        files = [("files", f"cell_{i}.png", cell_bytes(200 + i)) for i in range(6)]
        data, content_type = multipart({"project": str(lab_a.pk), "patient_code": PATIENT}, files)
        auth = {"Authorization": f"Token {token}"}
        status, _, body = http(
            f"{base}/api/v1/cases/", data, {**auth, "Content-Type": content_type}
        )
        assert status == 201, body
        case_id = json.loads(body)["id"]

        def classified() -> bool:
            return Case.objects.get(pk=case_id).status in {CaseStatus.READY, CaseStatus.FAILED}

        wait_until("classification", classified, procs, timeout=120)
        case = Case.objects.get(pk=case_id)
        assert case.status == CaseStatus.READY, case.status_detail
        assert Prediction.objects.filter(cell__case_id=case_id).count() == 6

        # A filter by patient code: its query string must not reach the access log.
        status, _, _ = http(f"{base}/api/v1/cases/?patient_code={PATIENT}", headers=auth)
        assert status == 200
        status, _, body = http(f"{base}/readyz")
        assert json.loads(body)["checks"]["model"]["status"] == "ok"
        wait_until(
            "beat's sweep reaching the worker",
            lambda: "cases_classify_waiting" in procs["worker"].text(),
            procs,
            timeout=30,
        )

    for name in ["gunicorn", "worker", "beat"]:
        text = procs[name].text()
        assert PATIENT not in text, f"{name} logged the patient code"
    access = [e for e in json_lines(procs["gunicorn"].text()) if e["logger"] == "gunicorn.access"]
    assert any("/api/v1/cases/" in str(e["message"]) for e in access)
    worker_entries = json_lines(procs["worker"].text())
    assert any(f"case {case_id} classified" in str(e["message"]) for e in worker_entries)
