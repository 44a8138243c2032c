"""A real Celery worker process, through Redis, classifies a case uploaded through the API."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from allreview.cases.models import Case, CaseStatus, Prediction
from tests.paths import REPO

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings, tmp_path):
    """Start `celery worker` on the test database and a clean Redis queue; stop it afterwards."""
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "allreview",
            "worker",
            "-Q",
            "default,inference,training",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-n",
            "e2e@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(case_id: int, statuses: set[str], timeout: float) -> Case:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        case = Case.objects.get(pk=case_id)
        if case.status in statuses:
            return case
        time.sleep(0.5)
    raise AssertionError(
        f"case {case_id} still {Case.objects.get(pk=case_id).status} after {timeout}s"
    )


def test_worker_classifies_an_uploaded_case(
    production_model, alice, lab_a, cell_bytes, worker, tmp_path
):
    api = APIClient()
    api.force_authenticate(alice)
    files = []
    for i in range(12):
        handle = io.BytesIO(cell_bytes(100 + i, label="all" if i < 6 else "hem"))
        handle.name = f"cell_{i}.png"
        files.append(handle)
    response = api.post(
        "/api/v1/cases/",
        {"project": lab_a.pk, "patient_code": "E2E-1", "files": files},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    case_id = response.json()["id"]
    try:
        case = wait_for(case_id, {CaseStatus.READY, CaseStatus.FAILED}, timeout=180)
    except AssertionError:
        print((tmp_path / "worker.log").read_text()[-5000:])
        raise
    assert case.status == CaseStatus.READY, case.status_detail
    assert (
        Prediction.objects.filter(cell__case_id=case_id, model_version=production_model).count()
        == 12
    )
    body = api.get(f"/api/v1/cases/{case_id}/cells/").json()
    assert all(cell["probability"] is not None for cell in body["results"])
