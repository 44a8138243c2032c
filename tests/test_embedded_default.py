"""`make run`'s embedded default (SQLite and the filesystem broker) must work as PostgreSQL does:
migrate and build the demo, readers and labels included, in a fresh folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.paths import REPO

pytestmark = pytest.mark.slow


def test_migrate_and_demo_setup_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="allreview.settings",
        DEBUG="true",
        ALLREVIEW_VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="testserver",
    )
    for command in (["migrate", "--noinput"], ["demo_setup", "--skip-model"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert (tmp_path / "var" / "allreview.sqlite3").exists()
    assert "read by rita, sam" in result.stdout
    assert list((tmp_path / "var" / "broker" / "out").iterdir())  # five cases queued
    assert not (REPO / "control").exists()  # kombu's control folder stays under var/ too
    pages = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PAGES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pages.returncode == 0, pages.stdout[-2000:] + pages.stderr[-4000:]
    assert pages.stdout.strip().endswith("pages ok")


# Every page that runs a heavy query (final labels, reads, tallies), rendered on SQLite.
PAGES = """
from django.contrib.auth import get_user_model
from django.test import Client
from allreview.cases.models import Case
client = Client()
client.force_login(get_user_model().objects.get(username="admin"))
case = Case.objects.get(patient_code="DEMO-003")
p = case.project_id
for url in ["/", "/projects/", f"/cases/{case.pk}/", f"/projects/{p}/training/",
            f"/projects/{p}/models/", f"/projects/{p}/drift/", f"/projects/{p}/agreement/",
            f"/projects/{p}/adjudication/", f"/audit/projects/{p}/", f"/api/v1/cases/{case.pk}/cells/"]:
    status = client.get(url).status_code
    assert status == 200, (url, status)
for url in [f"/exports/{p}/cells.csv", f"/exports/{p}/cells.json"]:
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content), url
print("pages ok")
"""
