"""Pushes through a real Celery worker and Redis: one FHIR server fails twice then accepts, the
other always fails; Celery's retries with backoff deliver the first and give up on the second,
whose failure shows on its case."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from fhir.resources.R4B.bundle import Bundle

from allreview.interop import services
from allreview.interop.models import FhirPush, PushStatus
from allreview.projects.models import Role
from allreview.review.services.readers import case_reader_add
from allreview.review.services.signoff import case_sign_off
from tests.factories import (
    CaseFactory,
    CellFactory,
    MembershipFactory,
    ModelVersionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.interop.fhir_server import fhir_server
from tests.interop.helpers import CALLS, label_as, login
from tests.ops.procs import worker_args

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(settings, tmp_path) -> Iterator[Path]:
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "FHIR_PUSH_BACKOFF_SECONDS": "1",
        "FHIR_PUSH_MAX_ATTEMPTS": "3",
    }
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        worker_args("fhir", "default"),
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    yield log
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _signed_case_in(name: str, url: str):
    project = ProjectFactory(name=name)
    admin = UserFactory(username=f"admin-{name}")
    reader = UserFactory(username=f"reader-{name}")
    MembershipFactory(project=project, user=admin, role=Role.ADMIN)
    MembershipFactory(project=project, user=reader, role=Role.REVIEWER)
    services.fhir_endpoint_set(project=project, user=admin, base_url=url, push_enabled=True)
    case = CaseFactory(project=project, patient_code=f"{name}-1")
    CellFactory.create_for_case(case, 10, model_version=ModelVersionFactory(name=f"m-{name}"))
    case_reader_add(case=case, user=admin, reader=reader)
    label_as(case, reader, CALLS)
    case_sign_off(case=case, user=reader)
    return case, reader


def _wait_settled(log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not FhirPush.objects.exclude(status__in=[PushStatus.SENT, PushStatus.FAILED]).exists():
            return
        time.sleep(0.5)
    raise AssertionError(
        f"pushes not settled: {list(FhirPush.objects.values())}\n{log.read_text()[-4000:]}"
    )


def test_worker_retries_a_flaky_server_and_gives_up_on_a_broken_one(worker):
    with fhir_server([503, 503, 201]) as flaky, fhir_server([500]) as broken:
        good_case, _ = _signed_case_in("flaky", flaky.base_url)
        bad_case, bad_reader = _signed_case_in("broken", broken.base_url)
        assert len(services.fhir_pushes_schedule()) == 2  # queued through Redis
        _wait_settled(worker)
    delivered = FhirPush.objects.get(case=good_case)
    assert delivered.status == PushStatus.SENT and delivered.attempts == 3
    assert len(flaky.received) == 3
    for post in flaky.received:  # every attempt carried the same valid bundle
        assert Bundle.model_validate_json(post.body).type == "collection"
    assert len({post.body for post in flaky.received}) == 1
    failed = FhirPush.objects.get(case=bad_case)
    assert failed.status == PushStatus.FAILED and failed.attempts == 3
    assert len(broken.received) == 3 and "HTTP 500" in failed.last_error
    page = login(bad_reader).get(f"/cases/{bad_case.pk}/").content.decode()
    assert "Failed" in page and "HTTP 500" in page
    log = worker.read_text()
    assert "retry in 1s" in log and "retry in 2s" in log
    assert "flaky-1" not in log and "broken-1" not in log  # no patient code in the logs
