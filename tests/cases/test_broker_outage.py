"""A broker outage during an upload or a saliency request: committed work stays, nobody gets a 500,
and the beat sweep sends what was never sent. The broker is really down: a Redis URL on a port
nothing listens on (`broker_down`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from allreview.cases import classification
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Cell, Prediction
from allreview.cases.services import QUEUE_UNREACHABLE_NOTICE, case_upload
from allreview.lib.queueing import task_send
from tests.factories import PredictionFactory

# on_commit must really run after a real commit: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _named(name: str, content: bytes) -> io.BytesIO:
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_task_send_reports_a_refused_send_without_raising(broker_down, caplog):
    from allreview.cases.tasks import case_classify

    assert task_send(case_classify, 41) is False
    assert "could not queue allreview.cases.tasks.case_classify[41]" in caplog.text


def test_page_upload_with_the_broker_down_keeps_files_and_rows_and_shows_the_case(
    alice, lab_a, cell_bytes, settings, broker_down
):
    client = Client()
    client.force_login(alice)
    data = {
        "project": lab_a.pk,
        "patient_code": "P-77",
        "files": [_named("a.png", cell_bytes(1)), _named("b.png", cell_bytes(2))],
    }
    response = client.post("/cases/new/", data)
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.status == CaseStatus.QUEUED and case.enqueued_at is None
    assert case.status_detail == QUEUE_UNREACHABLE_NOTICE
    assert Cell.objects.filter(case=case).count() == 2
    # originals, thumbnails, model input crops and the thumbnail pack: all still there
    assert len(_stored_files(settings)) == 2 * 3 + 1
    page = client.get(response["Location"]).content.decode()
    assert "task queue could not be reached" in page


def test_api_upload_with_the_broker_down_answers_201_with_the_notice(
    alice, lab_a, cell_bytes, settings, broker_down
):
    api = APIClient()
    api.force_authenticate(alice)
    data = {"project": lab_a.pk, "patient_code": "P-78", "files": [_named("a.png", cell_bytes(1))]}
    response = api.post("/api/v1/cases/", data, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["status_detail"] == QUEUE_UNREACHABLE_NOTICE
    assert len(_stored_files(settings)) == 3 + 1


def test_the_sweep_sends_a_never_sent_case_and_it_is_classified_once(
    alice, lab_a, cell_bytes, settings, production_model, monkeypatch, broker_down
):
    from allreview.cases import tasks

    files = [IncomingFile(f"{i}.png", cell_bytes(i)) for i in range(3)]
    case = case_upload(project=lab_a, user=alice, patient_code="P-79", files=files)
    assert Case.objects.get(pk=case.pk).enqueued_at is None  # the send failed after the commit
    # Beat runs the sweep at most a minute apart.
    assert settings.CELERY_BEAT_SCHEDULE["classify-waiting-cases"]["schedule"] <= 60
    runs: list[int] = []

    def deliver(case_id: int) -> None:  # the broker is back and a worker takes the message
        runs.append(case_id)
        classification.case_classify(case_id=case_id)

    monkeypatch.setattr(tasks.case_classify, "delay", deliver)
    assert classification.cases_classify_waiting() == 1
    case.refresh_from_db()
    assert case.status == CaseStatus.READY and case.enqueued_at is not None
    assert case.status_detail == ""
    deliver(case.pk)  # a duplicate message: the claim refuses it
    assert runs == [case.pk, case.pk]
    assert Prediction.objects.filter(cell__case=case).count() == 3
    assert classification.cases_classify_waiting() == 0


def test_saliency_request_with_the_broker_down_says_retry_later(
    alice, lab_a, cell_bytes, production_model, broker_down
):
    case = case_upload(
        project=lab_a, user=alice, patient_code="P-80", files=[IncomingFile("a.png", cell_bytes(3))]
    )
    cell = case.cells.get()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.READY, model_version=production_model)
    PredictionFactory(
        cell=cell, model_version=production_model, probability=0.8, label="all", uncertainty=0.05
    )
    cache.clear()
    client = Client()
    client.force_login(alice)
    for _ in range(2):  # the guard is released: each request tries again
        response = client.post(f"/cells/{cell.pk}/saliency/")
        assert response.status_code == 503
        assert response.json()["status"] == "retry"
        assert "try again in a minute" in response.json()["detail"]
        assert response["Retry-After"] == "60"
