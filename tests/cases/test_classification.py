"""Classifying a case on the worker side: claim, chunked prediction, idempotence, failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from allreview.cases import classification
from allreview.cases.classification import NO_MODEL_NOTICE, case_classify, cases_classify_waiting
from allreview.cases.ingest import IncomingFile
from allreview.cases.models import Case, CaseStatus, Prediction
from allreview.cases.services import case_retry, case_upload


@pytest.fixture
def case(lab_a, alice, cell_bytes) -> Case:
    files = [
        IncomingFile(f"{i}.png", cell_bytes(i, label="all" if i % 2 else "hem")) for i in range(6)
    ]
    return case_upload(project=lab_a, user=alice, patient_code="P-1", files=files)


def test_case_is_classified_into_predictions_and_ready(production_model, case, settings):
    settings.INFERENCE_CHUNK_CELLS = 4  # two chunks
    case_classify(case_id=case.pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.READY
    assert case.model_version == production_model
    assert (case.progress_done, case.progress_total) == (6, 6)
    predictions = Prediction.objects.filter(cell__case=case, model_version=production_model)
    assert predictions.count() == 6
    for p in predictions:
        assert 0.0 <= p.probability <= 1.0 and p.uncertainty >= 0.0
        assert p.label == ("all" if p.probability >= production_model.threshold else "hem")


def test_redelivered_task_does_no_work_twice(production_model, case, monkeypatch):
    case_classify(case_id=case.pk)
    calls = []
    monkeypatch.setattr(classification, "predictor_for", lambda mv: calls.append(mv))
    case_classify(case_id=case.pk)  # the same message delivered again
    assert calls == []
    assert Prediction.objects.filter(cell__case=case).count() == 6


def test_a_retried_case_predicts_only_the_missing_cells(production_model, case, monkeypatch):
    case_classify(case_id=case.pk)
    Prediction.objects.filter(pk__in=Prediction.objects.values("pk")[:2]).delete()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.QUEUED)
    real = classification.predictor_for(production_model)
    seen: list[int] = []

    class Counting:
        profile = real.profile  # which crops written at upload it may read

        def predict(self, images):
            seen.append(len(images))
            return real.predict(images)

    monkeypatch.setattr(classification, "predictor_for", lambda mv: Counting())
    case_classify(case_id=case.pk)
    assert seen == [2]
    assert Prediction.objects.filter(cell__case=case).count() == 6


def test_without_production_model_the_case_waits_with_a_notice(db, case):
    case_classify(case_id=case.pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.QUEUED
    assert case.status_detail == NO_MODEL_NOTICE


def test_promotion_sweep_queues_the_cases_that_waited(db, case, tiny_checkpoint, monkeypatch):
    from allreview.mlmodels.services import model_version_promote, model_version_register

    case_classify(case_id=case.pk)
    assert cases_classify_waiting() == 0  # still no model
    queued: list[int] = []
    monkeypatch.setattr(
        "allreview.cases.services.case_enqueue", lambda case_id: queued.append(case_id)
    )
    model_version_promote(version=model_version_register(checkpoint=tiny_checkpoint, name="v1"))
    assert cases_classify_waiting() == 1
    assert queued == [case.pk]
    case.refresh_from_db()
    assert case.status_detail == ""


def test_failure_is_shown_and_the_case_can_be_retried(production_model, case, alice, monkeypatch):
    def broken(model_version):
        raise OSError("checkpoint unreadable")

    monkeypatch.setattr(classification, "predictor_for", broken)
    case_classify(case_id=case.pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.FAILED
    assert "checkpoint unreadable" in case.status_detail
    case_retry(case=case, user=alice)
    case.refresh_from_db()
    assert case.status == CaseStatus.QUEUED and case.status_detail == ""


def test_claim_of_a_dead_worker_goes_stale_and_is_taken_again(production_model, case, settings):
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLASSIFYING, claimed_at=long_ago)
    case_classify(case_id=case.pk)
    case.refresh_from_db()
    assert case.status == CaseStatus.READY


def test_a_live_claim_is_left_alone(production_model, case):
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLASSIFYING, claimed_at=timezone.now())
    case_classify(case_id=case.pk)
    assert Prediction.objects.count() == 0
