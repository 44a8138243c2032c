"""Saliency overlays: requested by the cell view, computed once by the task, then served."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Prediction
from allreview.cases.services import case_upload
from allreview.review import saliency
from allreview.review.tasks import prediction_saliency
from tests.factories import PredictionFactory


@pytest.fixture
def predicted_cell(alice, lab_a, production_model, cell_bytes):
    case = case_upload(
        project=lab_a,
        user=alice,
        patient_code="SAL-1",
        files=[IncomingFile("a.png", cell_bytes(3))],
    )
    cell = case.cells.get()
    type(case).objects.filter(pk=case.pk).update(model_version=production_model, status="ready")
    PredictionFactory(
        cell=cell, model_version=production_model, probability=0.8, label="all", uncertainty=0.05
    )
    return cell


@pytest.fixture(autouse=True)
def _fresh_guard():
    from django.core.cache import cache

    cache.clear()


def test_request_queues_once_and_reports_pending(
    client_alice, predicted_cell, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(
        saliency, "saliency_enqueue", lambda prediction_id: queued.append(prediction_id) or True
    )
    url = f"/cells/{predicted_cell.pk}/saliency/"
    with django_capture_on_commit_callbacks(execute=True):
        first = client_alice.post(url)
        second = client_alice.post(url)
    assert first.status_code == second.status_code == 202
    assert first.json()["status"] == "pending"
    assert len(queued) == 1


def test_task_stores_the_overlay_once_and_the_view_serves_it(client_alice, predicted_cell):
    prediction = Prediction.objects.get(cell=predicted_cell)
    prediction_saliency.run(prediction.pk)
    name = Prediction.objects.get(pk=prediction.pk).saliency.name
    assert name.endswith(".png") and default_storage.exists(name)
    modified = default_storage.get_modified_time(name)
    prediction_saliency.run(prediction.pk)  # redelivered: nothing recomputed or renamed
    assert Prediction.objects.get(pk=prediction.pk).saliency.name == name
    assert default_storage.get_modified_time(name) == modified
    ready = client_alice.post(f"/cells/{predicted_cell.pk}/saliency/")
    assert ready.status_code == 200 and ready.json()["url"].endswith("/saliency.png")
    image = client_alice.get(ready.json()["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_task_for_a_deleted_prediction_does_nothing(db):
    assert saliency.prediction_saliency_compute(prediction_id=987654) is None


def test_cell_without_prediction_has_no_overlay_and_outsider_gets_404(
    client_alice, predicted_cell, charlie
):
    from django.test import Client

    Prediction.objects.filter(cell=predicted_cell).delete()
    assert client_alice.post(f"/cells/{predicted_cell.pk}/saliency/").status_code == 404
    outsider = Client()
    outsider.force_login(charlie)
    assert outsider.post(f"/cells/{predicted_cell.pk}/saliency/").status_code == 404
    assert outsider.get(f"/cells/{predicted_cell.pk}/panel/").status_code == 404


def test_cell_panel_lists_prediction_and_history(client_alice, predicted_cell, alice):
    from allreview.review.services.labels import labels_set_bulk

    labels_set_bulk(case=predicted_cell.case, user=alice, values={predicted_cell.pk: "hem"})
    data = client_alice.get(f"/cells/{predicted_cell.pk}/panel/").json()
    assert data["prediction"]["label"] == "all" and data["prediction"]["model"] == "tiny-test"
    assert [h["value"] for h in data["history"]] == ["hem"] and data["history"][0][
        "user"
    ] == "alice"
